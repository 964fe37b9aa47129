"""`digest-bot`: run the bot, and check, preview, render and publish digests by hand."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from bot.config import ConfigError, ContentSettings, Settings, Target, load_settings
from bot.digest import Digest, DigestError, expand_paths, load_digest
from bot.logs import log_to_stderr
from bot.render import Message, Rendering, api_calls, render_with

if TYPE_CHECKING:
    from bot.publisher import Correction
    from bot.store import Store

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
NOTES_SHOWN = 3  # the newest never-posted digests `check` names
PARALLEL_FROM = 200  # files; below this a process pool costs more than it saves
_T = TypeVar("_T")

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
        status: int = args.command(args)
        sys.stdout.flush()  # here, where a closed pipe can still be caught
        return status
    except BrokenPipeError:
        # `digest-bot render … | head`: the reader has all it wanted. Point stdout at
        # /dev/null so that the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if exc.key == "telegram.token":
            print(_NO_TOKEN_HINT, file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


_NO_TOKEN_HINT = (
    "To see what would be posted without Telegram: digest-bot publish --dry-run\n"
    "(or: digest-bot render content/<file>.md)"
)


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

    run = commands.add_parser("run", help="run the bot: post digests on schedule, answer commands")
    run.set_defaults(command=_run)

    publish = commands.add_parser("publish", help="publish one digest now")
    which = publish.add_mutually_exclusive_group()
    which.add_argument("path", nargs="?", type=Path, help="a digest file (default: the newest)")
    which.add_argument("--date", type=dt.date.fromisoformat, help="the digest of YYYY-MM-DD")
    publish.add_argument("--dry-run", action="store_true", help="print what would be sent")
    mode = publish.add_mutually_exclusive_group()
    mode.add_argument("--force", action="store_true", help="post again even if published")
    mode.add_argument(
        "--update",
        action="store_true",
        help="edit the posted messages to match a changed file, instead of posting again",
    )
    publish.set_defaults(command=_publish)

    health = commands.add_parser("health", help="exit 0 if the running bot is healthy")
    health.set_defaults(command=_health)

    demo = commands.add_parser(
        "demo", help="try the bot in a local Telegram sandbox in the browser (no token needed)"
    )
    demo.add_argument("--port", type=int, default=8080, help="the chat view's port (8080)")
    demo.add_argument("--no-browser", action="store_true", help="do not open a browser")
    demo.set_defaults(command=_demo)

    page = commands.add_parser("preview", help="a web page of a digest as it would be posted")
    page.add_argument("path", type=Path)
    page.add_argument("--html", type=Path, required=True, metavar="OUT.html", help="write here")
    page.set_defaults(command=_preview_html)
    return parser


def _check(args: argparse.Namespace) -> int:
    settings = _settings(args)
    paths = list(expand_paths(args.paths or [settings.content.dir]))
    check = partial(_check_file, content=settings.content)
    failed = lossy = 0
    loaded: list[tuple[Path, str, dt.date, str]] = []
    for verdict, lines, identity in _map_over_cores(check, paths):
        failed += verdict == "FAIL"
        lossy += verdict == "LOSS"
        print("\n".join(lines))
        if identity is not None:
            loaded.append(identity)
    for line in asyncio.run(_never_posted_notes(settings, loaded)):
        print(line)
    ok = len(paths) - failed - lossy
    losing = f", {lossy} losing text" if lossy else ""
    print(f"{len(paths)} digest(s) checked: {ok} OK{losing}, {failed} failed")
    return EXIT_FAILED if failed or not paths else EXIT_OK


async def _never_posted_notes(
    settings: Settings, loaded: list[tuple[Path, str, dt.date, str]]
) -> list[str]:
    """Files whose day has passed without a publication: the schedule never posts them."""
    from bot.publishing import next_window
    from bot.store import Store

    now = dt.datetime.now(dt.UTC)
    past = [item for item in loaded if next_window(settings.publish, item[2], now) is None]
    if not past:
        return []
    posted: set[tuple[str, dt.date, str]] = set()
    if settings.storage.path.exists():
        async with await Store.open(settings.storage.path) as store:
            for _path, slug, day, content_hash in past:
                for target in settings.publish.targets:
                    found = await store.ledger.publication(
                        slug, target.chat, target.thread_id, day=day, content_hash=content_hash
                    )
                    if found is not None:
                        posted.add((slug, day, content_hash))
    never = [item for item in past if item[1:] not in posted]
    never.sort(key=lambda item: (item[2], item[1]), reverse=True)
    notes = [
        f"NOTE  {path}: dated {day}, past its day and never posted; it is not posted by "
        f"itself (digest-bot publish --date {day} posts it)"
        for path, _, day, _ in never[:NOTES_SHOWN]
    ]
    if len(never) > NOTES_SHOWN:
        notes.append(f"NOTE  and {len(never) - NOTES_SHOWN} older digest(s) never posted")
    return notes


def _check_file(
    path: Path, *, content: ContentSettings
) -> tuple[str, list[str], tuple[Path, str, dt.date, str] | None]:
    """One digest's verdict ("OK", "LOSS": renders but drops visible text, "FAIL"), the
    lines `check` prints for it, and what identifies it (path, slug, date, content hash);
    runs in a worker process."""
    try:
        digest = load_digest(
            path, content_dir=_content_dir(path, content.dir), max_bytes=content.max_bytes
        )
        rendering = render_with(digest, content)
    except DigestError as exc:
        return "FAIL", [f"FAIL  {exc}"], None
    longest = max(rendering.messages, key=lambda m: m.length / m.limit)
    verdict = "LOSS" if rendering.lost else "OK"
    lines = [
        f"{verdict:<6}{path}: {len(rendering.messages)} messages, "
        f"longest {longest.length}/{longest.limit}"
    ]
    lines += [f"LOST  {path}: {note}" for note in rendering.lost]
    lines += [f"WARN  {path}: {note}" for note in digest.warnings]
    lines += [f"NOTE  {path}: {note}" for note in rendering.dropped]
    return verdict, lines, (path, digest.slug, digest.date, digest.content_hash)


def _load_and_render(path: Path, settings: Settings) -> tuple[Digest, Rendering] | None:
    """One file as `render` and `preview` show it; None once its error is printed."""
    try:
        digest = load_digest(
            path,
            content_dir=_content_dir(path, settings.content.dir),
            max_bytes=settings.content.max_bytes,
        )
        return digest, render_with(digest, settings.content)
    except DigestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def _map_over_cores(work: Callable[[Path], _T], paths: list[Path]) -> Iterator[_T]:
    """In order; across the machine's cores when there are enough files to pay for it."""
    if len(paths) < PARALLEL_FROM or (os.cpu_count() or 1) < 2:
        yield from map(work, paths)
        return
    with ProcessPoolExecutor() as pool:
        yield from pool.map(work, paths, chunksize=64)


