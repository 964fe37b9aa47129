"""A strict local Telegram Bot API server for tests.

It answers python-telegram-bot the way api.telegram.org does and refuses everything Telegram
would refuse *or silently alter* (dropped formatting, trimmed text, ignored entities), so a bot
test that passes against it shows every message would arrive exactly as intended.

Behaviour mirrors tdlib (td/telegram/MessageEntity.cpp ``parse_html``/``fix_formatted_text``,
``LinkManager::check_link``, tdutils ``parse_url``) and tdlib/telegram-bot-api ``Client.cpp``.
Refusals Telegram itself would not make start with "emulator:" and say what Telegram would have
done instead.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ipaddress
import itertools
import json
import math
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

JSON = dict[str, Any]

MAX_TEXT_UNITS = 4096
MAX_CAPTION_UNITS = 1024
MAX_RAW_TEXT_BYTES = 1 << 15
MAX_ENTITIES = 100
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_CHARS = 200
MAX_COMMANDS = 100
MAX_COMMAND_LENGTH = 32
MAX_COMMAND_DESCRIPTION_LENGTH = 256

SPLITTABLE_TYPES = frozenset({"bold", "italic", "underline", "strikethrough", "spoiler"})
BLOCKQUOTE_TYPES = frozenset({"blockquote", "expandable_blockquote"})
PRE_TYPES = frozenset({"pre", "code"})
CONTINUOUS_TYPES = frozenset({"text_link", "text_mention", "custom_emoji"})
USER_ENTITY_TYPES = SPLITTABLE_TYPES | BLOCKQUOTE_TYPES | PRE_TYPES | CONTINUOUS_TYPES
AUTO_ENTITY_TYPES = frozenset(
    {"mention", "hashtag", "cashtag", "bot_command", "url", "email", "phone_number"}
    | {"bank_card_number"}
)
# tdlib MessageEntity::get_type_priority: of two entities with the same range, the lower
# priority is the outer one.
_ENTITY_PRIORITY = {
    "blockquote": 0,
    "expandable_blockquote": 0,
    "pre": 11,
    "code": 20,
    "text_link": 49,
    "text_mention": 49,
    "bold": 90,
    "italic": 91,
    "underline": 92,
    "strikethrough": 93,
    "spoiler": 94,
    "custom_emoji": 99,
}

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
CHAT_ACTIONS = frozenset(
    {"cancel", "typing", "record_video", "upload_video", "record_audio", "record_voice"}
    | {"upload_audio", "upload_voice", "upload_photo", "upload_document", "choose_sticker"}
    | {"pick_up_location", "find_location", "record_video_note", "upload_video_note"}
)
# Update types Telegram leaves out when allowed_updates is empty.
OPT_IN_UPDATE_TYPES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
FAILURE_KINDS = frozenset({"500", "502", "timeout", "drop", "429", "lost_reply"})
# fail_next() kinds added for lost replies and the front end's own answers.
FAILURE_KINDS |= {"500_after", "502_html", "conflict"}
COMMAND_SCOPES = frozenset(
    {"default", "all_private_chats", "all_group_chats", "all_chat_administrators"}
    | {"chat", "chat_administrators", "chat_member"}
)
INLINE_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
ADMIN_RIGHTS: JSON = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "can_pin_messages": True,
}

# Inline mode (Client.cpp get_inline_query_results / tdlib InlineQueriesManager and the server's
# messages.setInlineBotResults errors).
MAX_INLINE_RESULTS = 50
MAX_INLINE_ID_BYTES = 64
MAX_INLINE_QUERY_CHARS = 256
MAX_START_PARAMETER = 64
INLINE_CHAT_TYPES = frozenset({"sender", "private", "group", "supergroup", "channel"})
QUERY_ID_INVALID = "query is too old and response timeout expired or query ID is invalid"
PIN_RIGHTS = "not enough rights to manage pinned messages in the chat"
GET_UPDATES_CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is "
    "running"
)
# What Telegram's nginx front end answers when the Bot API server behind it is down: HTML.
NGINX_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
    "</body>\r\n</html>\r\n"
)


@dataclass(frozen=True)
class FloodLimits:
    """Telegram's send limits: about 1 message/s per chat, 20/min per group, 30/s overall.

    Bot tests shrink them for speed; ``jitter`` forgives a client that waits exactly the limit.
    """

    per_chat_interval: float = 1.0
    group_per_minute: int = 20
    global_per_second: int = 30
    jitter: float = 0.05


DEFAULT_FLOOD = FloodLimits()


@dataclass
class SentMessage:
    """A message the bot posted, stored the way Telegram keeps it (parsed, cleaned, trimmed)."""

    message_id: int
    chat_id: int
    method: str
    text: str | None
    entities: list[JSON]
    photo: str | None
    thread_id: int | None
    disable_notification: bool
    reply_markup: JSON | None
    link_preview_options: JSON | None
    edited: int = 0
    reply_to_message_id: int | None = None
    date: int = 0
    edit_date: int | None = None
    photo_sizes: list[JSON] = field(default_factory=list)
    # A user's message sent through the bot's inline mode (None: the bot's own message).
    from_user: JSON | None = None


@dataclass
class RecordedRequest:
    """One HTTP call as received; ``status`` stays None when the client got no answer."""

    method: str
    params: JSON
    time: float
    status: int | None = None


class ApiError(Exception):
    """A refusal answered as Telegram's error JSON; a ``violation`` is also recorded."""

    def __init__(
        self,
        description: str,
        status: int = 400,
        *,
        retry_after: int | None = None,
        violation: str | None = None,
    ) -> None:
        super().__init__(description)
        self.description = description
        self.status = status
        self.retry_after = retry_after
        self.violation = violation

    def payload(self) -> JSON:
        """The body Telegram sends with this error."""
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(reason: str, *, violation: bool = False) -> ApiError:
    """A 400 worded like the Bot API ("Bad Request: " and the reason)."""
    description = f"Bad Request: {reason}"
    return ApiError(description, violation=description if violation else None)


def too_many_requests(retry_after: int, *, violation: str | None = None) -> ApiError:
    """Telegram's flood error, which PTB turns into RetryAfter."""
    return ApiError(
        f"Too Many Requests: retry after {retry_after}",
        429,
        retry_after=retry_after,
        violation=violation,
    )


# --- UTF-16 and URLs -------------------------------------------------------------------------


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's offsets and length limits."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _pair_middles(text: str) -> dict[int, int]:
    """UTF-16 offsets that split a surrogate pair, mapped to the UTF-8 byte offset tdlib reports
    (the end of the split character)."""
    middles: dict[int, int] = {}
    units = byte = 0
    for ch in text:
        size = len(ch.encode("utf-8", "surrogatepass"))
        if ord(ch) > 0xFFFF:
            middles[units + 1] = byte + size
            units += 1
        units += 1
        byte += size
    return middles


def _ascii_lower(text: str) -> str:
    """tdlib's to_lower, which touches ASCII letters only."""
    return "".join(ch.lower() if ch.isascii() else ch for ch in text)


@dataclass(frozen=True)
class _HttpUrl:
    """A URL split the way tdlib's HttpUrl keeps it (it re-serialises links in that form)."""

    https: bool
    userinfo: str
    host: str
    is_ipv6: bool
    specified_port: int
    query: str

    def url(self) -> str:
        user = f"{self.userinfo}@" if self.userinfo else ""
        port = f":{self.specified_port}" if self.specified_port else ""
        scheme = "https" if self.https else "http"
        return f"{scheme}://{user}{self.host}{port}{self.query}"


_HOST_SYMBOLS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-_!$,~*'();&+=")
_HEX = frozenset("0123456789abcdef")


def _parse_http_url(url: str) -> _HttpUrl:
    """Port of tdutils parse_url ([http(s)://][userinfo@]host[:port][/path]); ValueError if bad."""
    stop = next((i for i, ch in enumerate(url) if ch in ":/?#@[]"), len(url))
    https = False
    rest = url
    if url.startswith("://", stop):
        scheme = url[:stop].lower()
        if scheme not in ("http", "https"):
            raise ValueError("Unsupported URL protocol")
        https = scheme == "https"
        rest = url[stop + 3 :]
    cut = next((i for i, ch in enumerate(rest) if ch in "/?#"), len(rest))
    authority, query = rest[:cut], rest[cut:]
    colon = len(authority) - 1
    while colon > 0 and authority[colon] not in ":]@":
        colon -= 1
    port = 0
    userinfo_host = authority
    if colon > 0 and authority[colon] == ":":
        digits = authority[colon + 1 :]
        port = int(digits) if re.fullmatch(r"[0-9]+", digits) else -1
        port = port or -1
        userinfo_host = authority[:colon]
    if not 0 <= port <= 65535:
        raise ValueError("Wrong port number specified in the URL")
    at = userinfo_host.rfind("@")
    userinfo, host = userinfo_host[: max(at, 0)], userinfo_host[at + 1 :]
    is_ipv6 = host.startswith("[") and host.endswith("]")
    if is_ipv6:
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise ValueError("Wrong IPv6 address specified in the URL") from None
    if not host:
        raise ValueError("URL host is empty")
    if host == ".":
        raise ValueError("Host is invalid")
    query = query.rstrip(" \t\r\n\v\f") or "/"
    if not query.startswith("/"):
        query = "/" + query
    query = "".join(f"%{ord(ch):02X}" if ord(ch) <= 0x20 else ch for ch in query)
    host = _ascii_lower(host)
    if not is_ipv6:
        _check_host_characters(host)
    return _HttpUrl(https, userinfo, host, is_ipv6, port, query)


def _check_host_characters(host: str) -> None:
    """The host characters RFC 3986 allows, percent escapes, and any non-ASCII letter."""
    i = 0
    while i < len(host):
        if host[i] == "%":
            escape = host[i + 1 : i + 3]
            if len(escape) != 2 or not set(escape) <= _HEX:
                raise ValueError("Wrong percent-encoded symbol in URL host")
            i += 3
            continue
        if host[i].isascii() and host[i] not in _HOST_SYMBOLS:
            raise ValueError("Wrong URL host")
        i += 1


def check_link(link: str) -> str:
    """Port of tdlib LinkManager::check_link: the normalised URL, or ValueError with the reason.

    http(s)://, tg:, ton: and tonsite: links, or no scheme (http assumed); a web host needs a dot.
    """
    scheme = next((s for s in ("tg:", "ton:", "tonsite:") if link[:8].lower().startswith(s)), "")
    rest = link[len(scheme) :]
    if scheme and rest.startswith("//"):
        rest = rest[2:]
    parsed = _parse_http_url(rest)
    if scheme:
        if (
            rest[:7].lower() == "http://"
            or parsed.https
            or parsed.userinfo
            or parsed.specified_port
            or parsed.is_ipv6
        ):
            raise ValueError("Wrong tg URL" if scheme == "tg:" else "Wrong ton URL")
        allowed = "-_." if scheme == "tonsite:" else "-_"
        if any(not (ch.isascii() and ch.isalnum()) and ch not in allowed for ch in parsed.host):
            raise ValueError("Unallowed characters in URL host")
        query = parsed.query[1:] if parsed.query[1:2] == "?" else parsed.query
        return f"{scheme[:-1]}://{parsed.host}{query}"
    if "." not in parsed.host and not parsed.is_ipv6:
        raise ValueError("Wrong HTTP URL")
    if parsed.userinfo:
        raise ValueError(
            f"emulator: Telegram would read it as a link to {parsed.host!r} with the user "
            f"info {parsed.userinfo!r}"
        )
    return parsed.url()


def _link_user_id(url: str) -> int | None:
    """The user of a tg://user?id= link, which Telegram turns into a text_mention."""
    match = re.fullmatch(r"(?i)tg:(?://)?user\?id=([0-9]{1,18})", url)
    return int(match.group(1)) if match else None


# --- entities --------------------------------------------------------------------------------


def _entity_end(entity: JSON) -> int:
    return int(entity["offset"]) + int(entity["length"])


