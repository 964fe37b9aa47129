"""The entity renderer in a real browser, on a page of crafted messages (`preview_page`)."""

from __future__ import annotations

import struct
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from bot.digest import load_digest
from bot.render import Entity, Message, api_calls, render_digest
from bot.sandbox.web import preview_page
from tests.browser.conftest import screenshot
from tests.samples import SAMPLE

SPOILER = "秘密答案"
# "😀" is two UTF-16 units: every offset after it is one more than its index in code points.
TEXT = (
    f"😀 粗体 斜体 下划线 删除线 {SPOILER} code 链接 #AI日报\n"
    "print('你好')\n"
    "引用\n"
    "第一行\n第二行\n第三行\n第四行\n第五行\n"
    '<img src=x onerror="window.hacked=1">'
)


def _entities() -> tuple[Entity, ...]:
    def at(piece: str, kind: str, **extra: str) -> Entity:
        start = TEXT.index(piece)
        offset = len(TEXT[:start].encode("utf-16-le")) // 2
        return Entity(kind, offset, len(piece.encode("utf-16-le")) // 2, **extra)

    return (
        at("粗体", "bold"),
        at("斜体", "italic"),
        at("下划线", "underline"),
        at("删除线", "strikethrough"),
        at(SPOILER, "spoiler"),
        at("code", "code"),
        at("链接", "text_link", url="https://example.com/链接"),
        at("print('你好')", "pre", language="python"),
        at("引用", "blockquote"),
        at("第一行\n第二行\n第三行\n第四行\n第五行", "expandable_blockquote"),
    )


def _png() -> bytes:
    """A 2×2 grey PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 2, 2, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x80\x80" * 2)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def image_server() -> Iterator[str]:
    """A cover on 127.0.0.1, served by the test."""
    png = _png()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(png)))
            self.end_headers()
            self.wfile.write(png)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/cover.png"
    server.shutdown()
    server.server_close()


@pytest.fixture
def crafted(page: Page, tmp_path: Path, image_server: str) -> Page:
    refused = "http://127.0.0.1:9/refused.png"  # the discard port: nothing listens
    messages = [
        Message("封面 caption", (Entity("bold", 0, 2),), photo=image_server),
        Message("拿不到的封面", photo=refused),
        Message(TEXT, _entities()),
    ]
    path = tmp_path / "crafted.html"
    path.write_text(preview_page(messages, title="测试 <页>"), encoding="utf-8")
    page.goto(path.as_uri())
    return page


def test_each_message_is_one_bubble_and_blocks_end_their_line(crafted: Page) -> None:
    expect(crafted.locator(".message .bubble")).to_have_count(3)
    quote = crafted.locator("blockquote:not(.expandable)")
    # The newline after a block is its end, not an empty line before the next block.
    gap = quote.evaluate(
        "q => q.nextElementSibling.getBoundingClientRect().top - q.getBoundingClientRect().bottom"
    )
    assert 0 <= gap < 12
    screenshot(crafted, "crafted")


def test_formatting_is_drawn_from_utf16_offsets(crafted: Page) -> None:
    text = crafted.locator(".message").nth(2).locator(".text")
    expect(text.locator("b")).to_have_text("粗体")
    expect(text.locator("i")).to_have_text("斜体")
    expect(text.locator("u")).to_have_text("下划线")
    expect(text.locator("s")).to_have_text("删除线")
    expect(text.locator("code").first).to_have_text("code")
    link = text.locator("a", has_text="链接")
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("href", "https://example.com/链接")
    expect(text.locator("pre .pre-language")).to_have_text("python")
    expect(text.locator("pre code")).to_have_text("print('你好')")
    expect(text.locator("blockquote:not(.expandable)")).to_have_text("引用")
    expect(crafted).to_have_title("测试 <页>")


def test_message_text_is_never_html(crafted: Page) -> None:
    text = crafted.locator(".message").nth(2).locator(".text")
    expect(text).to_contain_text('<img src=x onerror="window.hacked=1">')
    expect(text.locator("img")).to_have_count(0)
    assert crafted.evaluate("window.hacked") is None


def test_spoiler_is_hidden_until_clicked(crafted: Page) -> None:
    spoiler = crafted.locator(".spoiler")
    expect(spoiler).to_have_text(SPOILER)  # in the page, but not to be seen:
    assert spoiler.evaluate("e => getComputedStyle(e).color") == "rgba(0, 0, 0, 0)"
    expect(spoiler).not_to_have_class("spoiler revealed")
    spoiler.click()
    expect(spoiler).to_have_class("spoiler revealed")
    assert spoiler.evaluate("e => getComputedStyle(e).color") != "rgba(0, 0, 0, 0)"


def test_expandable_blockquote_opens_on_click(crafted: Page) -> None:
    quote = crafted.locator("blockquote.expandable")
    expect(quote).to_have_class("expandable collapsed")
    collapsed = quote.bounding_box()
    quote.click()
    expect(quote).to_have_class("expandable")
    opened = quote.bounding_box()
    assert collapsed and opened and opened["height"] > collapsed["height"]


def test_photos_load_or_name_the_url_they_came_from(crafted: Page, image_server: str) -> None:
    loaded = crafted.locator(".message").nth(0).locator(".photo img")
    expect(loaded).to_have_attribute("src", image_server)
    loaded.evaluate("img => img.decode()")
    assert loaded.evaluate("img => img.naturalWidth") == 2
    expect(crafted.locator(".message").nth(0).locator(".text b")).to_have_text("封面")
    missing = crafted.locator(".message").nth(1).locator(".photo-missing")
    expect(missing.locator(".photo-url")).to_have_text("http://127.0.0.1:9/refused.png")
    expect(crafted.locator(".message").nth(1).locator(".text")).to_contain_text("拿不到的封面")


def test_preview_html_shows_exactly_what_would_be_posted(page: Page, tmp_path: Path) -> None:
    out = tmp_path / "preview.html"
    done = subprocess.run(
        [sys.executable, "-m", "bot", "preview", str(SAMPLE), "--html", str(out)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"wrote {out}: 6 messages as they would be posted\n"
    page.goto(out.as_uri())
    messages = page.locator(".message")
    expect(messages).to_have_count(6)
    calls = api_calls(render_digest(load_digest(SAMPLE)).messages)
    for number, call in enumerate(calls):
        expect(messages.nth(number).locator(".text")).to_contain_text(
            (call.get("text") or call["caption"]).splitlines()[0]
        )
    expect(messages.nth(0).locator(".photo-url")).to_have_text(calls[0]["photo"])
    expect(page.locator(".message .text > b > u")).to_have_count(5)
    screenshot(page, "preview")
