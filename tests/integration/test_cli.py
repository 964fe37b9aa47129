"""The command line as an operator uses it: real processes, real files, the emulator."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.digest import load_digest
from bot.render import api_calls, render_digest
from bot.sandbox.telegram_api import TelegramEmulator
from tests.helpers import GROUP, write_config
from tests.samples import SAMPLE, make_due, write_digest


async def digest_bot(*args: str | Path, cwd: Path | None = None) -> tuple[int, str, str]:
    """Run `python -m bot` in a child process; (exit status, stdout, stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_BOT_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *map(str, args),
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert b"Traceback" not in err, err.decode()
    return process.returncode or 0, out.decode(), err.decode()


async def test_check_reports_each_file_and_fails_on_a_broken_one(tmp_path: Path) -> None:
    good = tmp_path / SAMPLE.name
    good.write_bytes(SAMPLE.read_bytes())
    write_digest(tmp_path, front="title: 没有日期", name="broken.md")
    status, out, _ = await digest_bot("check", tmp_path, cwd=tmp_path)
    lines = out.splitlines()
    assert status == 1
    assert lines[0] == f"OK    {good}: 6 messages, longest 1328/4096"
    assert lines[1].startswith(f'NOTE  {good}: line 181: <div class="telegram-card"> dropped')
    assert lines[2] == f"FAIL  {tmp_path / 'broken.md'}: front matter has no 'date'"
    assert lines[-2] == (
        f"NOTE  {good}: dated 2026-02-21, past its day and never posted; it is not posted "
        "by itself (digest-bot publish --date 2026-02-21 posts it)"
    )
    assert lines[-1] == "2 digest(s) checked: 1 OK, 1 failed"
    status, _, _ = await digest_bot("check", good, cwd=tmp_path)
    assert status == 0


async def test_render_json_is_exactly_what_is_sent(tmp_path: Path) -> None:
    status, out, _ = await digest_bot("render", SAMPLE, "--json", cwd=tmp_path)
    assert status == 0
    assert json.loads(out) == api_calls(render_digest(load_digest(SAMPLE)).messages)


async def test_render_preview_shows_kind_length_and_formatting(tmp_path: Path) -> None:
    status, out, _ = await digest_bot("render", SAMPLE, cwd=tmp_path)
    assert status == 0
    assert out.startswith("── 1/6 · sendPhoto · photo + caption 309/1024 · 1 entity ──")
    assert "<b><u>AI 模型升级与技术突破</u></b>" in out
    assert '(dropped) line 181: <div class="telegram-card">' in out


async def test_run_without_a_token_says_how_to_fix_it(tmp_path: Path) -> None:
    status, _, err = await digest_bot("run", cwd=tmp_path)
    assert status == 2
    assert "telegram.token: is not set" in err
    assert "digest-bot publish --dry-run" in err


async def test_publish_dry_run_needs_no_token(tmp_path: Path) -> None:
    content = tmp_path / "content"
    content.mkdir()
    (content / SAMPLE.name).write_bytes(SAMPLE.read_bytes())
    (tmp_path / "config.toml").write_text("[content]\nsettle_seconds = 0\n", encoding="utf-8")
    status, out, _ = await digest_bot("publish", "--dry-run", cwd=tmp_path)
    assert status == 0
    path = (content / SAMPLE.name).resolve()
    # The bundled sample is old: it never reaches a group by surprise.
    assert out.startswith(
        f"would not post {path} by itself: it is dated 2026-02-21, whose publishing window "
        "has passed (post it on purpose: digest-bot publish --date 2026-02-21):"
    )
    assert "── 6/6 · sendMessage" in out
    make_due(content)
    # Its window open now: publish.time a minute ago (the window may cross midnight).
    started = dt.datetime.now(ZoneInfo("Asia/Shanghai")) - dt.timedelta(minutes=1)
    (tmp_path / "config.toml").write_text(
        f'[publish]\ntime = "{started:%H:%M}"\n[content]\nsettle_seconds = 0\n',
        encoding="utf-8",
    )
    status, out, _ = await digest_bot("publish", "--dry-run", cwd=tmp_path)
    assert out.startswith(f"would post {path} to @ai_news_plus now:") or " at " in out


async def test_dry_run_says_when_and_that_it_was_posted(
    tmp_path: Path, emulator: TelegramEmulator, content: Path
) -> None:
    make_due(content)
    config = write_config(tmp_path, emulator, content, time="23:59", catch_up_hours=0)
    status, out, _ = await digest_bot("--config", config, "publish", "--dry-run")
    first = out.splitlines()[0]
    assert status == 0 and first.endswith(" 23:59 CST:") and first.startswith("would post ")
    await digest_bot("--config", config, "publish")
    status, out, _ = await digest_bot("--config", config, "publish", "--dry-run")
    assert out.splitlines()[0] == (
        f"{(content / SAMPLE.name).resolve()} is already posted to @ai_news_plus; "
        "nothing would be sent:"
    )


async def test_publish_without_a_date_never_posts_an_old_digest(
    tmp_path: Path, emulator: TelegramEmulator, content: Path
) -> None:
    config = write_config(tmp_path, emulator, content)
    status, _, err = await digest_bot("--config", config, "publish")
    assert status == 1 and "past its day" in err and "--date 2026-02-21" in err
    assert emulator.transcript(GROUP) == []


async def test_bad_config_key_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[publish]\ntime = "25:00"\n', encoding="utf-8")
    status, _, err = await digest_bot("check", cwd=tmp_path)
    assert status == 2
    assert err.strip() == 'error: config.toml: publish.time: "25:00" is not a time like 08:00'


async def test_publish_posts_once_and_force_posts_again(
    tmp_path: Path, emulator: TelegramEmulator, content: Path
) -> None:
    make_due(content)
    config = write_config(tmp_path, emulator, content)
    status, out, err = await digest_bot("--config", config, "publish")
    assert status == 0, err
    assert out.strip() == (
        "published 2026-02-21-ai-daily to @ai_news_plus: 6 of 6 part(s) sent now"
    )
    assert emulator.token not in err
    status, out, _ = await digest_bot("--config", config, "publish")
    assert status == 0
    assert "already published" in out
    assert len(emulator.transcript(GROUP)) == 6
    status, _, _ = await digest_bot("--config", config, "publish", "--force")
    assert status == 0
    assert len(emulator.transcript(GROUP)) == 12


async def test_publish_by_date_and_a_missing_date(
    tmp_path: Path, emulator: TelegramEmulator, content: Path
) -> None:
    config = write_config(tmp_path, emulator, content)
    status, _, err = await digest_bot("--config", config, "publish", "--date", "2026-02-20")
    assert status == 1
    assert "no digest dated 2026-02-20" in err
    status, _, _ = await digest_bot("--config", config, "publish", "--date", "2026-02-21")
    assert status == 0
    assert len(emulator.transcript(GROUP)) == 6


async def test_render_of_a_broken_file_is_one_line(tmp_path: Path) -> None:
    broken = write_digest(tmp_path, front="title: [unclosed", name="broken.md")
    status, out, err = await digest_bot("render", broken, cwd=tmp_path)
    assert status == 1 and out == ""
    assert err.strip().startswith(f"error: {broken}: invalid YAML front matter at line 3")


async def test_check_of_a_large_folder_uses_every_core_and_keeps_the_order(
    tmp_path: Path,
) -> None:
    for day in range(1, 211):
        front = f"title: 第{day}期\ndate: 2026-03-01" if day != 77 else "title: 坏"
        write_digest(tmp_path, front=front, body="## 节\n\n内容", name=f"{day:03d}.md")
    status, out, _ = await digest_bot("check", tmp_path, cwd=tmp_path)
    notes = [line for line in out.splitlines() if line.startswith("NOTE")]
    lines = [line for line in out.splitlines() if not line.startswith("NOTE")]
    assert status == 1
    assert len(notes) == 4 and notes[-1] == "NOTE  and 206 older digest(s) never posted"
    assert [line.split()[1].split("/")[-1].rstrip(":") for line in lines[:-1]] == [
        f"{day:03d}.md" for day in range(1, 211)
    ]
    assert lines[76].startswith("FAIL") and lines[-1] == "210 digest(s) checked: 209 OK, 1 failed"