def _entity_order(entity: JSON) -> tuple[int, int, int]:
    """tdlib's sort order: by offset, longer first, then by type priority (outer first)."""
    priority = _ENTITY_PRIORITY.get(entity["type"], 50)
    if entity["type"] == "pre" and entity.get("language"):
        priority = 10
    return entity["offset"], -entity["length"], priority


def _describe(entity: JSON) -> str:
    return (
        f"{entity['type']} entity at UTF-16 offset {entity['offset']} (length {entity['length']})"
    )


def _entity_error(reason: str) -> ApiError:
    return bad_request(f"can't parse MessageEntity: {reason}")


def _entity_int(item: JSON, name: str) -> int:
    if name not in item:
        raise _entity_error(f'Can\'t find field "{name}"')
    value = item[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise _entity_error(f'Field "{name}" must be a valid Number')
    return value


def parse_entities(raw: Any, field_name: str) -> list[JSON]:
    """MessageEntity objects read like Client.cpp get_text_entity; junk Telegram would silently
    ignore (a non-array, an empty entity) is refused instead."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise bad_request(
            f"emulator: {field_name} must be a JSON array of MessageEntity; Telegram would "
            "silently ignore it"
        )
    return [_parse_entity(item) for item in raw]


def _parse_entity(item: Any) -> JSON:
    if not isinstance(item, dict):
        raise _entity_error("expected an Object")
    offset = _entity_int(item, "offset")
    length = _entity_int(item, "length")
    kind = item.get("type")
    if not isinstance(kind, str) or not kind:
        raise _entity_error("Type is not specified")
    if kind not in USER_ENTITY_TYPES | AUTO_ENTITY_TYPES:
        raise _entity_error("Unsupported type specified")
    if offset < 0:
        raise bad_request(f"receive an entity with incorrect offset {offset}")
    if length < 0:
        raise bad_request(f"receive an entity with incorrect length {length}")
    entity: JSON = {"type": kind, "offset": offset, "length": length}
    if length == 0:
        raise bad_request(f"emulator: {_describe(entity)} is empty; Telegram would drop it")
    if kind == "text_link":
        return _text_link(entity, item.get("url"))
    if kind == "pre":
        language = item.get("language", "")
        if not isinstance(language, str):
            raise _entity_error('Field "language" must be of type String')
        if language:
            entity["language"] = language
    elif kind == "text_mention":
        user = item.get("user")
        if not isinstance(user, dict) or not isinstance(user.get("id"), int):
            raise _entity_error('Can\'t find field "user" with an integer "id"')
        entity["user"] = user
    elif kind == "custom_emoji":
        emoji_id = str(item.get("custom_emoji_id", ""))
        if not re.fullmatch(r"[1-9][0-9]{0,18}", emoji_id):
            raise bad_request("invalid custom emoji identifier specified")
        entity["custom_emoji_id"] = emoji_id
    return entity


def _text_link(entity: JSON, url: Any) -> JSON:
    if not isinstance(url, str):
        raise _entity_error('Can\'t find field "url"')
    user_id = _link_user_id(url)
    if user_id is not None:
        return {**entity, "type": "text_mention", "user": _placeholder_user(user_id)}
    try:
        return {**entity, "url": check_link(url)}
    except ValueError as err:
        raise bad_request(f"entity URL '{url}' is invalid: {err}") from None


def _placeholder_user(user_id: int) -> JSON:
    return {"id": user_id, "is_bot": False, "first_name": ""}


def check_entity_bounds(text: str, entities: list[JSON]) -> None:
    """tdlib clean_input_string_with_entities: entities lie inside the text and don't start or
    end in the middle of a surrogate pair."""
    size = utf16_len(text)
    middles = _pair_middles(text)
    for entity in sorted(entities, key=_entity_order):
        start, end = entity["offset"], _entity_end(entity)
        if start > size:
            raise bad_request(f"entity begins after the end of the text at UTF-16 offset {start}")
        if start in middles:
            raise bad_request(
                f"entity begins in a middle of a UTF-16 symbol at byte offset {middles[start]}"
            )
        if end > size:
            raise bad_request(
                f"entity beginning at UTF-16 offset {start} ends after the end of the text at "
                f"UTF-16 offset {end}"
            )
        if end in middles:
            raise bad_request(
                f"entity beginning at UTF-16 offset {start} ends in a middle of a UTF-16 symbol "
                f"at byte offset {middles[end]}"
            )


def _nesting_problem(outer: str, inner: str) -> str | None:
    """Why tdlib fix_entities would cut an entity nested this way (are_entities_valid)."""
    if outer in PRE_TYPES:
        return "code and pre can't contain other entities"
    if inner in PRE_TYPES and outer not in BLOCKQUOTE_TYPES:
        return "code and pre can be nested only in a blockquote"
    if inner in BLOCKQUOTE_TYPES and outer in BLOCKQUOTE_TYPES:
        return "blockquotes can't be nested"
    if (inner in CONTINUOUS_TYPES or inner in BLOCKQUOTE_TYPES) and outer in CONTINUOUS_TYPES:
        return "links, mentions and custom emoji can't contain links, mentions or blockquotes"
    return None


def check_entity_nesting(entities: list[JSON]) -> None:
    """Entities that overlap must nest, and only in ways Telegram keeps (else it drops some)."""
    stack: list[JSON] = []
    for entity in sorted(entities, key=_entity_order):
        while stack and entity["offset"] >= _entity_end(stack[-1]):
            stack.pop()
        if stack and _entity_end(entity) > _entity_end(stack[-1]):
            raise bad_request(
                f"emulator: {_describe(entity)} overlaps {_describe(stack[-1])} without nesting; "
                "Telegram would cut or drop formatting"
            )
        for outer in stack:
            problem = _nesting_problem(outer["type"], entity["type"])
            if problem:
                raise bad_request(
                    f"emulator: {_describe(entity)} is inside {_describe(outer)}, but {problem}; "
                    "Telegram would drop formatting"
                )
        stack.append(entity)


def check_entity_count(entities: list[JSON]) -> None:
    """Telegram keeps only the first 100 formatting entities (custom emoji aside)."""
    counted = sum(1 for entity in entities if entity["type"] != "custom_emoji")
    if counted > MAX_ENTITIES:
        raise bad_request(
            f"emulator: {counted} formatting entities; Telegram keeps the first {MAX_ENTITIES} "
            "and silently drops the rest"
        )


_REMOVED_CHARS = frozenset("\r\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u0333\u033f\u030a")


def clean_text(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """tdlib clean_input_string: control characters become spaces, CR and a few invisible marks
    disappear; entity offsets move along."""
    kept: list[str] = []
    moved_to = [0] * (utf16_len(text) + 1)
    old = new = 0
    for ch in text:
        if ch in _REMOVED_CHARS:
            moved_to[old] = new
            old += 1
            continue
        width = 2 if ord(ch) > 0xFFFF else 1
        kept.append(" " if ord(ch) < 32 and ch != "\n" else ch)
        for step in range(width):
            moved_to[old + step] = new + step
        old += width
        new += width
    moved_to[old] = new
    moved = []
    for entity in entities:
        start, end = moved_to[entity["offset"]], moved_to[_entity_end(entity)]
        if start == end:
            raise bad_request(
                f"emulator: {_describe(entity)} covers only characters Telegram removes"
            )
        moved.append({**entity, "offset": start, "length": end - start})
    return "".join(kept), moved


# --- HTML parse mode -------------------------------------------------------------------------

_HTML_TAGS = frozenset(
    {"a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "tg-spoiler"}
    | {"tg-emoji", "span", "pre", "code", "blockquote"}
)
_HTML_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
# Attributes tdlib reads; it silently ignores every other one.
_HTML_ATTRIBUTES = {
    "a": "href",
    "code": "class",
    "span": "class",
    "tg-emoji": "emoji-id",
    "blockquote": "expandable",
}
_HTML_SPACES = frozenset(b" \t\r\n\v\f\0")
_NAMED_REFERENCES = {b"lt": ord("<"), b"gt": ord(">"), b"amp": ord("&"), b"quot": ord('"')}
_REFERENCE_LIKE = re.compile(rb"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")


def _html_error(reason: str) -> ApiError:
    return bad_request(f"can't parse entities: {reason}")


def _is_alnum(byte: int) -> bool:
    return 48 <= byte <= 57 or 65 <= byte <= 90 or 97 <= byte <= 122


def _decode_reference(data: bytes, pos: int) -> tuple[int, int]:
    """tdlib decode_html_entity: (code point, position after it), or (0, pos) if unsupported."""

    def at(i: int) -> int:
        return data[i] if i < len(data) else 0

    end = pos + 1
    code = 0
    if at(pos + 1) == ord("#"):
        end += 1
        if at(pos + 2) == ord("x"):
            end += 1
            while chr(at(end)) in "0123456789abcdefABCDEF":
                code = code * 16 + int(chr(at(end)), 16)
                end += 1
        else:
            while 48 <= at(end) <= 57:
                code = code * 10 + at(end) - 48
                end += 1
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return 0, pos
    else:
        while 65 <= at(end) <= 90 or 97 <= at(end) <= 122:
            end += 1
        code = _NAMED_REFERENCES.get(data[pos + 1 : end], 0)
        if not code:
            return 0, pos
    if at(end) == ord(";"):
        end += 1
    return code, end


@dataclass
class _OpenTag:
    """A start tag waiting for its end tag: where its entity starts (UTF-16 and output byte)."""

    name: str
    argument: str
    offset: int
    begin: int


class _HtmlParser:
    """Port of tdlib parse_html over UTF-8 bytes, so error byte offsets match Telegram's."""

    def __init__(self, source: str) -> None:
        self.data = source.encode("utf-8")
        self.out = bytearray()
        self.units = 0
        self.entities: list[JSON] = []
        self.open: list[_OpenTag] = []
        self.has_surrogate = False

    def at(self, i: int) -> int:
        return self.data[i] if i < len(self.data) else 0

    def space(self, i: int) -> bool:
        return self.at(i) in _HTML_SPACES

    def parse(self) -> tuple[str, list[JSON]]:
        i = 0
        while i < len(self.data):
            byte = self.data[i]
            if byte == ord("&"):
                code, after = _decode_reference(self.data, i)
                if code:
                    self._append_code(code)
                    i = after
                    continue
                self._refuse_unknown_reference(i)
            if byte != ord("<"):
                if byte & 0xC0 != 0x80:
                    self.units += 2 if byte >= 0xF0 else 1
                self.out.append(byte)
                i += 1
            elif self.at(i + 1) == ord("/"):
                i = self._end_tag(i)
            else:
                i = self._start_tag(i)
        if self.open:
            raise _html_error(
                f'Can\'t find end tag corresponding to start tag "{self.open[-1].name}"'
            )
        if self.has_surrogate:
            raise _html_error(
                "Text contains invalid Unicode characters after decoding HTML entities, check "
                "for unmatched surrogate code units"
            )
        for entity in self.entities:
            if entity["type"] == "code":
                entity.pop("language", None)
        return self.out.decode("utf-8"), sorted(self.entities, key=_entity_order)

    def _append_code(self, code: int) -> None:
        self.units += 2 if code > 0xFFFF else 1
        self.has_surrogate |= 0xD800 <= code <= 0xDFFF
        self.out += chr(code).encode("utf-8", "surrogatepass")

    def _refuse_unknown_reference(self, pos: int) -> None:
        match = _REFERENCE_LIKE.match(self.data, pos)
        if match:
            raise _html_error(
                f'emulator: unsupported character reference "{match.group().decode()}" at byte '
                f"offset {pos}; Telegram would show it literally (only &lt; &gt; &amp; &quot; "
                "and numeric references are decoded)"
            )

    def _start_tag(self, begin: int) -> int:
        i = begin + 1
        while not self.space(i) and self.at(i) != ord(">"):
            i += 1
        if self.at(i) == 0:
            raise _html_error(f"Unclosed start tag at byte offset {begin}")
        name = _ascii_lower(self.data[begin + 1 : i].decode("utf-8", "replace"))
        if name not in _HTML_TAGS:
            raise _html_error(f'Unsupported start tag "{name}" at byte offset {begin}')
        argument = ""
        while self.at(i) != ord(">"):
            while self.at(i) != 0 and self.space(i):
                i += 1
            if self.at(i) == ord(">"):
                break
            attribute_begin = i
            while not self.space(i) and self.at(i) not in b"=>/\"'":
                i += 1
            attribute = self.data[attribute_begin:i].decode("utf-8", "replace")
            if not attribute:
                raise _html_error(
                    f'Empty attribute name in the tag "{name}" at byte offset {begin}'
                )
            if _HTML_ATTRIBUTES.get(name) != attribute:
                raise _html_error(
                    f'emulator: attribute "{attribute}" of the tag "{name}" at byte offset '
                    f"{attribute_begin} is ignored by Telegram"
                )
            while self.at(i) != 0 and self.space(i):
                i += 1
            if self.at(i) != ord("="):
                if self.at(i) == 0:
                    raise _html_error(f'Unclosed start tag "{name}" at byte offset {begin}')
                if name == "blockquote":
                    argument = "1"
                continue
            i += 1
            while self.at(i) != 0 and self.space(i):
                i += 1
            if self.at(i) == 0:
                raise _html_error(f'Unclosed start tag "{name}" at byte offset {begin}')
            value, i = self._attribute_value(i)
            if self.at(i) == 0:
                raise _html_error(f"Unclosed start tag at byte offset {begin}")
            argument = _tag_argument(name, value, argument, attribute_begin)
        if name == "span" and argument != "spoiler":
            raise _html_error(f'Tag "span" must have class "tg-spoiler" at byte offset {begin}')
        self.open.append(_OpenTag(name, argument, self.units, len(self.out)))
        return i + 1

    def _attribute_value(self, i: int) -> tuple[str, int]:
        quote = self.at(i)
        if quote not in (ord('"'), ord("'")):
            start = i
            while _is_alnum(self.at(i)) or self.at(i) in b".-":
                i += 1
            if not self.space(i) and self.at(i) != ord(">"):
                raise _html_error(f"Unexpected end of name token at byte offset {start}")
            return _ascii_lower(self.data[start:i].decode()), i
        i += 1
        value = bytearray()
        while self.at(i) != quote and self.at(i) != 0:
            if self.at(i) == ord("&"):
                code, after = _decode_reference(self.data, i)
                if code:
                    value += chr(code).encode("utf-8", "surrogatepass")
                    i = after
                    continue
                self._refuse_unknown_reference(i)
            value.append(self.at(i))
            i += 1
        if self.at(i) == quote:
            i += 1
        return value.decode("utf-8", "replace"), i

    def _end_tag(self, begin: int) -> int:
        if not self.open:
            raise _html_error(f"Unexpected end tag at byte offset {begin}")
        i = begin + 1
        while not self.space(i) and self.at(i) != ord(">"):
            i += 1
        end_name = _ascii_lower(self.data[begin + 2 : i].decode("utf-8", "replace"))
        while self.space(i) and self.at(i) != 0:
            i += 1
        if self.at(i) != ord(">"):
            raise _html_error(f"Unclosed end tag at byte offset {begin}")
        tag = self.open[-1]
        if end_name and end_name != tag.name:
            raise _html_error(
                f'Unmatched end tag at byte offset {begin}, expected "</{tag.name}>", found '
                f'"</{end_name}>"'
            )
        if self.units > tag.offset:
            self._close(tag)
        self.open.pop()
        return i + 1

    def _close(self, tag: _OpenTag) -> None:
        entity: JSON = {"offset": tag.offset, "length": self.units - tag.offset}
        last = self.entities[-1] if self.entities else None
        same_range = last is not None and (last["offset"], last["length"]) == (
            entity["offset"],
            entity["length"],
        )
        if tag.name in _HTML_SIMPLE_TAGS:
            self.entities.append({"type": _HTML_SIMPLE_TAGS[tag.name], **entity})
        elif tag.name == "tg-emoji":
            if not re.fullmatch(r"[1-9][0-9]{0,18}", tag.argument):
                raise _html_error("Invalid custom emoji identifier specified")
            self.entities.append(
                {"type": "custom_emoji", **entity, "custom_emoji_id": tag.argument}
            )
        elif tag.name == "a":
            self.entities.append({**entity, **self._link(tag)})
        elif tag.name == "pre" and same_range and last and last["type"] == "code":
            last["type"] = "pre"
            if not last.get("language"):
                last.pop("language", None)
        elif tag.name == "pre":
            self.entities.append({"type": "pre", **entity})
        elif tag.name == "code" and same_range and last and last["type"] == "pre":
            if tag.argument:
                last["language"] = tag.argument
        elif tag.name == "code":
            self.entities.append({"type": "code", **entity, "language": tag.argument})
        else:
            kind = "expandable_blockquote" if tag.argument else "blockquote"
            self.entities.append({"type": kind, **entity})

    def _link(self, tag: _OpenTag) -> JSON:
        url = tag.argument or self.out[tag.begin :].decode("utf-8", "replace")
        user_id = _link_user_id(url)
        if user_id is not None:
            return {"type": "text_mention", "user": _placeholder_user(user_id)}
        try:
            return {"type": "text_link", "url": check_link(url)}
        except ValueError as err:
            raise _html_error(
                f'emulator: <a href="{url}"> is not a valid link ({err}); Telegram would '
                "silently drop the link"
            ) from None


def _tag_argument(tag: str, value: str, current: str, position: int) -> str:
    """What tdlib keeps of an attribute value; a <code> class it would ignore is refused."""
    if tag == "code":
        if not value.startswith("language-"):
            raise _html_error(
                f'emulator: class "{value}" at byte offset {position} is ignored by Telegram '
                '(only "language-…" is read)'
            )
        return value[len("language-") :]
    if tag == "span":
        return value[3:] if value.startswith("tg-") else current
    if tag == "blockquote":
        return "1"
    return value


def parse_html(source: str) -> tuple[str, list[JSON]]:
    """Telegram's HTML parse mode: the plain text and its entities, or an ApiError."""
    return _HtmlParser(source).parse()


# --- formatted text pipeline -----------------------------------------------------------------


@dataclass(frozen=True)
class TextRules:
    """Which parameters hold a text and its entities, and how long it may be."""

    text_field: str
    entities_field: str
    max_units: int
    allow_empty: bool
    too_long: str


MESSAGE_TEXT = TextRules("text", "entities", MAX_TEXT_UNITS, False, "message is too long")
CAPTION = TextRules(
    "caption", "caption_entities", MAX_CAPTION_UNITS, True, "message caption is too long"
)


def formatted_text(params: JSON, rules: TextRules) -> tuple[str | None, list[JSON]]:
    """The text and entities Telegram would store (None text: no caption), or an ApiError."""
    raw = params.get(rules.text_field)
    if raw is None or raw == "":
        if not rules.allow_empty:
            raise bad_request("message text is empty")
        if params.get(rules.entities_field):
            raise bad_request(f"emulator: {rules.entities_field} without {rules.text_field}")
        return None, []
    if not isinstance(raw, str):
        raise bad_request(f"emulator: {rules.text_field} must be a string")
    try:
        size = len(raw.encode("utf-8"))
    except UnicodeEncodeError:
        raise bad_request("strings must be encoded in UTF-8") from None
    if size > MAX_RAW_TEXT_BYTES:
        raise bad_request("text is too long")
    text, entities = _parse_text(raw, params, rules)
    return _finish_text(text, entities, rules)


def _parse_text(raw: str, params: JSON, rules: TextRules) -> tuple[str, list[JSON]]:
    mode = str(params.get("parse_mode") or "").lower()
    given = params.get(rules.entities_field)
    if mode in ("", "none"):
        return raw, parse_entities(given, rules.entities_field)
    if given:
        raise bad_request(
            f"emulator: parse_mode and {rules.entities_field} were both given; Telegram applies "
            "parse_mode and silently ignores the entities"
        )
    if mode == "html":
        return parse_html(raw)
    if mode in ("markdown", "markdownv2"):
        raise bad_request("emulator: use entities or HTML")
    raise bad_request("unsupported parse_mode")


def _finish_text(
    text: str, entities: list[JSON], rules: TextRules
) -> tuple[str | None, list[JSON]]:
    check_entity_bounds(text, entities)
    entities = [entity for entity in entities if entity["type"] in USER_ENTITY_TYPES]
    check_entity_nesting(entities)
    check_entity_count(entities)
    text, entities = clean_text(text, entities)
    trimmed = text.strip(" \n")
    if not trimmed:
        if rules.allow_empty:
            return None, []
        raise bad_request("text must be non-empty")
    if entities and trimmed != text:
        raise bad_request(
            f"emulator: {rules.text_field} with entities has leading or trailing whitespace; "
            "Telegram would trim it and shift or cut the entities, so send it trimmed",
            violation=True,
        )
    if utf16_len(trimmed) > rules.max_units:
        raise bad_request(rules.too_long)
    return trimmed, sorted(entities, key=_entity_order)


def message_problem(text: str, entities: list[JSON], *, caption: bool = False) -> str | None:
    """Why Telegram would refuse or alter this text with these entities, or None if it would
    deliver it as is: sendMessage's (or sendPhoto's caption) checks without the HTTP round trip."""
    rules = CAPTION if caption else MESSAGE_TEXT
    try:
        formatted_text({rules.text_field: text, rules.entities_field: entities}, rules)
    except ApiError as err:
        return err.description
    return None


def link_preview_options(params: JSON) -> JSON | None:
    """link_preview_options (or the legacy disable_web_page_preview flag) as Telegram keeps it."""
    options = params.get("link_preview_options")
    if options is None:
        return {"is_disabled": True} if params.get("disable_web_page_preview") else None
    if not isinstance(options, dict):
        raise bad_request("object expected as link preview options")
    known = {"is_disabled", "url", "prefer_small_media", "prefer_large_media", "show_above_text"}
    if set(options) - known:
        raise bad_request(
            f"emulator: unknown link_preview_options fields {sorted(set(options) - known)}; "
            "Telegram would ignore them"
        )
    return options


# --- reply markup and commands ---------------------------------------------------------------


def check_reply_markup(raw: Any, *, inline_only: bool = False) -> JSON | None:
    """reply_markup as Client.cpp get_reply_markup reads it, plus Telegram's server checks."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise bad_request("object expected as reply markup")
    if "inline_keyboard" in raw:
        rows = raw["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request(
                'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
            )
        for row in rows:
            for button in row:
                check_inline_button(button)
        return {"inline_keyboard": rows} if any(rows) else None
    if inline_only:
        raise bad_request("emulator: only an inline keyboard can be attached to an edited message")
    if "keyboard" in raw:
        rows = raw["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request('field "keyboard" must be an Array of Arrays')
        for row in rows:
            for button in row:
                text = button.get("text") if isinstance(button, dict) else button
                if not isinstance(text, str) or not text:
                    raise bad_request("can't parse keyboard button: button text is missing")
        return raw
    if raw.get("remove_keyboard") or raw.get("force_reply"):
        return raw
    raise bad_request("emulator: reply_markup has no keyboard; Telegram would ignore it")


def check_inline_button(button: Any) -> None:
    """One inline button: a text and exactly one action (Telegram silently picks one of many)."""
    if not isinstance(button, dict):
        raise bad_request(
            "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
        )
    text = button.get("text")
    if not isinstance(text, str):
        raise bad_request("can't parse inline keyboard button: Can't find field \"text\"")
    if not text.strip():
        raise bad_request("BUTTON_TEXT_EMPTY")
    actions = [name for name in INLINE_BUTTON_ACTIONS if button.get(name) not in (None, "")]
    if not actions:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if len(actions) > 1:
        raise bad_request(
            f"emulator: inline keyboard button {text!r} has several actions {actions}; Telegram "
            "silently uses only one"
        )
    data = button.get("callback_data")
    if data is not None and (
        not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
    ):
        raise bad_request("BUTTON_DATA_INVALID")
    url = button.get("url")
    if url is not None:
        try:
            check_link(str(url))
        except ValueError:
            raise bad_request("BUTTON_URL_INVALID") from None


def check_commands(raw: Any) -> list[JSON]:
    """setMyCommands' list as tdlib set_commands cleans it and Telegram's server accepts it."""
    if not isinstance(raw, list):
        raise bad_request("emulator: commands must be a JSON array of BotCommand")
    if not raw:
        raise bad_request("emulator: empty command list; use deleteMyCommands")
    if len(raw) > MAX_COMMANDS:
        raise bad_request("BOT_COMMANDS_TOO_MUCH")
    commands = []
    for item in raw:
        if not isinstance(item, dict):
            raise bad_request("can't parse BotCommand: expected an Object")
        for name in ("command", "description"):
            if not isinstance(item.get(name), str):
                raise bad_request(f"can't parse BotCommand: Can't find field \"{name}\"")
        command = item["command"].strip()
        command = command[1:] if command.startswith("/") else command
        description = item["description"].strip()
        if not command:
            raise bad_request("command must be non-empty")
        if len(command) > MAX_COMMAND_LENGTH:
            raise bad_request(f"command length must not exceed {MAX_COMMAND_LENGTH}")
        if not re.fullmatch(r"[a-z0-9_]+", command):
            raise bad_request("BOT_COMMAND_INVALID")
        if not description:
            raise bad_request("command description must be non-empty")
        if len(description) > MAX_COMMAND_DESCRIPTION_LENGTH:
            raise bad_request(
                f"command description length must not exceed {MAX_COMMAND_DESCRIPTION_LENGTH}"
            )
        commands.append({"command": command, "description": description})
    return commands


def check_scope(raw: Any) -> JSON:
    """A BotCommandScope object; absent means the default scope."""
    if raw is None:
        return {"type": "default"}
    if not isinstance(raw, dict):
        raise bad_request("can't parse BotCommandScope: BotCommandScope must be an Object")
    if raw.get("type") not in COMMAND_SCOPES:
        raise bad_request("can't parse BotCommandScope: Unsupported type specified")
    needed = {"chat": ["chat_id"], "chat_administrators": ["chat_id"]}
    needed["chat_member"] = ["chat_id", "user_id"]
    for name in needed.get(raw["type"], []):
        if name not in raw:
            raise bad_request(f"can't parse BotCommandScope: Can't find field \"{name}\"")
    return {"type": raw["type"], **{name: raw[name] for name in needed.get(raw["type"], [])}}


# --- inline mode -----------------------------------------------------------------------------

_LINK_LIKE = re.compile(
    r"(?i)https?://|www\.|\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*"
    r"\.(?:com|org|net|io|ai|dev|me|cn|app|co|info|edu|gov)\b"
)


def _same_preview(message: SentMessage, name: str, value: Any, changes: JSON) -> bool:
    """Telegram compares an edit by content (text, entities, web page, markup): for a text
    without any link, different link_preview_options change nothing ("message is not
    modified"). Spotting a link is approximated (URL-like words and text_link entities)."""
    if name != "link_preview_options":
        return False
    text = changes.get("text", message.text) or ""
    entities = changes.get("entities", message.entities)
    urls = [(options or {}).get("url") for options in (value, message.link_preview_options)]
    has_link = any(entity["type"] == "text_link" for entity in entities) or _LINK_LIKE.search(text)
    return not has_link and not any(urls)


# A bot command at the start of a text, as Telegram marks it with a bot_command entity.
_COMMAND_AT_START = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>])")


