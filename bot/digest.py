"""One digest file: YAML front matter plus a Markdown body, loaded and validated.

Everything that can be wrong with a file is found here, once, and reported as a
`DigestError` naming the file and the reason, so that nothing downstream has to
second-guess its input.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from frontmatter.default_handlers import YAMLHandler

DEFAULT_MAX_BYTES = 1024 * 1024
MAX_TITLE_LENGTH = 256
DIGEST_SUFFIXES = (".md", ".markdown", ".mdx")
# Editors' backups and swap files and browsers' unfinished downloads: never digests.
LEFTOVER_ENDINGS = ("~", ".tmp", ".part", ".swp", ".crdownload")
# Where other generators keep what we call date, summary and coverImage, in order of preference.
DATE_KEYS = ("date", "publishDate", "pubDate")
SUMMARY_KEYS = ("summary", "description")
COVER_KEYS = ("coverImage", "image", "cover", "featured_image", "thumbnail")

_FRONT_MATTER = YAMLHandler()
_SLUG_UNSAFE = re.compile(r"[^a-z0-9_-]+")
_TAG_SEPARATORS = re.compile(r"[,，、]")
# Telegram deep-link payloads and callback data are short; "d_" + slug must fit 64 bytes.
_MAX_SLUG = 56
_FILE_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?!\d)")
_YEAR_FIRST = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T\s].*)?")
_YEAR_LAST = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})")
# An MDX module line: `import X from "y"` / `export const z = ...` up to the next blank line.
_MDX_ESM = re.compile(r"^(?:import|export)\b[^\n]*(?:\n[^\n]+)*", re.MULTILINE)
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f]+")


class DigestError(Exception):
    """A digest file that cannot be used: which file and why, in plain words."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Digest:
    """A validated digest. `cover` is an http(s) URL or the absolute path of a local file."""

    path: Path
    slug: str
    title: str
    date: dt.date
    body: str
    category: str = ""
    tags: tuple[str, ...] = ()
    seo: tuple[str, ...] = ()
    cover: str | None = None
    summary: str = ""
    content_hash: str = ""
    warnings: tuple[str, ...] = ()
    # "zh", "en", ...: front matter `lang`/`language`, else the script that dominates the text.
    language: str = "zh"
    # How many file lines come before the body, so that notes can cite file lines.
    body_line_offset: int = 0

    def file_line(self, body_line: int) -> int:
        """The file line of a (1-based) body line."""
        return body_line + self.body_line_offset

    @property
    def cover_is_url(self) -> bool:
        return self.cover is not None and self.cover.startswith(("http://", "https://"))


def digest_paths(folder: Path) -> list[Path]:
    """The digest files in a folder, sorted by name; hidden files and leftovers are ignored."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.suffix.lower() in DIGEST_SUFFIXES
        and p.is_file()
        and not any(_is_hidden_or_leftover(part) for part in p.relative_to(folder).parts)
    )


def _is_hidden_or_leftover(name: str) -> bool:
    stem = name.rsplit(".", 1)[0] if "." in name[1:] else name
    return (
        name.startswith(".")
        or (name.startswith("#") and name.endswith("#"))
        or any(n.lower().endswith(LEFTOVER_ENDINGS) for n in (name, stem))
    )


def expand_paths(paths: Iterable[Path]) -> Iterator[Path]:
    """Files as given, folders as the digest files inside them."""
    for path in paths:
        if path.is_dir():
            yield from digest_paths(path)
        else:
            yield path


def load_digest(
    path: Path, *, content_dir: Path | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> Digest:
    """Read and validate one digest file; raises `DigestError`, never anything else."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise DigestError(path, f"file is {size:,} bytes, over the limit of {max_bytes:,}")
        data = path.read_bytes()
    except OSError as exc:
        raise DigestError(path, f"cannot read the file ({exc.strerror or exc})") from None
    return parse_digest(data, path, content_dir=content_dir or path.parent)


