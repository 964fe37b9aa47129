"""A real headless Chromium from the OS packages, driven by Playwright, that reaches nothing
but 127.0.0.1. Missing Chromium or Playwright fails these tests: they are never skipped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, Route, sync_playwright

from tests.samples import ROOT

CHROMIUM = Path("/usr/bin/chromium")
# The machine's closed network: no background connections, no first-run work.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "test-artifacts"  # screenshots, kept by the run, ignored by git


# Per module, not per session: Playwright's sync API keeps its event loop running while it
# is open, and the async tests that follow need to start their own.
@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            tmp_path_factory.mktemp("chromium-profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            viewport={"width": 1280, "height": 860},
            locale="zh-CN",
        )
        context.route("**/*", _local_only)
        yield context
        context.close()


@pytest.fixture
def page(browser: BrowserContext) -> Iterator[Page]:
    opened = browser.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    opened.close()
    assert errors == [], f"the page's script failed: {errors}"


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=path)
    return path


def _local_only(route: Route) -> None:
    """Tests never reach the internet: a digest's cover elsewhere fails like an offline one."""
    if route.request.url.startswith(("http://127.0.0.1", "file:")):
        route.continue_()
    else:
        route.abort("addressunreachable")