def _inline_message_id(chat_id: int, message_id: int) -> str:
    """An opaque inline_message_id like Telegram's (base64url of a serialised id)."""
    raw = f"{chat_id}:{message_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _inline_parse_error(reason: str) -> ApiError:
    """Client.cpp wraps what it cannot read in a result: "can't parse inline query result: …"."""
    return bad_request(f"can't parse inline query result: {reason}")


def _decode_json_param(value: Any, error: str) -> Any:
    """A structured parameter that came form-encoded (PTB sends JSON text)."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise bad_request(error) from None


def check_inline_results_button(raw: Any) -> JSON | None:
    """answerInlineQuery's button: an InlineQueryResultsButton (Client.cpp
    get_inline_query_results_button, then tdlib answer_inline_query's start_parameter checks)."""
    raw = _decode_json_param(raw, "can't parse inline query results button JSON object")
    if raw is None or raw == "":
        return None

    def refuse(reason: str) -> ApiError:
        return bad_request(f"can't parse inline query results button: {reason}")

    if not isinstance(raw, dict):
        raise refuse("InlineQueryResultsButton must be an Object")
    if not isinstance(raw.get("text"), str):
        raise refuse('Can\'t find field "text"')
    if "start_parameter" in raw:
        parameter = raw["start_parameter"]
        if not isinstance(parameter, str):
            raise refuse('Field "start_parameter" must be of type String')
        if not parameter:
            raise bad_request("can't use empty start_parameter")
        if len(parameter.encode("utf-8")) > MAX_START_PARAMETER:
            raise bad_request("too long start_parameter specified")
        if not re.fullmatch(r"[A-Za-z0-9_-]+", parameter):
            raise bad_request("unallowed characters in start_parameter are used")
        return {"text": raw["text"], "start_parameter": parameter}
    if "web_app" in raw:
        web_app = raw["web_app"]
        if not isinstance(web_app, dict) or not isinstance(web_app.get("url"), str):
            raise refuse('Can\'t find field "url"')
        if not web_app["url"].lower().startswith("https://"):
            raise bad_request("inline query button Web App URL must use HTTPS")
        return {"text": raw["text"], "web_app": {"url": web_app["url"]}}
    raise refuse("InlineQueryResultsButton must have exactly one optional field")