def parse_digest(data: bytes, path: Path, *, content_dir: Path) -> Digest:
    """Validate a digest from its raw bytes; `path` is used for the slug and in errors."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DigestError(path, f"not UTF-8 text (invalid byte at offset {exc.start})") from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")

    if not _FRONT_MATTER.detect(text):
        raise DigestError(path, "no YAML front matter: the file must start with a '---' line")
    front, content = _FRONT_MATTER.split(text)
    try:
        meta = _FRONT_MATTER.load(front) or {}
    except yaml.YAMLError as exc:
        raise DigestError(path, _yaml_reason(exc)) from None
    except (ValueError, TypeError) as exc:  # e.g. a date like 2026-13-01
        raise DigestError(path, f"invalid value in the YAML front matter: {exc}") from None
    if not isinstance(meta, dict):
        raise DigestError(path, "front matter must be a mapping of keys to values")

    warnings: list[str] = []
    title = _title(path, meta.get("title"))
    date = _date(path, meta)
    before_body = text[: len(text) - len(content)].count("\n")
    if path.suffix.lower() == ".mdx":
        content = _without_mdx_modules(content)
    body = content.strip("\n")
    if not body.strip():
        raise DigestError(path, "the body is empty")
    offset = before_body + len(content) - len(content.lstrip("\n"))

    return Digest(
        path=path,
        slug=slug_for(path, date),
        title=title,
        date=date,
        body=body,
        category=_text(path, meta, "category"),
        tags=_string_list(path, meta, "tags"),
        seo=_string_list(path, meta, "seo"),
        cover=_cover(meta, front, content_dir, warnings),
        summary=_summary(path, _first(meta, SUMMARY_KEYS)[1]),
        content_hash=hashlib.sha256(data).hexdigest(),
        warnings=tuple(warnings),
        language=_language(meta, title, body),
        body_line_offset=offset,
    )


def slug_for(path: Path, date: dt.date) -> str:
    """A short ASCII name from the file name, usable in deep links and callback data."""
    slug = _SLUG_UNSAFE.sub("-", path.stem.lower()).strip("-")[:_MAX_SLUG].strip("-")
    if not slug:
        digest = hashlib.sha1(path.name.encode()).hexdigest()[:8]
        slug = f"{date.isoformat()}-{digest}"
    return slug


def tag_key(tag: str) -> str:
    """How tags are compared: case and white space do not matter (`ai日报` is `AI 日报`)."""
    return "".join(tag.split()).casefold()


def _yaml_reason(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is None:
        return f"invalid YAML front matter: {problem}"
    # The YAML text starts with the newline that ends the opening '---' line.
    return f"invalid YAML front matter at line {mark.line + 1}: {problem}"


def _title(path: Path, value: object) -> str:
    if value is None or isinstance(value, (dict, list)):
        raise DigestError(path, "front matter has no 'title'")
    title = " ".join(str(value).split())
    if not title:
        raise DigestError(path, "'title' is empty")
    if len(title) > MAX_TITLE_LENGTH:
        raise DigestError(
            path, f"'title' is {len(title)} characters long, over the limit of {MAX_TITLE_LENGTH}"
        )
    return title


def _first(meta: dict[str, Any], keys: tuple[str, ...]) -> tuple[str, object]:
    """The first of `keys` the front matter sets, and its value."""
    for key in keys:
        if meta.get(key) not in (None, ""):
            return key, meta[key]
    return keys[0], None


def _date(path: Path, meta: dict[str, Any]) -> dt.date:
    """`date`, `publishDate` or `pubDate`, else the YYYY-MM-DD the file name starts with."""
    key, value = _first(meta, DATE_KEYS)
    if value is None:
        named = _FILE_DATE.match(path.name)
        if named is None:
            # (Nor does the file name start with a YYYY-MM-DD.)
            raise DigestError(path, "front matter has no 'date'")
        try:
            return dt.date(int(named[1]), int(named[2]), int(named[3]))
        except ValueError as exc:
            raise DigestError(path, f"the date in the file name is invalid: {exc}") from None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        raw = value.strip()
        for parse in (dt.date.fromisoformat, lambda r: dt.datetime.fromisoformat(r).date()):
            try:
                return parse(raw)
            except ValueError:
                pass
        loose = _loose_date(path, key, raw)
        if loose is not None:
            return loose
    raise DigestError(path, f"'{key}' {str(value)[:40]!r} is not a date like 2026-02-21")


def _loose_date(path: Path, key: str, raw: str) -> dt.date | None:
    """Year-first dates without zero padding (2024-4-9); year-last ones only when unambiguous."""
    match = _YEAR_FIRST.fullmatch(raw)
    if match:
        try:
            return dt.date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError as exc:
            raise DigestError(path, f"'{key}' {raw!r} is not a valid date: {exc}") from None
    match = _YEAR_LAST.fullmatch(raw)
    if match is None:
        return None
    first, second, year = int(match[1]), int(match[2]), int(match[3])
    readings = set()
    for month, day in ((first, second), (second, first)):
        with contextlib.suppress(ValueError):
            readings.add(dt.date(year, month, day))
    if len(readings) == 1:
        return readings.pop()
    if readings:
        raise DigestError(
            path,
            f"'{key}' {raw!r} is ambiguous: it could be month-day or day-month; "
            f"write the year first, like {min(readings).isoformat()}",
        )
    raise DigestError(path, f"'{key}' {raw!r} is not a valid date")


def _without_mdx_modules(content: str) -> str:
    """MDX `import`/`export` blocks blanked (not removed, so that line numbers still hold)."""
    if not _MDX_ESM.search(content):
        return content
    lines = content.split("\n")
    fence = ""
    in_module = False
    for index, line in enumerate(lines):
        opened = _FENCE.match(line)
        if fence:
            if opened and opened[1].startswith(fence):
                fence = ""
            continue
        if opened:
            fence = opened[1]
            in_module = False
            continue
        if not line.strip():
            in_module = False
        elif in_module or line.startswith(("import ", "export ", "import{", "export{")):
            in_module = True
            lines[index] = ""
    return "\n".join(lines)


def _language(meta: dict[str, Any], title: str, body: str) -> str:
    """A short language code: what the front matter says, else "zh" when CJK dominates."""
    _, value = _first(meta, ("lang", "language"))
    if isinstance(value, str) and value.strip():
        code = value.strip().lower().replace("_", "-").split("-")[0]
        if code in ("zh", "chinese", "中文", "cn"):
            return "zh"
        if code in ("en", "english"):
            return "en"
        if code.isalpha() and len(code) <= 3:
            return code
    sample = f"{title}\n{body}"
    return "zh" if len(_CJK.findall(sample)) >= len(_LATIN_WORD.findall(sample)) else "en"


def _text(path: Path, meta: dict[str, Any], key: str) -> str:
    value = meta.get(key)
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        raise DigestError(path, f"'{key}' must be text")
    return " ".join(str(value).split())


def _string_list(path: Path, meta: dict[str, Any], key: str) -> tuple[str, ...]:
    value = meta.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        items: list[object] = _TAG_SEPARATORS.split(value)
    elif isinstance(value, list):
        items = value
    else:
        raise DigestError(path, f"'{key}' must be a list or a comma-separated string")
    seen: dict[str, str] = {}
    for item in items:
        if isinstance(item, (dict, list)):
            raise DigestError(path, f"'{key}' must hold plain values, not {type(item).__name__}s")
        if item is None:
            continue
        text = " ".join(str(item).split())
        if text and tag_key(text) not in seen:
            seen[tag_key(text)] = text
    return tuple(seen.values())


def _summary(path: Path, value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "\n".join(f"- {item}" for item in value if item is not None)
    if isinstance(value, dict):
        raise DigestError(path, "'summary' must be Markdown text or a list")
    return str(value).replace("\r\n", "\n").strip()


def _cover(meta: dict[str, Any], front: str, content_dir: Path, warnings: list[str]) -> str | None:
    """An absolute http(s) URL, or an existing file inside the content folder."""
    key, value = _first(meta, COVER_KEYS)
    if isinstance(value, dict):  # Hugo themes: `cover: {image: ..., alt: ...}`
        value = value.get("image") or value.get("src") or value.get("url")
    if value is None or value == "" or isinstance(value, (dict, list)):
        return None
    raw = str(value).strip()
    where = f"line {_key_line(front, key)}: {key}"
    parts = urlsplit(raw)
    if parts.scheme in ("http", "https"):
        if "." not in (parts.hostname or ""):
            warnings.append(f"{where} {raw!r} has no valid host; posting a text cover")
            return None
        return raw
    if parts.scheme or raw.startswith("/"):
        warnings.append(f"{where} {raw!r} is neither an http(s) URL nor a relative path")
        return None
    root = content_dir.resolve()
    file = (root / raw).resolve()
    if not file.is_relative_to(root):
        warnings.append(f"{where} {raw!r} points outside the content folder")
        return None
    if not file.is_file():
        warnings.append(f"{where} {raw!r} does not exist; posting a text cover")
        return None
    return str(file)


def _key_line(front: str, key: str) -> int:
    """The file line of a top-level front matter key (the file's line 1 is the '---')."""
    for number, line in enumerate(front.split("\n")):
        if line.startswith(f"{key}:"):
            return number + 1
    return 1
