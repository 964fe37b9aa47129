"""The content.* keys that shape rendering, and what `check` and `render` make of them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import _check_file
from bot.config import ConfigError, load_settings
from tests.samples import SAMPLE, write_digest


def settings_with(tmp_path: Path, content: str):
    path = tmp_path / "config.toml"
    path.write_text(f"[content]\n{content}\n", encoding="utf-8")
    return load_settings(path, env={})


def test_defaults(tmp_path: Path) -> None:
    content = settings_with(tmp_path, "").content
    assert (content.drop_html, content.line_breaks) == (("telegram-card",), "auto")


def test_values_and_errors_name_the_key(tmp_path: Path) -> None:
    content = settings_with(
        tmp_path, 'drop_html = ["ad", "promo-box"]\nline_breaks = "join"'
    ).content
    assert (content.drop_html, content.line_breaks) == (("ad", "promo-box"), "join")
    with pytest.raises(ConfigError, match=r"content\.line_breaks"):
        settings_with(tmp_path, 'line_breaks = "wrap"')
    with pytest.raises(ConfigError, match=r"content\.drop_html\[0\]"):
        settings_with(tmp_path, 'drop_html = ["not a class"]')


def test_check_is_ok_with_a_drop_html_note_and_loss_with_lost_text(tmp_path: Path) -> None:
    content = settings_with(tmp_path, "").content
    verdict, lines, _ = _check_file(SAMPLE, content=content)
    assert verdict == "OK" and lines[1].startswith(f"NOTE  {SAMPLE}: line 181:")
    lossy = write_digest(tmp_path, body="## 节\n\n<svg><text>图中字</text></svg>")
    verdict, lines, _ = _check_file(lossy, content=content)
    assert verdict == "LOSS"
    assert lines[1] == f"LOST  {lossy}: line 7: text in <svg> not shown: 图中字"


def test_render_into_a_closed_pipe_exits_quietly() -> None:
    shell = f"{sys.executable} -m bot render {SAMPLE} | head -1"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", shell], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr
