"""CJK-friendly emphasis for markdown-it-py: `其中，**检索增强生成（RAG）**技术` is bold.

CommonMark's flanking rules fail when the character inside a `**` run is CJK
punctuation and the one outside a CJK letter, which is how Chinese and Japanese are
written. This is the rule of the CommonMark CJK-friendly amendment
(https://github.com/tats-u/markdown-cjk-friendly, `specification.md`), as its
markdown-it plugin applies it: for `*` runs, a run next to a CJK character counts as
both left- and right-flanking unless whitespace decides; `_` keeps CommonMark's rule
except that a variation selector after punctuation is looked through.
"""

from __future__ import annotations

import unicodedata

from markdown_it import MarkdownIt
from markdown_it.common.utils import isMdAsciiPunct, isPunctChar, isWhiteSpace
from markdown_it.rules_inline.state_inline import Delimiter, Scanned, StateInline

# Emoji with default emoji presentation are wide but are not CJK; these blocks hold them.
_EMOJI_RANGES = ((0x231A, 0x2B55), (0x1F000, 0x1FAFF))
# CJK symbols that are emoji only with U+FE0F: they count as CJK (the amendment's tests).
_PSEUDO_EMOJI = frozenset("\u3030\u303d\u3297\u3299\U0001f202\U0001f237")
_IDEOGRAPHIC_VS = (0xE0100, 0xE01EF)
_QUOTES = frozenset("\u2018\u2019\u201c\u201d")


def cjk_friendly_emphasis(md: MarkdownIt) -> None:
    """markdown-it-py plugin: `md.use(cjk_friendly_emphasis)`."""
    md.inline.ruler.at("emphasis", _tokenize)


def _is_cjk(char: str) -> bool | None:
    """True for CJK, False if not, None when it depends on the neighbour (ambiguous width)."""
    code = ord(char)
    if code < 0x1100:
        return False
    width = unicodedata.east_asian_width(char)
    if width in ("F", "H"):
        return True
    if width == "W":
        return char in _PSEUDO_EMOJI or not any(lo <= code <= hi for lo, hi in _EMOJI_RANGES)
    if width == "A":
        return None
    return width == "N" and unicodedata.name(char, "").startswith("HANGUL")


def _is_general_use_vs(char: str) -> bool:
    return "\ufe00" <= char <= "\ufe0e"


def _scan(state: StateInline, start: int, can_split_word: bool) -> Scanned:
    src, maximum = state.src, state.posMax
    marker = src[start]
    last = src[start - 1] if start > 0 else " "
    last_main, before_vs = last, None
    if _is_general_use_vs(last):
        before_vs = src[start - 2] if start > 1 else " "
        if unicodedata.category(before_vs) != "Zs":
            last_main = before_vs
    pos = start
    while pos < maximum and src[pos] == marker:
        pos += 1
    count = pos - start
    following = src[pos] if pos < maximum else " "

    last_space, next_space = isWhiteSpace(ord(last_main)), isWhiteSpace(ord(following))
    if last_space or next_space:
        return Scanned(not next_space, not last_space, count)
    last_punct = isMdAsciiPunct(ord(last_main)) or isPunctChar(last_main)
    next_punct = isMdAsciiPunct(ord(following)) or isPunctChar(following)
    left, right = last_punct, next_punct  # `_`: CommonMark's rule
    if can_split_word:
        if before_vs is not None:
            previous = _is_cjk(before_vs)
            previous_cjk = previous if previous is not None else before_vs in _QUOTES
        else:
            previous = _is_cjk(last)
            code = ord(last)
            previous_cjk = (
                previous
                if previous is not None
                else (_IDEOGRAPHIC_VS[0] <= code <= _IDEOGRAPHIC_VS[1])
            )
        either_cjk = bool(_is_cjk(following)) or previous_cjk
        left = left or either_cjk or not next_punct
        right = right or either_cjk or not last_punct
    return Scanned(left, right, count)


def _tokenize(state: StateInline, silent: bool) -> bool:
    """markdown-it's emphasis tokenizer, with the amendment's delimiter scan."""
    start = state.pos
    marker = state.src[start]
    if silent or marker not in ("_", "*"):
        return False
    scanned = _scan(state, start, marker == "*")
    for _ in range(scanned.length):
        token = state.push("text", "", 0)
        token.content = marker
        state.delimiters.append(
            Delimiter(
                marker=ord(marker),
                length=scanned.length,
                token=len(state.tokens) - 1,
                end=-1,
                open=scanned.can_open,
                close=scanned.can_close,
            )
        )
    state.pos += scanned.length
    return True
