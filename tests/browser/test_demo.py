"""`digest-bot demo` as a person uses it: a child process, its chat view in Chromium.

The tests share one demo and run in order, as one visit: the publication in the group topic,
/latest and the archive in the member's private chat, the deep link from the group card, and
Ctrl-C at the end.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from bot.sandbox.demo import ADMIN, BOT_USERNAME, DIGEST_TOPIC, GROUP, MEMBER
from tests.browser.conftest import screenshot
from tests.samples import SAMPLE, write_digest

COVER = "https://ssl.aicode.cc/n8n/2026/02-20/23-32-00-hUT1w1vq.png"
HEADINGS = [
    "AI 模型升级与技术突破",
    "AI 资本战：千亿美元融资与战略布局",
    "AI 应用落地与行业动态",
    "AI 技术局限与挑战",
    "更多动态",
]
LINK = "https://openai.com/index/gpt-5/"
OLDER = 9  # digests besides the sample: an archive of two pages (8 a page)
SLOW = 30_000  # ms: the bot paces itself at Telegram's 1 message/s per chat


@dataclass
class Demo:
    process: subprocess.Popen[str]
    url: str
    port: int
    tmp: Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _environment(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_BOT_")}
    return env | {"TMPDIR": str(tmp)}


def _content(folder: Path) -> None:
    """The bundled sample with a link added, and older digests for a second archive page."""
    content = folder / "content"
    content.mkdir()
    sample = SAMPLE.read_text(encoding="utf-8")
    (content / SAMPLE.name).write_text(
        sample + f"\n\n延伸阅读：[OpenAI 发布说明]({LINK})\n", encoding="utf-8"
    )
    for day in range(1, OLDER + 1):
        write_digest(
            content,
            front=f"title: 往期日报 {day}\ndate: 2026-01-{day:02d}",
            body=f"## 第 {day} 期\n\n正文",
            name=f"2026-01-{day:02d}-old.md",
        )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    folder = tmp_path_factory.mktemp("demo")
    _content(folder)
    tmp = folder / "tmp"
    tmp.mkdir()
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "demo", "--no-browser", "--port", str(port)],
        cwd=folder,
        env=_environment(tmp),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready, _, _ = select.select([process.stdout], [], [], 30)
        assert ready, "the demo printed no address within 30 s"
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("Telegram sandbox: "), line + process.stderr.read()  # type: ignore[union-attr]
        url = line.split()[2]
        assert url == f"http://127.0.0.1:{port}/"
        yield Demo(process, url, port, tmp)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def visit(browser: BrowserContext, demo: Demo) -> Iterator[Page]:
    """One tab kept open through the visit, as a person would."""
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(demo.url)
    yield page
    page.close()
    assert errors == [], f"the page's script failed: {errors}"


def open_chat(page: Page, key: str) -> None:
    page.locator(f'.chat-item[data-key="{key}"]').click()
    expect(page.locator(".chat-item.active")).to_have_attribute("data-key", key)


def write(page: Page, text: str) -> None:
    page.locator(".composer .input").fill(text)
    page.locator(".composer .input").press("Enter")


def bot_messages(page: Page):
    return page.locator(".message-list .message.in")


def test_the_group_topic_shows_the_publication(visit: Page) -> None:
    open_chat(visit, f"{GROUP}:{DIGEST_TOPIC}")
    messages = visit.locator(".message-list .message")
    expect(messages).to_have_count(6, timeout=SLOW)
    cover = messages.nth(0)
    expect(cover.locator(".text b").first).to_have_text(
        "AI 军备竞赛升级：千亿融资频现，模型能力突破与局限并存"
    )
    expect(cover.locator(".text")).to_contain_text("谷歌发布 Gemini 3.1 Pro")
    expect(cover.locator(".text")).to_contain_text("#AI日报")
    # The cover lives on the internet, which the test browser cannot reach.
    expect(cover.locator(".photo-missing .photo-url")).to_have_text(COVER)
    headings = [messages.nth(i).locator(".text > b > u").first for i in range(1, 6)]
    assert [heading.inner_text() for heading in headings] == HEADINGS
    expect(messages.nth(1).locator(".text b")).not_to_have_count(1)  # more bold than the heading
    link = visit.locator(f'.message-list .text a[href="{LINK}"]')
    expect(link).to_have_text("OpenAI 发布说明")
    expect(link).to_have_attribute("target", "_blank")
    expect(visit.locator(".chat-head .chat-title")).to_have_text("Daily digest")
    visit.locator(".messages").evaluate("box => box.scrollTop = 0")
    screenshot(visit, "group-topic")


def test_latest_in_the_members_private_chat_brings_the_digest(visit: Page) -> None:
    open_chat(visit, str(MEMBER.id))
    expect(visit.locator(".composer-sender-fixed")).to_have_text(MEMBER.name)
    write(visit, "/latest")
    expect(visit.locator(".message-list .message.out .text")).to_contain_text("/latest")
    expect(bot_messages(visit)).to_have_count(6, timeout=SLOW)
    expect(bot_messages(visit).nth(0).locator(".photo-missing")).to_be_visible()
    expect(bot_messages(visit).nth(5).locator(".text > b > u").first).to_have_text("更多动态")
    screenshot(visit, "private-chat")


def test_an_archive_button_pages_in_place_and_answers_with_a_toast(visit: Page) -> None:
    write(visit, "/archive")
    listing = bot_messages(visit).nth(6)
    expect(listing.locator(".text")).to_contain_text("第 1/2 页", timeout=SLOW)
    count = visit.locator(".message-list .message").count()
    listing.locator(".kb-button", has_text="下一页").click()
    expect(listing.locator(".text")).to_contain_text("第 2/2 页")
    expect(listing.locator(".meta")).to_contain_text("edited")
    expect(visit.locator(".message-list .message")).to_have_count(count)
    listing.locator(".kb-button", has_text="上一页").click()
    expect(listing.locator(".text")).to_contain_text("第 1/2 页")
    screenshot(visit, "archive")
    # A full digest was just sent, and the member asks for it again: a person's pace is
    # never refused; it comes again, whole.
    before = bot_messages(visit).count()
    listing.locator(".kb-button", has_text="02-21").click()
    expect(bot_messages(visit)).to_have_count(before + 6, timeout=SLOW)


def test_the_group_cards_deep_link_opens_the_private_chat_and_starts(visit: Page) -> None:
    open_chat(visit, f"{GROUP}:general")
    visit.locator("select.composer-sender").select_option(str(ADMIN.id))
    write(visit, "/latest")
    button = visit.locator(".message-list .kb-url", has_text="📖")
    expect(button).to_have_attribute("target", "_blank", timeout=SLOW)
    href = button.get_attribute("href") or ""
    assert href.startswith(f"https://t.me/{BOT_USERNAME}?start=d_")
    button.click()
    expect(visit.locator(".chat-item.active")).to_have_attribute("data-key", str(ADMIN.id))
    payload = href.split("start=", 1)[1]
    expect(visit.locator(".message-list .message.out .text")).to_contain_text(f"/start {payload}")
    # A first contact: a one-line welcome pointing to /help, then the whole digest.
    expect(bot_messages(visit)).to_have_count(7, timeout=SLOW)
    expect(bot_messages(visit).nth(0).locator(".text")).to_contain_text("/help")
    expect(bot_messages(visit).nth(1).locator(".photo-missing")).to_be_visible()
    visit.locator(".messages").evaluate("box => box.scrollTop = 0")
    screenshot(visit, "deep-link")


def test_a_second_demo_on_the_same_port_says_so_in_one_line(demo: Demo) -> None:
    taken = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--no-browser", "--port", str(demo.port)],
        env=_environment(demo.tmp),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert taken.returncode == 2
    assert taken.stderr.splitlines() == [
        f"error: port {demo.port} is in use; try digest-bot demo --port N"
    ]


def test_ctrl_c_stops_everything_and_leaves_nothing_behind(demo: Demo) -> None:
    demo.process.send_signal(signal.SIGINT)
    out, err = demo.process.communicate(timeout=20)
    assert demo.process.returncode == 0, err
    assert "Traceback" not in err, err
    assert "sandbox stopped" in out
    assert list(demo.tmp.iterdir()) == []