_INLINE_TEXT = TextRules("text", "entities", 1 << 30, False, "MESSAGE_TOO_LONG")


def _inline_text(content: JSON) -> tuple[str, list[JSON]]:
    """input_message_content's text, checked like a sendMessage text.

    What Client.cpp reads (JSON, HTML, the 32768-byte cap) fails as "can't parse inline query
    result: …"; tdlib's checks (entities, blank text) keep their sendMessage wording; the length
    limit is the server's, checked with the query id (check_inline_answer).
    """
    params = {
        "text": content.get("message_text"),
        "entities": content.get("entities"),
        "parse_mode": content.get("parse_mode"),
    }
    if params["parse_mode"] is not None and not isinstance(params["parse_mode"], str):
        raise _inline_parse_error('Field "parse_mode" must be of type String')
    try:
        text, entities = formatted_text(params, _INLINE_TEXT)
    except ApiError as err:
        reason = err.description.removeprefix("Bad Request: ")
        if reason.startswith(("can't parse", "text is too long", "unsupported parse_mode")):
            raise _inline_parse_error(reason[0].upper() + reason[1:]) from None
        raise
    assert text is not None
    return text, entities


def check_inline_result(raw: Any) -> JSON:
    """One InlineQueryResult as Client.cpp get_inline_query_result reads it and tdlib checks it;
    only articles are emulated. Returns it as Telegram keeps it (parsed text, cleaned markup)."""
    if not isinstance(raw, dict):
        raise _inline_parse_error("Inline query result must be an object")
    for name in ("type", "id"):
        if name not in raw:
            raise _inline_parse_error(f'Can\'t find field "{name}"')
        if not isinstance(raw[name], str | int) or isinstance(raw[name], bool):
            raise _inline_parse_error(f'Field "{name}" must be of type String')
    kind = str(raw["type"]).lower()
    if kind != "article":
        raise bad_request(f"emulator: inline query results of type {kind!r} are not emulated")
    content = raw.get("input_message_content")
    if content is None:
        if "message_text" in raw:
            raise bad_request(
                "emulator: put the text in input_message_content; the legacy top-level "
                "message_text is undocumented"
            )
        raise _inline_parse_error('Can\'t find field "message_text"')
    if not isinstance(content, dict):
        raise _inline_parse_error('Field "input_message_content" must be of type Object')
    if not content.get("message_text"):
        raise _inline_parse_error("Input message content is not specified")
    if not isinstance(content["message_text"], str):
        raise _inline_parse_error('Field "message_text" must be of type String')
    unknown = set(content) - {"message_text", "entities", "parse_mode", "link_preview_options"}
    if unknown:
        raise bad_request(
            f"emulator: input_message_content fields {sorted(unknown)} are not emulated"
        )
    if "title" not in raw:
        raise _inline_parse_error('Can\'t find field "title"')
    for name in ("title", "description", "url", "thumbnail_url"):
        if name in raw and not isinstance(raw[name], str):
            raise _inline_parse_error(f'Field "{name}" must be of type String')
    text, entities = _inline_text(content)
    markup = raw.get("reply_markup")
    if markup is not None and (not isinstance(markup, dict) or "inline_keyboard" not in markup):
        raise bad_request("emulator: an inline result's reply_markup must be an inline keyboard")
    result: JSON = {
        "type": "article",
        "id": str(raw["id"]),
        "title": raw["title"],
        "input_message_content": {
            "message_text": text,
            "entities": entities,
            "link_preview_options": link_preview_options(content),
        },
        "reply_markup": check_reply_markup(markup, inline_only=True),
    }
    for name in ("description", "url", "thumbnail_url"):
        if raw.get(name):
            result[name] = raw[name]
    thumbnail = raw.get("thumbnail_url")
    if thumbnail and not re.match(r"(?i)https?://", thumbnail):
        raise bad_request(
            f"emulator: thumbnail_url {thumbnail!r} is not an HTTP URL; Telegram would show no "
            "thumbnail"
        )
    return result


def check_inline_results(raw: Any) -> list[JSON]:
    """answerInlineQuery's results as the Bot API server reads them: a JSON array of at most 50
    (Client.cpp MAX_INLINE_QUERY_RESULT_COUNT), each readable."""
    raw = _decode_json_param(raw, "can't parse JSON encoded inline query results")
    if raw is None or raw == "":
        return []
    if not isinstance(raw, list):
        raise bad_request("expected an Array of inline query results")
    if len(raw) > MAX_INLINE_RESULTS:
        raise bad_request("too many inline query results specified")
    return [check_inline_result(item) for item in raw]


def check_inline_answer(results: list[JSON], next_offset: str) -> None:
    """Telegram's own checks (messages.setInlineBotResults errors, passed through verbatim by
    the Bot API): next_offset ≤ 64 bytes, result ids 1–64 bytes and unique, a title, a text of
    at most 4096 UTF-16 units."""
    if len(next_offset.encode("utf-8", "surrogatepass")) > MAX_INLINE_ID_BYTES:
        raise bad_request("NEXT_OFFSET_INVALID")
    seen: set[str] = set()
    for result in results:
        size = len(result["id"].encode("utf-8", "surrogatepass"))
        if size == 0:
            raise bad_request("RESULT_ID_EMPTY")
        if size > MAX_INLINE_ID_BYTES:
            raise bad_request("RESULT_ID_INVALID")
        if result["id"] in seen:
            raise bad_request("RESULT_ID_DUPLICATE")
        seen.add(result["id"])
        if not result["title"].strip():
            raise bad_request("ARTICLE_TITLE_EMPTY")
        if utf16_len(result["input_message_content"]["message_text"]) > MAX_TEXT_UNITS:
            raise bad_request("MESSAGE_TOO_LONG")


# --- requests --------------------------------------------------------------------------------

_STRUCTURED_FIELDS = frozenset(
    {"entities", "caption_entities", "reply_markup", "link_preview_options", "reply_parameters"}
    | {"commands", "scope", "allowed_updates", "menu_button"}
)
# How Client.cpp names an object it cannot decode ("Can't parse <name> JSON object").
_JSON_FIELD_NAMES = {
    "reply_markup": "reply keyboard markup",
    "reply_parameters": "reply parameters",
    "link_preview_options": "link preview options",
}
_INTEGER_FIELDS = frozenset(
    {"message_id", "message_thread_id", "offset", "limit", "timeout", "cache_time", "user_id"}
    | {"reply_to_message_id", "max_connections"}
)
_BOOLEAN_FIELDS = frozenset(
    {"disable_notification", "protect_content", "show_alert", "drop_pending_updates"}
    | {"allow_sending_without_reply", "disable_web_page_preview", "has_spoiler"}
    | {"show_caption_above_media"}
)