def _render(args: argparse.Namespace) -> int:
    loaded = _load_and_render(args.path, _settings(args))
    if loaded is None:
        return EXIT_FAILED
    _, rendering = loaded
    if args.json:
        print(json.dumps(api_calls(rendering.messages), ensure_ascii=False, indent=2))
    else:
        print(preview(rendering))
    for note in rendering.lost:
        print(f"lost: {note}", file=sys.stderr)
    return EXIT_OK


def preview(rendering: Rendering) -> str:
    """A readable view of each message: kind, length, entities, and the text with tags."""
    total = len(rendering.messages)
    blocks = []
    for number, message in enumerate(rendering.messages, 1):
        kind = "photo + caption" if message.photo else "text"
        head = (
            f"── {number}/{total} · {message.method} · {kind} {message.length}/{message.limit}"
            f" · {len(message.entities)} entit{'y' if len(message.entities) == 1 else 'ies'} ──"
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


def _run(args: argparse.Namespace) -> int:
    from telegram.error import InvalidToken, NetworkError

    from bot import preflight
    from bot.app import run
    from bot.instance import AlreadyRunning

    settings = _settings(args)
    settings.require_token()
    preflight.check(settings)
    if not settings.content.dir.is_dir():  # not fatal: the archive is served as it is
        print(f"warning: content.dir: {settings.content.dir} does not exist yet", file=sys.stderr)
    log_to_stderr(settings)
    try:
        asyncio.run(run(settings))
    except sqlite3.DatabaseError as exc:
        raise preflight.database_error(settings, exc) from None
    except AlreadyRunning as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except InvalidToken:
        print("error: Telegram refused the token (telegram.token)", file=sys.stderr)
        return EXIT_USAGE
    except NetworkError as exc:
        print(f"error: cannot reach the Telegram Bot API: {exc.message}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _publish(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.dry_run:
        return asyncio.run(_dry_run(args, settings))
    settings.require_token()
    log_to_stderr(settings)
    try:
        return asyncio.run(_publish_now(args, settings))
    except sqlite3.DatabaseError as exc:
        from bot import preflight

        raise preflight.database_error(settings, exc) from None


async def _dry_run(args: argparse.Namespace, settings: Settings) -> int:
    """What `publish` would post, message by message; nothing is sent, no token needed."""
    from bot.store import Store

    async with await Store.open(settings.storage.path) as store:
        digest = await _chosen_digest(args, settings, store)
        if digest is None:
            return EXIT_FAILED
        verdict = await _would(settings, store, digest, dt.datetime.now(dt.UTC))
    rendering = render_with(digest, settings.content)
    print(f"{verdict}:\n")
    print(preview(rendering))
    return EXIT_OK


async def _would(settings: Settings, store: Store, digest: Digest, now: dt.datetime) -> str:
    """Whether and when the schedule would post this digest, or that it was posted."""
    from bot.publishing import next_window

    publish = settings.publish
    targets = ", ".join(map(str, publish.targets))
    found = [
        await store.ledger.publication(
            digest.slug, t.chat, t.thread_id, day=digest.date, content_hash=digest.content_hash
        )
        for t in publish.targets
    ]
    if all(p is not None and p.done for p in found):
        return f"{digest.path} is already posted to {targets}; nothing would be sent"
    unfinished = next((p for p in found if p is not None and not p.done), None)
    if unfinished is not None:
        return (
            f"would resume {digest.path} in {targets}: {unfinished.sent_count} of "
            f"{len(unfinished.parts)} part(s) are already there, the rest would follow"
        )
    window = next_window(publish, digest.date, now)
    if window is None:
        return (
            f"would not post {digest.path} by itself: it is dated {digest.date}, whose "
            f"publishing window has passed (post it on purpose: digest-bot publish "
            f"--date {digest.date})"
        )
    if window <= now:
        return f"would post {digest.path} to {targets} now"
    when = window.astimezone(publish.timezone).strftime("%Y-%m-%d %H:%M %Z")
    return f"would post {digest.path} to {targets} at {when}"


async def _publish_now(args: argparse.Namespace, settings: Settings) -> int:
    """One publication (or correction) through the running bot's own path and ledger."""
    from telegram.error import TelegramError

    from bot.app import build_bot
    from bot.instance import AlreadyRunning, InstanceLock
    from bot.publishing import correct_everywhere, publish_everywhere
    from bot.services import Services
    from bot.store import Store

    try:
        lock = InstanceLock.acquire(settings.storage.path)
    except AlreadyRunning as exc:
        print(f"error: {exc} (or use /publish in Telegram)", file=sys.stderr)
        return EXIT_FAILED
    with lock:
        try:
            async with await Store.open(settings.storage.path) as store:
                digest = await _chosen_digest(args, settings, store)
                if digest is None:
                    return EXIT_FAILED
                if _unasked_old(args, settings, digest):
                    print(
                        f"error: no digest is due; the newest, {digest.path}, is dated "
                        f"{digest.date}, past its day (post it on purpose: digest-bot "
                        f"publish --date {digest.date})",
                        file=sys.stderr,
                    )
                    return EXIT_FAILED
                async with build_bot(settings) as bot:
                    services = Services.create(settings, store, bot)
                    if args.update:
                        return _print_corrections(
                            digest, await correct_everywhere(services, digest)
                        )
                    outcomes = await publish_everywhere(
                        services, digest, force=args.force, by=f"the command line ({_user()})"
                    )
        except DigestError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_FAILED
        except TelegramError as exc:
            print(f"error: Telegram: {exc.message}", file=sys.stderr)
            return EXIT_FAILED
    failed = False
    for target, outcome in outcomes:
        total = len(outcome.publication.parts)
        if outcome.error:
            failed = True
            print(f"{target}: paused after {outcome.sent} new part(s) of {total}: {outcome.error}")
        elif outcome.sent == 0:
            print(f"{digest.slug} was already published to {target} (use --force to post again)")
        else:
            print(
                f"published {digest.slug} to {target}: {outcome.sent} of {total} part(s) sent now"
            )
    return EXIT_FAILED if failed else EXIT_OK


def _unasked_old(args: argparse.Namespace, settings: Settings, digest: Digest) -> bool:
    """`publish` with neither a file nor a date posts the due digest, never an old one."""
    from bot.publishing import next_window

    if args.path is not None or args.date is not None or args.update:
        return False
    return next_window(settings.publish, digest.date, dt.datetime.now(dt.UTC)) is None


def _user() -> str:
    """Who ran the command, for the log."""
    try:
        return os.getlogin()
    except OSError:
        return f"uid {os.getuid()}"


def _print_corrections(digest: Digest, corrections: list[tuple[Target, Correction]]) -> int:
    refused = False
    for target, correction in corrections:
        if correction.refused:
            refused = True
            print(
                f"{target}: cannot edit {digest.slug} in place: {correction.refused} "
                f"({correction.edited} edited); use --force to post it again"
            )
        else:
            print(
                f"{target}: edited {correction.edited} message(s) of {digest.slug}, "
                f"{correction.unchanged} unchanged"
            )
    return EXIT_FAILED if refused else EXIT_OK


def _health(args: argparse.Namespace) -> int:
    from bot.health import problems

    found = asyncio.run(problems(_settings(args), dt.datetime.now(dt.UTC)))
    for problem in found:
        print(f"UNHEALTHY  {problem}")
    if not found:
        print("OK")
    return EXIT_FAILED if found else EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    from bot.sandbox.demo import main as demo

    return demo(args.config, port=args.port, open_browser=not args.no_browser)


def _preview_html(args: argparse.Namespace) -> int:
    from bot.sandbox.web import preview_page

    loaded = _load_and_render(args.path, _settings(args))
    if loaded is None:
        return EXIT_FAILED
    digest, rendering = loaded
    args.html.write_text(preview_page(rendering.messages, title=digest.title), encoding="utf-8")
    print(f"wrote {args.html}: {len(rendering.messages)} messages as they would be posted")
    return EXIT_OK


async def _chosen_digest(
    args: argparse.Namespace, settings: Settings, store: Store
) -> Digest | None:
    """The file named, else the indexed digest of --date, else the one due now: the same
    rule as the schedule's and /publish's (publishing.py)."""
    from bot.publishing import chosen_entry, sync_index

    content = settings.content
    if args.path is not None:
        path = args.path
    else:
        for path, reason in (await sync_index(store, content)).failures:
            print(f"skipping {path}: {reason}", file=sys.stderr)
        entry = await chosen_entry(store.archive, settings.publish, day=args.date)
        if entry is None:
            day = args.date.isoformat() if args.date else "today or earlier"
            print(f"error: no digest dated {day} in {content.dir}", file=sys.stderr)
            return None
        path = entry.path
    try:
        return load_digest(
            path, content_dir=_content_dir(path, content.dir), max_bytes=content.max_bytes
        )
    except DigestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


def _content_dir(path: Path, content_dir: Path) -> Path:
    """Covers resolve against the configured content folder when the file is in it."""
    root = content_dir.resolve()
    return root if path.resolve().is_relative_to(root) else path.parent
