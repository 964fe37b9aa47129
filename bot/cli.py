"""`digest-bot`: check, preview and render digests from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.digest import DigestError, expand_paths, load_digest
from bot.render import Message, Rendering, api_calls, render_digest

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

# How `render` shows formatting: Telegram-HTML-like tags, for reading, not for sending.
_TAGS = {
    "bold": ("<b>", "</b>"),
    "italic": ("<i>", "</i>"),
    "underline": ("<u>", "</u>"),
    "strikethrough": ("<s>", "</s>"),
    "spoiler": ("<tg-spoiler>", "</tg-spoiler>"),
    "code": ("<code>", "</code>"),
    "blockquote": ("<blockquote>", "</blockquote>"),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.command(args)
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digest-bot", description="Post a daily Markdown digest to a Telegram group."
    )
    parser.add_argument(
        "--config",
        type=Path,
        help="configuration file (default: $DIGEST_BOT_CONFIG or ./config.toml)",
    )
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    check = commands.add_parser("check", help="validate digests and count their messages")
    check.add_argument("paths", nargs="*", type=Path, help="files or folders (default: content)")
    check.set_defaults(command=_check)

    render = commands.add_parser("render", help="show the messages a digest becomes")
    render.add_argument("path", type=Path)
    render.add_argument("--json", action="store_true", help="print the exact Bot API calls")
    render.set_defaults(command=_render)
    return parser


def _check(args: argparse.Namespace) -> int:
    settings = _settings(args)
    paths = list(expand_paths(args.paths or [settings.content.dir]))
    failed = 0
    for path in paths:
        try:
            digest = load_digest(
                path, content_dir=_content_dir(path, settings), max_bytes=settings.content.max_bytes
            )
            rendering = render_digest(digest, max_messages=settings.content.max_messages)
        except DigestError as exc:
            failed += 1
            print(f"FAIL  {exc}")
            continue
        longest = max(rendering.messages, key=lambda m: m.length / m.limit)
        print(
            f"OK    {path}: {len(rendering.messages)} messages, "
            f"longest {longest.length}/{longest.limit}"
        )
        for note in (*digest.warnings, *(f"{d} (dropped)" for d in rendering.dropped)):
            print(f"WARN  {path}: {note}")
    print(f"{len(paths)} digest(s) checked: {len(paths) - failed} OK, {failed} failed")
    return EXIT_FAILED if failed or not paths else EXIT_OK


def _render(args: argparse.Namespace) -> int:
    settings = _settings(args)
    try:
        digest = load_digest(
            args.path,
            content_dir=_content_dir(args.path, settings),
            max_bytes=settings.content.max_bytes,
        )
        rendering = render_digest(digest, max_messages=settings.content.max_messages)
    except DigestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps(api_calls(rendering.messages), ensure_ascii=False, indent=2))
    else:
        print(preview(rendering))
    return EXIT_OK


def preview(rendering: Rendering) -> str:
    """A readable view of each message: kind, length, entities, and the text with tags."""
    total = len(rendering.messages)
    blocks = []
    for number, message in enumerate(rendering.messages, 1):
        kind = "photo + caption" if message.photo else "text"
        head = (
            f"── {number}/{total} · {message.method} · {kind} {message.length}/{message.limit}"
            f" · {len(message.entities)} entities ──"
        )
        lines = [head]
        if message.photo:
            lines.append(f"[photo: {message.photo}]")
        lines.append(tagged(message))
        blocks.append("\n".join(lines))
    blocks.extend(f"(dropped) {note}" for note in rendering.dropped)
    return "\n\n".join(blocks)


def tagged(message: Message) -> str:
    """The message text with its entities shown as tags."""
    units = message.text.encode("utf-16-le")
    inserts: dict[int, list[str]] = {}
    for entity in message.entities:
        if entity.type == "text_link":
            start, end = f'<a href="{entity.url}">', "</a>"
        elif entity.type == "pre":
            language = f' class="language-{entity.language}"' if entity.language else ""
            start, end = f"<pre{language}>", "</pre>"
        else:
            start, end = _TAGS.get(entity.type, (f"<{entity.type}>", f"</{entity.type}>"))
        inserts.setdefault(entity.offset, []).append(start)
        inserts.setdefault(entity.offset + entity.length, []).insert(0, end)
    out = []
    previous = 0
    for offset in sorted(inserts):
        out.append(units[previous * 2 : offset * 2].decode("utf-16-le"))
        out.extend(inserts[offset])
        previous = offset
    out.append(units[previous * 2 :].decode("utf-16-le"))
    return "".join(out)


def _settings(args: argparse.Namespace):
    from bot.config import ConfigError, load_settings

    try:
        return load_settings(args.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from None


def _content_dir(path: Path, settings) -> Path:
    """Covers resolve against the configured content folder when the file is in it."""
    root = settings.content.dir.resolve()
    return root if path.resolve().is_relative_to(root) else path.parent