def normalise_params(raw: dict[str, Any]) -> JSON:
    """Decodes form strings into the JSON values they encode (PTB JSON-encodes non-strings)."""
    return {name: _decode_field(name, value) for name, value in raw.items()}


def _decode_field(name: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if name in _STRUCTURED_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            if name in ("entities", "caption_entities"):
                raise bad_request(
                    f"emulator: {name} is not valid JSON; Telegram would silently send the text "
                    "without formatting"
                ) from None
            raise bad_request(
                f"can't parse {_JSON_FIELD_NAMES.get(name, name)} JSON object"
            ) from None
    if name in _INTEGER_FIELDS or (name == "chat_id" and not value.startswith("@")):
        if not re.fullmatch(r"\s*-?[0-9]+\s*", value):
            raise bad_request(f"emulator: {name} must be an integer, got {value!r}")
        return int(value)
    if name in _BOOLEAN_FIELDS:
        return value.strip().lower() in ("true", "yes", "1")
    return value


async def read_params(request: web.Request) -> tuple[JSON, dict[str, tuple[str, bytes]]]:
    """Query, form-urlencoded, multipart or JSON parameters (not yet normalised) and uploads."""
    raw: dict[str, Any] = dict(request.query)
    files: dict[str, tuple[str, bytes]] = {}
    if request.can_read_body and request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise bad_request("emulator: the request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise bad_request("emulator: the JSON body must be an object")
        raw.update(body)
    elif request.can_read_body:
        for name, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                files[name] = (value.filename, value.file.read())
            else:
                raw[name] = value
    return raw, files


def _drop_connection(request: web.Request) -> web.StreamResponse:
    """Closes the socket so the client sees a disconnect without any response."""
    if request.transport is not None:
        request.transport.abort()
    return web.Response()


# --- the server ------------------------------------------------------------------------------


@dataclass
class _Chat:
    """A chat the emulator knows: the bot's messages still in it and the users' messages."""

    id: int
    type: str
    username: str | None
    title: str | None
    first_name: str | None
    is_forum: bool
    topics: set[int]
    admins: set[int]
    members: set[int] = field(default_factory=set)
    next_message_id: int = 1
    topic_names: dict[int, str] = field(default_factory=dict)
    messages: dict[int, SentMessage] = field(default_factory=dict)
    incoming: dict[int, JSON] = field(default_factory=dict)
    # Pinned message ids, oldest pin first; service messages ("pinned_message") by id.
    pinned: list[int] = field(default_factory=list)
    service: dict[int, JSON] = field(default_factory=dict)
    bot_rights: JSON = field(default_factory=lambda: dict(ADMIN_RIGHTS))

    def summary(self) -> JSON:
        """The Chat object Telegram puts in messages."""
        out: JSON = {"id": self.id, "type": self.type}
        for name in ("title", "username", "first_name"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        if self.is_forum:
            out["is_forum"] = True
        return out

    def take_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


@dataclass
class _Failure:
    """A pending fail_next() instruction."""

    method: str
    kind: str
    remaining: int
    retry_after: int


@dataclass
class _InlineQuery:
    """An inline query a user typed: what the bot was asked and what it answered."""

    id: str
    user: JSON
    query: str
    offset: str
    chat_type: str
    created: float
    answer: JSON | None = None


@dataclass(frozen=True)
class _Call:
    """What a method handler gets: normalised parameters, uploads and the arrival time."""

    params: JSON
    files: dict[str, tuple[str, bytes]]
    now: float


Handler = Callable[[_Call], Awaitable[Any]]


class TelegramEmulator:
    """A Bot API server on 127.0.0.1 that records every call and is as strict as Telegram."""

    def __init__(
        self,
        token: str = "123456:TEST-token_abcdefghijklmnopqrstuvwxyz",
        *,
        bot_username: str = "digest_test_bot",
        flood: FloodLimits | None = DEFAULT_FLOOD,
        inline: bool = False,
        inline_feedback: bool = False,
        bot_name: str = "Digest Test Bot",
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.bot_name = bot_name
        self.flood = flood
        self.base_url = ""
        self.base_file_url = ""
        self.requests: list[RecordedRequest] = []
        self.violations: list[str] = []
        self.callback_answers: list[JSON] = []
        self.webhook_url = ""
        self.webhook_secret_token: str | None = None
        self._chats: dict[int, _Chat] = {}
        self._users: dict[int, JSON] = {}
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._updates: list[JSON] = []
        self._update_ids = itertools.count(1)
        self._allowed_updates: list[str] = []
        self._poll_generation = 0
        self._open_queries: set[str] = set()
        self._query_ids = itertools.count(1)
        self._photos: dict[str, list[JSON]] = {}
        self._photo_ids = itertools.count(1)
        self._refused_photos: dict[str, str] = {}
        self._failures: list[_Failure] = []
        self._retry_until: dict[int, float] = {}
        self._chat_posts: dict[int, deque[float]] = {}
        self._recent_posts: deque[float] = deque()
        self._pulse = asyncio.Event()
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None
        # Inline mode (/setinline) and inline feedback (/setinlinefeedback) at @BotFather.
        self.inline = inline
        self.inline_feedback = inline_feedback
        self.inline_answers: list[JSON] = []
        self.inline_answer_timeout = 10.0
        self._inline_queries: dict[str, _InlineQuery] = {}
        self._other_instance = False
        self._edit_log: list[tuple[int, int]] = []
        self._observers: list[Callable[[JSON], None]] = []
        handlers: list[tuple[str, Handler]] = [
            ("getMe", self._get_me),
            ("logOut", self._ok),
            ("close", self._ok),
            ("setWebhook", self._set_webhook),
            ("deleteWebhook", self._delete_webhook),
            ("getWebhookInfo", self._get_webhook_info),
            ("getUpdates", self._get_updates),
            ("sendMessage", self._send_message),
            ("sendPhoto", self._send_photo),
            ("sendChatAction", self._send_chat_action),
            ("editMessageText", self._edit_message_text),
            ("editMessageCaption", self._edit_message_caption),
            ("editMessageReplyMarkup", self._edit_message_reply_markup),
            ("deleteMessage", self._delete_message),
            ("answerCallbackQuery", self._answer_callback_query),
            ("setMyCommands", self._set_my_commands),
            ("getMyCommands", self._get_my_commands),
            ("deleteMyCommands", self._delete_my_commands),
            ("getChat", self._get_chat),
            ("getChatMember", self._get_chat_member),
            ("setChatMenuButton", self._set_chat_menu_button),
            ("answerInlineQuery", self._answer_inline_query),
            ("pinChatMessage", self._pin_chat_message),
            ("unpinChatMessage", self._unpin_chat_message),
            ("unpinAllChatMessages", self._unpin_all_chat_messages),
        ]
        # Bot API method names are case-insensitive (Client.cpp keys them in lower case).
        self._handlers = {name.lower(): (name, handler) for name, handler in handlers}

    # --- lifecycle ---

    async def start(self) -> None:
        """Listens on a free port and fills in base_url / base_file_url."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._serve)
        app.router.add_route("*", "/file/bot{token}/{path:.*}", self._serve_file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}/bot"
        self.base_file_url = f"http://127.0.0.1:{port}/file/bot"

    async def stop(self) -> None:
        """Ends long polls and hanging requests, then closes the server."""
        self._stopping.set()
        self._changed()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> TelegramEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # --- test set-up and inspection ---

    def add_chat(
        self,
        chat_id: int,
        *,
        type: str = "supergroup",
        username: str | None = None,
        title: str | None = None,
        is_forum: bool = False,
        topics: Iterable[int] | Mapping[int, str] = (),
        admins: Iterable[int] = (),
        first_name: str = "Member",
    ) -> None:
        """Makes a chat known (the bot is an administrator); unknown chats are "not found".

        `topics` may map each forum topic's id to its name; `first_name` names a private
        chat's user.
        """
        if type not in ("private", "group", "supergroup", "channel"):
            raise ValueError(f"unknown chat type {type!r}")
        if (type == "private") != (chat_id > 0):
            raise ValueError("private chats have positive ids, groups and channels negative ones")
        if is_forum and type != "supergroup":
            raise ValueError("only supergroups can be forums")
        self._chats[chat_id] = _Chat(
            id=chat_id,
            type=type,
            username=username.lstrip("@") if username else None,
            title=None if type == "private" else title or f"Chat {chat_id}",
            first_name=first_name if type == "private" else None,
            is_forum=is_forum,
            topics=set(topics),
            admins=set(admins),
            topic_names=dict(topics) if isinstance(topics, Mapping) else {},
        )

    def transcript(self, chat_id: int | str) -> list[SentMessage]:
        """Every message the bot posted in the chat and has not deleted, oldest first (with
        the users' messages sent via the bot's inline mode: from_user is set on those)."""
        chat = self._find_chat(chat_id)
        if chat is None:
            raise KeyError(f"unknown chat {chat_id!r}")
        return list(chat.messages.values())

    def user_messages(self, chat_id: int | str) -> list[JSON]:
        """The users' messages in the chat (Message objects as the bot got them), oldest first."""
        chat = self._find_chat(chat_id)
        if chat is None:
            raise KeyError(f"unknown chat {chat_id!r}")
        return list(chat.incoming.values())

    def chats(self) -> list[JSON]:
        """Every known chat as Telegram's Chat object, plus its forum topics' names."""
        return [
            {
                **chat.summary(),
                "topics": {t: chat.topic_names.get(t, f"Topic {t}") for t in chat.topics},
            }
            for chat in self._chats.values()
        ]

    def observe(self, callback: Callable[[JSON], None]) -> None:
        """Calls `callback` with each event a chat view shows: {"event": "message" | "edit" |
        "delete", "chat_id", "message_id"} and {"event": "callback_answer", **the answer}."""
        self._observers.append(callback)

    def commands(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """The commands stored by setMyCommands for that scope and language."""
        return self._commands.get(
            (json.dumps(check_scope(scope), sort_keys=True), language_code), []
        )

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed by a getUpdates offset."""
        return list(self._updates)

    def fail_next(self, method: str, kind: str, count: int = 1, *, retry_after: int = 1) -> None:
        """Makes the next `count` calls of `method` ("*" for any) fail the given way.

        kind: "500"/"502" server error, "429" flood error, "timeout" (no answer until the
        emulator stops), "drop" (connection closed unanswered), "lost_reply" (processed and
        delivered, but the connection drops before the answer), "500_after" (processed and
        kept, then answered 500 Internal Server Error), "502_html" (502 with the nginx HTML page
        Telegram's front end sends, not JSON), "conflict" (for getUpdates: 409 "Conflict:
        terminated by other getUpdates request; …").
        """
        if kind not in FAILURE_KINDS:
            raise ValueError(f"unknown failure kind {kind!r}")
        self._failures.append(_Failure(method.lower(), kind, count, retry_after))

    def refuse_photo(
        self,
        url: str,
        description: str = "Bad Request: wrong file identifier/HTTP URL specified",
    ) -> None:
        """Makes sendPhoto with this URL fail as if Telegram could not fetch it."""
        self._refused_photos[url] = description

    def push_update(self, update: JSON) -> int:
        """Queues a raw update for getUpdates (assigning update_id) and returns its id."""
        update = dict(update)
        update.setdefault("update_id", next(self._update_ids))
        self._updates.append(update)
        self._changed()
        return int(update["update_id"])

    def command(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        *,
        thread_id: int | None = None,
        first_name: str = "Member",
        language_code: str = "zh-hans",
    ) -> int:
        """Queues a user's "/command[@bot] args" with the bot_command entity Telegram adds."""
        match = re.match(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>])", text)
        if match is None:
            raise ValueError(f"not a bot command: {text!r}")
        entity = {"type": "bot_command", "offset": 0, "length": utf16_len(match.group())}
        user = self._user(user_id, first_name, language_code)
        return self._incoming(chat_id, user, text, [entity], thread_id, None)

    def message(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        *,
        thread_id: int | None = None,
        reply_to_message_id: int | None = None,
        first_name: str = "Member",
        language_code: str = "zh-hans",
    ) -> int:
        """Queues a user's plain text message."""
        user = self._user(user_id, first_name, language_code)
        return self._incoming(chat_id, user, text, [], thread_id, reply_to_message_id)

    def press(
        self,
        chat_id: int,
        user_id: int,
        message_id: int,
        data: str,
        *,
        first_name: str = "Member",
        language_code: str = "zh-hans",
        forged: bool = False,
    ) -> int:
        """Queues a callback_query for a button with this callback_data on a bot message.

        `forged` sends data the message has no button for, as a stale keyboard or a modified
        client can; Telegram delivers such presses all the same.
        """
        chat = self._chats[chat_id]
        message = chat.messages[message_id]
        keyboard = (message.reply_markup or {}).get("inline_keyboard", [])
        buttons = (button.get("callback_data") for row in keyboard for button in row)
        if not forged and data not in buttons:
            raise ValueError(f"message {message_id} has no button with callback_data {data!r}")
        query_id = f"{self.bot_id}{next(self._query_ids):012d}"
        self._open_queries.add(query_id)
        query = {
            "id": query_id,
            "from": self._user(user_id, first_name, language_code),
            "message": self._message_json(chat, message),
            "chat_instance": f"{abs(chat_id)}{self.bot_id}",
            "data": data,
        }
        if message.from_user is not None:
            # A message sent via inline mode: Telegram names it by inline_message_id only.
            del query["message"]
            query["inline_message_id"] = _inline_message_id(chat.id, message.message_id)
        return self.push_update({"callback_query": query})

    async def wait_for(
        self,
        chat_id: int | str,
        count: int,
        timeout: float = 10,  # noqa: ASYNC109 - the public signature the bot tests use
    ) -> list[SentMessage]:
        """Waits until the chat's transcript has at least `count` messages."""
        deadline = time.monotonic() + timeout
        while True:
            pulse = self._pulse
            messages = self.transcript(chat_id)
            if len(messages) >= count:
                return messages
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                recent = [(r.method, r.status) for r in self.requests[-5:]]
                raise TimeoutError(
                    f"chat {chat_id} has {len(messages)} of {count} messages after {timeout} s; "
                    f"recent requests {recent}; violations {self.violations}"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(pulse.wait(), remaining)

    # --- inline mode, pins, user edits, probing (test set-up and inspection) ---

    def inline_query(
        self,
        user_id: int,
        query: str,
        *,
        chat_type: str = "private",
        offset: str = "",
        first_name: str = "Member",
        language_code: str = "zh-hans",
    ) -> str:
        """Queues an inline_query ("@bot query" typed in a chat of `chat_type`) and returns its
        id. Telegram only sends these to a bot with inline mode on (`inline=True`)."""
        if not self.inline:
            raise ValueError(
                "emulator: inline mode is off (TelegramEmulator(inline=True)); Telegram clients "
                "offer no inline mode for this bot"
            )
        if chat_type not in INLINE_CHAT_TYPES:
            raise ValueError(f"unknown inline query chat_type {chat_type!r}")
        if len(query) > MAX_INLINE_QUERY_CHARS:
            raise ValueError(f"Telegram clients send at most {MAX_INLINE_QUERY_CHARS} characters")
        user = self._user(user_id, first_name, language_code)
        query_id = str(next(self._query_ids) + 4_000_000_000_000_000_000)
        self._inline_queries[query_id] = _InlineQuery(
            query_id, user, query, offset, chat_type, time.monotonic()
        )
        body = {"id": query_id, "from": user, "query": query, "offset": offset}
        self.push_update({"inline_query": {**body, "chat_type": chat_type}})
        return query_id

    def choose_inline_result(
        self, query_id: str, result_id: str, chat_id: int, *, thread_id: int | None = None
    ) -> int:
        """The user picks an answered result: its article is posted in the chat as the user's
        message `via_bot` (in transcript(), taking the chat's next message id). The bot gets it
        as a message update where it is a member (groups, the user's chat with the bot), and a
        chosen_inline_result update if inline feedback is on. Returns the message id."""
        query = self._inline_queries.get(query_id)
        if query is None or query.answer is None:
            raise ValueError(f"inline query {query_id!r} was not answered")
        result = next((r for r in query.answer["results"] if r["id"] == result_id), None)
        if result is None:
            raise ValueError(f"the answer to {query_id!r} has no result {result_id!r}")
        chat = self._chats.get(chat_id)
        if chat is None:
            raise KeyError(f"unknown chat {chat_id}: add_chat() it first")
        user_id = query.user["id"]
        expected = {"sender": "private", "private": "private"}.get(query.chat_type)
        if chat.type != (expected or query.chat_type) or (
            (query.chat_type == "sender") != (chat_id == user_id)
        ):
            raise ValueError(f"a query typed in a {query.chat_type!r} chat can't go to {chat_id}")
        if chat.type == "channel":
            raise ValueError("emulator: posting via the bot in a channel is not emulated")
        if thread_id is not None and (not chat.is_forum or thread_id not in chat.topics):
            raise ValueError(f"chat {chat_id} has no forum topic {thread_id}")
        content = result["input_message_content"]
        message = SentMessage(
            message_id=chat.take_message_id(),
            chat_id=chat.id,
            method="sendMessage",
            text=content["message_text"],
            entities=content["entities"],
            photo=None,
            thread_id=thread_id,
            disable_notification=False,
            reply_markup=result["reply_markup"],
            link_preview_options=content["link_preview_options"],
            date=int(time.time()),
            from_user=query.user,
        )
        chat.messages[message.message_id] = message
        if chat.type != "private" or chat_id == user_id:
            chat.members.add(user_id)
            self.push_update({"message": self._message_json(chat, message)})
        if self.inline_feedback:
            chosen: JSON = {"result_id": result_id, "from": query.user, "query": query.query}
            if message.reply_markup:
                chosen["inline_message_id"] = _inline_message_id(chat.id, message.message_id)
            self.push_update({"chosen_inline_result": chosen})
        self._changed()
        return message.message_id

    def set_bot_rights(self, chat_id: int | str, **rights: bool) -> None:
        """Changes the bot's administrator rights in the chat (by default it has all of
        ADMIN_RIGHTS, and in channels can_post_messages/can_edit_messages), as getChatMember and
        the rights checks see them: set_bot_rights(GROUP, can_pin_messages=False)."""
        chat = self._find_chat(chat_id)
        if chat is None:
            raise KeyError(f"unknown chat {chat_id!r}")
        unknown = set(rights) - set(ADMIN_RIGHTS) - {"can_post_messages", "can_edit_messages"}
        if unknown:
            raise ValueError(f"unknown administrator rights {sorted(unknown)}")
        chat.bot_rights.update(rights)

    def pinned(self, chat_id: int | str) -> list[int]:
        """The ids of the chat's pinned messages, oldest pin first (getChat shows the last)."""
        chat = self._find_chat(chat_id)
        if chat is None:
            raise KeyError(f"unknown chat {chat_id!r}")
        return self._pinned_ids(chat)

    def service_messages(self, chat_id: int | str) -> list[JSON]:
        """Service messages in the chat (the "pinned_message" ones a pin adds), oldest first."""
        chat = self._find_chat(chat_id)
        if chat is None:
            raise KeyError(f"unknown chat {chat_id!r}")
        return list(chat.service.values())

    def edit(
        self, chat_id: int, message_id: int, new_text: str, *, user_id: int | None = None
    ) -> int:
        """Queues an edited_message: a user edits their own message (a text starting with a
        command gets the bot_command entity, as command() does). Returns the update id."""
        chat = self._chats.get(chat_id)
        original = chat.incoming.get(message_id) if chat else None
        if chat is None or original is None:
            raise ValueError(f"chat {chat_id} has no user message {message_id}")
        if user_id is not None and original["from"]["id"] != user_id:
            raise ValueError(f"message {message_id} is not from user {user_id}")
        if original.get("text") == new_text:
            raise ValueError("emulator: Telegram sends no update for an edit that changes nothing")
        edited = {key: value for key, value in original.items() if key != "entities"}
        edited.update(text=new_text, edit_date=int(time.time()))
        match = _COMMAND_AT_START.match(new_text)
        if match:
            edited["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(match.group())}
            ]
        chat.incoming[message_id] = edited
        return self.push_update({"edited_message": edited})

    def other_instance(self, on: bool = True) -> None:
        """While on, another deployment polls with this token: every getUpdates is answered 409
        "Conflict: terminated by other getUpdates request; …"."""
        self._other_instance = on

    def edits(self, chat_id: int | str) -> list[int]:
        """The ids of the bot's messages in the chat that an edit changed, one entry per
        successful edit, in order (refused edits such as "message is not modified" are not
        here): `assert emu.edits(GROUP) == []` means nothing was edited."""
        chat = self._find_chat(chat_id)
        if chat is None:
            raise KeyError(f"unknown chat {chat_id!r}")
        return [message_id for edited_chat, message_id in self._edit_log if edited_chat == chat.id]

    def counted_posts(self, chat_id: int | str) -> int:
        """Posts and edits the flood limits count for the chat in the last minute; the chat may
        be named by @username or id, which Telegram counts as one chat."""
        chat = self._find_chat(chat_id)
        if chat is None:
            raise KeyError(f"unknown chat {chat_id!r}")
        now = time.monotonic()
        return sum(1 for sent in self._chat_posts.get(chat.id, ()) if sent > now - 60)

    def _pinned_ids(self, chat: _Chat) -> list[int]:
        """Pins of messages still in the chat (deleting a pinned message unpins it)."""
        return [i for i in chat.pinned if i in chat.messages or i in chat.incoming]

    # --- HTTP plumbing ---

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        now = time.monotonic()
        known = self._handlers.get(request.match_info["method"].lower())
        record = RecordedRequest(known[0] if known else request.match_info["method"], {}, now)
        self.requests.append(record)
        failure = None
        try:
            if request.match_info["token"] != self.token:
                raise ApiError("Unauthorized", 401)
            if known is None:
                raise ApiError("Not Found", 404)
            raw, files = await read_params(request)
            uploads = {name: f"uploaded:{filename}" for name, (filename, _) in files.items()}
            record.params = {**raw, **uploads}
            params = normalise_params(raw)
            record.params = {**params, **uploads}
            chat_id = self._chat_id_of(params)
            self._check_pending_retry(record.method, chat_id, now)
            failure = self._take_failure(record.method)
            if failure is not None and failure.kind not in ("lost_reply", "500_after"):
                return await self._inject(request, failure, chat_id, now, record)
            result = await known[1](_Call(params, files, now))
            if failure is not None and failure.kind == "500_after":
                raise ApiError("Internal Server Error", 500)
        except ApiError as err:
            if err.violation:
                self.violations.append(f"{record.method}: {err.violation}")
            record.status = err.status
            return web.json_response(err.payload(), status=err.status)
        if failure is not None:
            return _drop_connection(request)
        record.status = 200
        return web.json_response({"ok": True, "result": result})

    async def _serve_file(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(ApiError("Not Found", 404).payload(), status=404)

    def _take_failure(self, method: str) -> _Failure | None:
        for failure in self._failures:
            if failure.remaining > 0 and failure.method in ("*", method.lower()):
                failure.remaining -= 1
                return failure
        return None

    async def _inject(
        self,
        request: web.Request,
        failure: _Failure,
        chat_id: int | None,
        now: float,
        record: RecordedRequest,
    ) -> web.StreamResponse:
        if failure.kind in ("500", "502", "429"):
            if failure.kind == "429":
                self._hold(chat_id, now, failure.retry_after)
                error = too_many_requests(failure.retry_after)
            else:
                description = "Internal Server Error" if failure.kind == "500" else "Bad Gateway"
                error = ApiError(description, int(failure.kind))
            record.status = error.status
            return web.json_response(error.payload(), status=error.status)
        if failure.kind == "502_html":
            record.status = 502
            return web.Response(status=502, text=NGINX_502, content_type="text/html")
        if failure.kind == "conflict":
            record.status = 409
            return web.json_response(ApiError(GET_UPDATES_CONFLICT, 409).payload(), status=409)
        if failure.kind == "timeout":
            await self._stopping.wait()
        return _drop_connection(request)

    def _changed(self) -> None:
        """Wakes every waiter (long polls, wait_for) after a change."""
        self._pulse.set()
        self._pulse = asyncio.Event()

    def _notify(self, event: str, **details: Any) -> None:
        for callback in self._observers:
            callback({"event": event, **details})

    # --- chats, users, flood control ---

    def _find_chat(self, value: Any) -> _Chat | None:
        if isinstance(value, int) and not isinstance(value, bool):
            return self._chats.get(value)
        if isinstance(value, str) and value.startswith("@"):
            name = value[1:].lower()
            return next(
                (c for c in self._chats.values() if c.username and c.username.lower() == name),
                None,
            )
        return None

    def _chat(self, params: JSON) -> _Chat:
        value = params.get("chat_id")
        if value in (None, ""):
            raise bad_request("chat_id is empty")
        chat = self._find_chat(value)
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def _chat_id_of(self, params: JSON) -> int | None:
        chat = self._find_chat(params.get("chat_id"))
        return chat.id if chat else None

    def _check_thread(self, chat: _Chat, thread_id: Any) -> None:
        if thread_id is not None and (not chat.is_forum or thread_id not in chat.topics):
            raise bad_request("message thread not found")

    def _user(self, user_id: int, first_name: str, language_code: str) -> JSON:
        user = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language_code:
            user["language_code"] = language_code
        self._users[user_id] = user
        return user

    def _bot_user(self) -> JSON:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_name,
            "username": self.bot_username,
        }

    def _hold(self, chat_id: int | None, now: float, seconds: int) -> None:
        """Starts a retry_after period for the chat."""
        if chat_id is not None:
            self._retry_until[chat_id] = max(self._retry_until.get(chat_id, 0.0), now + seconds)

    def _check_pending_retry(self, method: str, chat_id: int | None, now: float) -> None:
        """Any request to a chat inside its retry_after period is refused again and recorded."""
        until = self._retry_until.get(chat_id) if chat_id is not None else None
        if chat_id is None or until is None:
            return
        jitter = (self.flood or DEFAULT_FLOOD).jitter
        remaining = until - now
        if remaining <= jitter:
            del self._retry_until[chat_id]
            return
        raise too_many_requests(
            max(1, math.ceil(remaining)),
            violation=(
                f"ignored retry_after: {method} to chat {chat_id} came {remaining:.2f} s before "
                "its retry_after period ended"
            ),
        )

    def _admit_post(self, chat: _Chat, now: float) -> None:
        """Applies the flood limits to a request that posts or edits, then counts it."""
        history = self._chat_posts.setdefault(chat.id, deque())
        if self.flood is not None:
            wait, limit = self._flood_wait(self.flood, chat, history, now)
            if wait > self.flood.jitter:
                retry_after = max(1, math.ceil(wait))
                self._hold(chat.id, now, retry_after)
                raise too_many_requests(
                    retry_after,
                    violation=f"flood limit: chat {chat.id} exceeded {limit} ({wait:.2f} s early)",
                )
        history.append(now)
        self._recent_posts.append(now)

    def _flood_wait(
        self, limits: FloodLimits, chat: _Chat, history: deque[float], now: float
    ) -> tuple[float, str]:
        """Seconds until a post to the chat would be within every limit, and the binding one."""
        while history and history[0] <= now - 60:
            history.popleft()
        while self._recent_posts and self._recent_posts[0] <= now - 1:
            self._recent_posts.popleft()
        waits = [(0.0, "no limit")]
        if history and limits.per_chat_interval > 0:
            waits.append(
                (
                    history[-1] + limits.per_chat_interval - now,
                    f"1 message per {limits.per_chat_interval:g} s in a chat",
                )
            )
        if chat.id < 0 and 0 < limits.group_per_minute <= len(history):
            waits.append(
                (
                    history[-limits.group_per_minute] + 60 - now,
                    f"{limits.group_per_minute} messages per minute in a group",
                )
            )
        if 0 < limits.global_per_second <= len(self._recent_posts):
            waits.append(
                (
                    self._recent_posts[-limits.global_per_second] + 1 - now,
                    f"{limits.global_per_second} messages per second overall",
                )
            )
        return max(waits)

    # --- messages ---

    def _incoming(
        self,
        chat_id: int,
        user: JSON,
        text: str,
        entities: list[JSON],
        thread_id: int | None,
        reply_to_message_id: int | None,
    ) -> int:
        if chat_id not in self._chats and chat_id == user["id"]:
            self.add_chat(chat_id, type="private")
            self._chats[chat_id].first_name = user["first_name"]
        chat = self._chats.get(chat_id)
        if chat is None:
            raise KeyError(f"unknown chat {chat_id}: add_chat() it first")
        if thread_id is not None and (not chat.is_forum or thread_id not in chat.topics):
            raise ValueError(f"chat {chat_id} has no forum topic {thread_id}")
        chat.members.add(user["id"])
        message: JSON = {
            "message_id": chat.take_message_id(),
            "from": user,
            "chat": chat.summary(),
            "date": int(time.time()),
            "text": text,
        }
        if entities:
            message["entities"] = entities
        if thread_id is not None:
            message.update(message_thread_id=thread_id, is_topic_message=True)
        if reply_to_message_id is not None:
            message["reply_to_message"] = self._any_message_json(chat, reply_to_message_id)
        chat.incoming[message["message_id"]] = message
        self._notify("message", chat_id=chat.id, message_id=message["message_id"])
        return self.push_update({"message": message})

    def _any_message_json(self, chat: _Chat, message_id: int) -> JSON:
        if message_id in chat.messages:
            return self._message_json(chat, chat.messages[message_id], with_reply=False)
        return chat.incoming[message_id]

    def _message_json(self, chat: _Chat, message: SentMessage, *, with_reply: bool = True) -> JSON:
        """The Message object Telegram returns for a bot message."""
        out: JSON = {
            "message_id": message.message_id,
            "from": message.from_user or self._bot_user(),
            "chat": chat.summary(),
            "date": message.date,
        }
        if message.from_user is not None:
            out["via_bot"] = self._bot_user()
        if message.thread_id is not None:
            out.update(message_thread_id=message.thread_id, is_topic_message=True)
        replied = message.reply_to_message_id
        if (
            with_reply
            and replied is not None
            and (replied in chat.messages or replied in chat.incoming)
        ):
            out["reply_to_message"] = self._any_message_json(chat, replied)
        if message.edit_date is not None:
            out["edit_date"] = message.edit_date
        text_key, entities_key = "text", "entities"
        if message.method == "sendPhoto":
            out["photo"] = message.photo_sizes
            text_key, entities_key = "caption", "caption_entities"
        if message.text is not None:
            out[text_key] = message.text
        if message.entities:
            out[entities_key] = message.entities
        if message.link_preview_options:
            out["link_preview_options"] = message.link_preview_options
        if message.reply_markup and "inline_keyboard" in message.reply_markup:
            out["reply_markup"] = message.reply_markup
        return out

    def _placement(self, chat: _Chat, params: JSON) -> tuple[int | None, int | None]:
        """The replied-to message and the forum topic of a new message (a reply stays in its
        topic)."""
        reply_to, reply_thread = self._reply_target(chat, params)
        thread = params.get("message_thread_id")
        if thread is None:
            return reply_to, reply_thread
        self._check_thread(chat, thread)
        if reply_thread is not None and reply_thread != thread:
            raise bad_request(
                f"emulator: the replied message is in topic {reply_thread}, not in {thread}"
            )
        return reply_to, thread

    def _reply_target(self, chat: _Chat, params: JSON) -> tuple[int | None, int | None]:
        spec = params.get("reply_parameters")
        if spec is None:
            spec = {
                "message_id": params.get("reply_to_message_id"),
                "allow_sending_without_reply": params.get("allow_sending_without_reply"),
            }
        if not isinstance(spec, dict):
            raise bad_request("object expected as reply parameters")
        message_id = spec.get("message_id")
        if not message_id:
            return None, None
        if "chat_id" in spec and self._chat_id_of(spec) != chat.id:
            raise bad_request("emulator: replies to messages in other chats are not emulated")
        if message_id in chat.messages:
            return message_id, chat.messages[message_id].thread_id
        if message_id in chat.incoming:
            return message_id, chat.incoming[message_id].get("message_thread_id")
        if spec.get("allow_sending_without_reply"):
            return None, None
        raise bad_request("message to be replied not found")

    async def _publish(
        self,
        chat: _Chat,
        call: _Call,
        method: str,
        text: tuple[str | None, list[JSON]],
        *,
        reply_markup: JSON | None,
        preview: JSON | None = None,
        photo: tuple[str, list[JSON]] | None = None,
    ) -> JSON:
        """Checks the placement and flood limits, then stores the new message."""
        reply_to, thread = self._placement(chat, call.params)
        self._admit_post(chat, call.now)
        message = SentMessage(
            message_id=chat.take_message_id(),
            chat_id=chat.id,
            method=method,
            text=text[0],
            entities=text[1],
            photo=photo[0] if photo else None,
            thread_id=thread,
            disable_notification=bool(call.params.get("disable_notification")),
            reply_markup=reply_markup,
            link_preview_options=preview,
            reply_to_message_id=reply_to,
            date=int(time.time()),
            photo_sizes=photo[1] if photo else [],
        )
        chat.messages[message.message_id] = message
        self._changed()
        self._notify("message", chat_id=chat.id, message_id=message.message_id)
        return self._message_json(chat, message)

    def _photo(self, call: _Call) -> tuple[str, list[JSON]]:
        """The photo source (URL, file_id or "uploaded:<name>") and its PhotoSize list."""
        value = call.params.get("photo")
        upload_name = "photo"
        if isinstance(value, str) and value.startswith("attach://"):
            upload_name, value = value[len("attach://") :], None
        if value in (None, ""):
            upload = call.files.get(upload_name)
            if upload is None:
                raise bad_request("there is no photo in the request")
            if not upload[1]:
                raise bad_request("file must be non-empty")
            source = f"uploaded:{upload[0]}"
            return source, self._new_photo()
        if not isinstance(value, str):
            raise bad_request("wrong file identifier/HTTP URL specified")
        if value in self._photos:
            return value, self._photos[value]
        if not re.match(r"(?i)https?://", value):
            raise bad_request("wrong file identifier/HTTP URL specified")
        if value in self._refused_photos:
            raise ApiError(self._refused_photos[value])
        try:
            host = _parse_http_url(value).host
        except ValueError:
            host = ""
        if "." not in host:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return value, self._new_photo()

    def _new_photo(self) -> list[JSON]:
        number = next(self._photo_ids)
        sizes = [
            {
                "file_id": f"AgACAgEAAxkDAAI{number:08d}w{width}",
                "file_unique_id": f"AQAD{number:08d}w{width}",
                "width": width,
                "height": height,
                "file_size": size,
            }
            for width, height, size in ((90, 51, 1650), (320, 180, 18200), (1280, 720, 112800))
        ]
        for size in sizes:
            self._photos[str(size["file_id"])] = sizes
        return sizes

    def _editable(self, params: JSON) -> tuple[_Chat, SentMessage]:
        if "inline_message_id" in params:
            raise bad_request("emulator: inline messages are not emulated")
        chat = self._chat(params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise bad_request("message identifier is not specified")
        if message_id in chat.incoming or message_id in chat.service:
            raise bad_request("message can't be edited")
        if message_id not in chat.messages:
            raise bad_request("message to edit not found")
        if chat.messages[message_id].from_user is not None:
            # Sent by a user via the bot: only its inline_message_id can edit it.
            raise bad_request("message can't be edited")
        return chat, chat.messages[message_id]

    async def _apply_edit(
        self, chat: _Chat, message: SentMessage, now: float, **changes: Any
    ) -> JSON:
        """Refuses a no-op edit like Telegram, applies the flood limits and stores the edit."""
        if all(
            getattr(message, name) == value or _same_preview(message, name, value, changes)
            for name, value in changes.items()
        ):
            raise bad_request(NOT_MODIFIED)
        self._admit_post(chat, now)
        for name, value in changes.items():
            setattr(message, name, value)
        self._edit_log.append((chat.id, message.message_id))
        message.edited += 1
        message.edit_date = int(time.time())
        self._changed()
        self._notify("edit", chat_id=chat.id, message_id=message.message_id)
        return self._message_json(chat, message)

    # --- method handlers ---

    async def _ok(self, call: _Call) -> bool:
        return True

    async def _get_me(self, call: _Call) -> JSON:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": self.inline,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _set_webhook(self, call: _Call) -> bool:
        url = str(call.params.get("url") or "")
        if url and not url.lower().startswith("https://"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = call.params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise bad_request("secret token contains unallowed characters")
        self.webhook_url = url
        self.webhook_secret_token = str(secret) if url and secret is not None else None
        if call.params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _delete_webhook(self, call: _Call) -> bool:
        self.webhook_url = ""
        self.webhook_secret_token = None
        if call.params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_webhook_info(self, call: _Call) -> JSON:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    async def _get_updates(self, call: _Call) -> list[JSON]:
        """Long polling: confirms updates below offset and answers as soon as one is queued."""
        if self._other_instance:
            raise ApiError(GET_UPDATES_CONFLICT, 409)
        if self.webhook_url:
            raise ApiError(
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
                409,
            )
        params = call.params
        limit = min(max(params.get("limit", 100), 1), 100)
        allowed = params.get("allowed_updates")
        if allowed is not None:
            if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
                raise bad_request("emulator: allowed_updates must be a JSON array of strings")
            self._allowed_updates = allowed
        self._confirm_updates(params.get("offset", 0))
        self._poll_generation += 1
        generation = self._poll_generation
        self._changed()
        deadline = call.now + max(params.get("timeout", 0), 0)
        while True:
            pulse = self._pulse
            if generation != self._poll_generation:
                raise ApiError(
                    "Conflict: terminated by other getUpdates request; make sure that only one "
                    "bot instance is running",
                    409,
                )
            ready = self._deliverable()[:limit]
            remaining = deadline - time.monotonic()
            if ready or remaining <= 0 or self._stopping.is_set():
                return ready
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(pulse.wait(), remaining)

    def _confirm_updates(self, offset: int) -> None:
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]

    def _deliverable(self) -> list[JSON]:
        """Queued updates of allowed types; Telegram never sends the others, so they go."""

        def allowed(update: JSON) -> bool:
            kind = next(key for key in update if key != "update_id")
            if self._allowed_updates:
                return kind in self._allowed_updates
            return kind not in OPT_IN_UPDATE_TYPES

        self._updates = [update for update in self._updates if allowed(update)]
        return list(self._updates)

    async def _send_message(self, call: _Call) -> JSON:
        chat = self._chat(call.params)
        text = formatted_text(call.params, MESSAGE_TEXT)
        markup = check_reply_markup(call.params.get("reply_markup"))
        preview = link_preview_options(call.params)
        return await self._publish(
            chat, call, "sendMessage", text, reply_markup=markup, preview=preview
        )

    async def _send_photo(self, call: _Call) -> JSON:
        chat = self._chat(call.params)
        photo = self._photo(call)
        caption = formatted_text(call.params, CAPTION)
        markup = check_reply_markup(call.params.get("reply_markup"))
        return await self._publish(
            chat, call, "sendPhoto", caption, reply_markup=markup, photo=photo
        )

    async def _send_chat_action(self, call: _Call) -> bool:
        chat = self._chat(call.params)
        if str(call.params.get("action", "")).lower() not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self._check_thread(chat, call.params.get("message_thread_id"))
        return True

    async def _edit_message_text(self, call: _Call) -> JSON:
        chat, message = self._editable(call.params)
        if message.method != "sendMessage":
            raise bad_request("there is no text in the message to edit")
        text, entities = formatted_text(call.params, MESSAGE_TEXT)
        return await self._apply_edit(
            chat,
            message,
            call.now,
            text=text,
            entities=entities,
            reply_markup=check_reply_markup(call.params.get("reply_markup"), inline_only=True),
            link_preview_options=link_preview_options(call.params),
        )

    async def _edit_message_caption(self, call: _Call) -> JSON:
        chat, message = self._editable(call.params)
        if message.method != "sendPhoto":
            raise bad_request("there is no caption in the message to edit")
        caption, entities = formatted_text(call.params, CAPTION)
        return await self._apply_edit(
            chat,
            message,
            call.now,
            text=caption,
            entities=entities,
            reply_markup=check_reply_markup(call.params.get("reply_markup"), inline_only=True),
        )

    async def _edit_message_reply_markup(self, call: _Call) -> JSON:
        chat, message = self._editable(call.params)
        markup = check_reply_markup(call.params.get("reply_markup"), inline_only=True)
        return await self._apply_edit(chat, message, call.now, reply_markup=markup)

    async def _delete_message(self, call: _Call) -> bool:
        chat = self._chat(call.params)
        message_id = call.params.get("message_id")
        if not isinstance(message_id, int):
            raise bad_request("message identifier is not specified")
        if (
            chat.messages.pop(message_id, None) is None
            and chat.incoming.pop(message_id, None) is None
            and chat.service.pop(message_id, None) is None
        ):
            raise bad_request("message to delete not found")
        self._changed()
        self._notify("delete", chat_id=chat.id, message_id=message_id)
        return True

    async def _answer_callback_query(self, call: _Call) -> bool:
        query_id = call.params.get("callback_query_id")
        if query_id not in self._open_queries:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        text = call.params.get("text")
        if text is not None and len(str(text)) > MAX_CALLBACK_ANSWER_CHARS:
            raise bad_request("MESSAGE_TOO_LONG")
        self._open_queries.discard(query_id)
        self.callback_answers.append(dict(call.params))
        self._notify("callback_answer", **call.params)
        return True

    def _command_key(self, params: JSON) -> tuple[str, str]:
        scope = check_scope(params.get("scope"))
        if "chat_id" in scope:
            scope["chat_id"] = self._chat(scope).id
        language = str(params.get("language_code") or "")
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise bad_request("invalid language code specified")
        return json.dumps(scope, sort_keys=True), language

    async def _set_my_commands(self, call: _Call) -> bool:
        commands = check_commands(call.params.get("commands"))
        self._commands[self._command_key(call.params)] = commands
        return True

    async def _get_my_commands(self, call: _Call) -> list[JSON]:
        return self._commands.get(self._command_key(call.params), [])

    async def _delete_my_commands(self, call: _Call) -> bool:
        self._commands.pop(self._command_key(call.params), None)
        return True

    async def _get_chat(self, call: _Call) -> JSON:
        chat = self._chat(call.params)
        gifts = ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription")
        full = {
            **chat.summary(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {name: False for name in (*gifts, "gifts_from_channels")},
        }
        pinned = self._pinned_ids(chat)
        if pinned:
            full["pinned_message"] = self._any_message_json(chat, pinned[-1])
        return full

    async def _get_chat_member(self, call: _Call) -> JSON:
        chat = self._chat(call.params)
        user_id = call.params.get("user_id")
        if not isinstance(user_id, int):
            raise bad_request("user_id is empty")
        if user_id == self.bot_id or user_id in chat.admins:
            user = self._bot_user() if user_id == self.bot_id else self._users.get(user_id)
            return {
                "status": "administrator",
                "user": user or {"id": user_id, "is_bot": False, "first_name": "Admin"},
                **(chat.bot_rights if user_id == self.bot_id else ADMIN_RIGHTS),
                "can_manage_topics": chat.is_forum,
            }
        if user_id not in self._users:
            raise bad_request("user not found")
        status = "member" if user_id in chat.members else "left"
        return {"status": status, "user": self._users[user_id]}

    async def _set_chat_menu_button(self, call: _Call) -> bool:
        button = call.params.get("menu_button")
        if button is not None and (
            not isinstance(button, dict)
            or button.get("type") not in ("commands", "web_app", "default")
        ):
            raise bad_request("can't parse menu button: Unsupported type specified")
        if "chat_id" in call.params:
            self._chat(call.params)
        return True

    async def _answer_inline_query(self, call: _Call) -> bool:
        """answerInlineQuery: Client.cpp reads the button and results, tdlib checks texts and
        the start parameter, then Telegram checks the query id and the result ids."""
        params = call.params
        button = check_inline_results_button(params.get("button"))
        if params.get("switch_pm_text") is not None:
            raise bad_request("emulator: switch_pm_text is deprecated; use button")
        results = check_inline_results(params.get("results"))
        cache_time = params.get("cache_time", 300)
        if not isinstance(cache_time, int) or not 0 <= cache_time <= 86400:
            raise bad_request(
                f"emulator: cache_time {cache_time!r} is outside 0..86400; Telegram would clamp it"
            )
        next_offset = params.get("next_offset") or ""
        if not isinstance(next_offset, str):
            raise bad_request("emulator: next_offset must be a string")
        is_personal = params.get("is_personal", False)
        if isinstance(is_personal, str):
            is_personal = is_personal.strip().lower() in ("true", "1")
        query = self._inline_queries.get(str(params.get("inline_query_id", "")))
        if (
            query is None
            or query.answer is not None
            or call.now - query.created > self.inline_answer_timeout
        ):
            raise bad_request(QUERY_ID_INVALID)
        check_inline_answer(results, next_offset)
        query.answer = {
            "inline_query_id": query.id,
            "results": results,
            "cache_time": cache_time,
            "is_personal": bool(is_personal),
            "next_offset": next_offset,
            "button": button,
        }
        self.inline_answers.append(query.answer)
        return True

    def _check_pin_rights(self, chat: _Chat) -> None:
        """tdlib DialogManager::can_pin_messages: an admin right in groups (can_edit_messages
        in channels); anyone may pin in a private chat."""
        right = "can_edit_messages" if chat.type == "channel" else "can_pin_messages"
        if chat.type != "private" and not chat.bot_rights.get(right, True):
            raise bad_request(PIN_RIGHTS)

    async def _pin_chat_message(self, call: _Call) -> bool:
        """Pins a message; Telegram adds a "pinned_message" service message from the bot, which
        takes the chat's next message id (bots get no update for it)."""
        chat = self._chat(call.params)
        message_id = call.params.get("message_id")
        if message_id not in chat.messages and message_id not in chat.incoming:
            raise bad_request("message to pin not found")
        self._check_pin_rights(chat)
        if message_id in chat.pinned:
            chat.pinned.remove(message_id)
        chat.pinned.append(message_id)
        pinned = self._any_message_json(chat, message_id)
        pinned = {key: value for key, value in pinned.items() if key != "reply_to_message"}
        service: JSON = {
            "message_id": chat.take_message_id(),
            "from": self._bot_user(),
            "chat": chat.summary(),
            "date": int(time.time()),
            "pinned_message": pinned,
        }
        if "message_thread_id" in pinned:
            service.update(message_thread_id=pinned["message_thread_id"], is_topic_message=True)
        chat.service[service["message_id"]] = service
        self._changed()
        return True

    async def _unpin_chat_message(self, call: _Call) -> bool:
        """Unpins the message, or without message_id the newest pinned one."""
        chat = self._chat(call.params)
        message_id = call.params.get("message_id")
        if message_id is None:
            pinned = self._pinned_ids(chat)
            if not pinned:
                raise bad_request("message to unpin not found")
            message_id = pinned[-1]
        elif message_id not in chat.messages and message_id not in chat.incoming:
            raise bad_request("message to unpin not found")
        self._check_pin_rights(chat)
        if message_id in chat.pinned:
            chat.pinned.remove(message_id)
        self._changed()
        return True

    async def _unpin_all_chat_messages(self, call: _Call) -> bool:
        chat = self._chat(call.params)
        self._check_pin_rights(chat)
        chat.pinned.clear()
        self._changed()
        return True
