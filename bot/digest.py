"""One digest file: YAML front matter plus a Markdown body, loaded and validated.

Everything that can be wrong with a file is found here, once, and reported as a
`DigestError` naming the file and the reason, so that nothing downstream has to
second-guess its input.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import frontmatter
import yaml

DEFAULT_MAX_BYTES = 1024 * 1024
MAX_TITLE_LENGTH = 256
DIGEST_SUFFIXES = (".md", ".markdown")

_FRONT_MATTER = frontmatter.YAMLHandler()
_SLUG_UNSAFE = re.compile(r"[^a-z0-9_-]+")
_TAG_SEPARATORS = re.compile(r"[,，、]")
# Telegram deep-link payloads and callback data are short; "d_" + slug must fit 64 bytes.
_MAX_SLUG = 56


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

    @property
    def cover_is_url(self) -> bool:
        return self.cover is not None and self.cover.startswith(("http://", "https://"))


def digest_paths(folder: Path) -> list[Path]:
    """The digest files in a folder, sorted by name; hidden files are ignored."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.suffix.lower() in DIGEST_SUFFIXES
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
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
    date = _date(path, meta.get("date"))
    body = content.strip("\n")
    if not body.strip():
        raise DigestError(path, "the body is empty")

    return Digest(
        path=path,
        slug=slug_for(path, date),
        title=title,
        date=date,
        body=body,
        category=_text(path, meta, "category"),
        tags=_string_list(path, meta, "tags"),
        seo=_string_list(path, meta, "seo"),
        cover=_cover(meta.get("coverImage"), content_dir, warnings),
        summary=_summary(path, meta.get("summary")),
        content_hash=hashlib.sha256(data).hexdigest(),
        warnings=tuple(warnings),
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


def _date(path: Path, value: object) -> dt.date:
    if value is None:
        raise DigestError(path, "front matter has no 'date'")
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        raw = value.strip()
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            pass
        try:
            return dt.datetime.fromisoformat(raw).date()
        except ValueError:
            pass
    raise DigestError(path, f"'date' {str(value)[:40]!r} is not a date like 2026-02-21")


def _text(path: Path, meta: dict, key: str) -> str:
    value = meta.get(key)
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        raise DigestError(path, f"'{key}' must be text")
    return " ".join(str(value).split())


def _string_list(path: Path, meta: dict, key: str) -> tuple[str, ...]:
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


def _cover(value: object, content_dir: Path, warnings: list[str]) -> str | None:
    """An absolute http(s) URL, or an existing file inside the content folder."""
    if value is None or value == "":
        return None
    raw = str(value).strip()
    parts = urlsplit(raw)
    if parts.scheme in ("http", "https"):
        if "." not in (parts.hostname or ""):
            warnings.append(f"coverImage {raw!r} has no valid host; posting a text cover")
            return None
        return raw
    if parts.scheme or raw.startswith("/"):
        warnings.append(f"coverImage {raw!r} is neither an http(s) URL nor a relative path")
        return None
    root = content_dir.resolve()
    file = (root / raw).resolve()
    if not file.is_relative_to(root):
        warnings.append(f"coverImage {raw!r} points outside the content folder")
        return None
    if not file.is_file():
        warnings.append(f"coverImage {raw!r} does not exist; posting a text cover")
        return None
    return str(file)
