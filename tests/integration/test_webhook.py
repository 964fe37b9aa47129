"""Webhook mode over real HTTP on 127.0.0.1: Telegram's posts carry the secret; others fail."""

from __future__ import annotations

import socket
from pathlib import Path

import aiohttp
import pytest

from bot.app import build_app, serving
from bot.config import ConfigError, load_settings
from bot.sandbox.telegram_api import TelegramEmulator
from bot.store import Store
from tests.helpers import BOT_FAST, MEMBER, write_config

SECRET = "s3cret_token-for-tests"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def webhook_config(tmp_path: Path, emulator: TelegramEmulator, content: Path, port: int) -> Path:
    config = write_config(tmp_path, emulator, content, time="23:59")
    text = config.read_text(encoding="utf-8").replace(
        "[telegram]\n",
        "[telegram]\n"
        'mode = "webhook"\n'
        'webhook_url = "https://bot.example.com/telegram/hook"\n'
        f'webhook_listen = "127.0.0.1"\nwebhook_port = {port}\nwebhook_secret = "{SECRET}"\n',
    )
    config.write_text(text, encoding="utf-8")
    return config


def update(update_id: int, text: str) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 0,
            "chat": {"id": MEMBER, "type": "private", "first_name": "M"},
            "from": {"id": MEMBER, "is_bot": False, "first_name": "M"},
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
        },
    }


async def test_webhook_registers_answers_and_refuses_without_the_secret(
    tmp_path: Path, emulator: TelegramEmulator, content: Path
) -> None:
    port = free_port()
    settings = load_settings(webhook_config(tmp_path, emulator, content, port), env={})
    url = f"http://127.0.0.1:{port}/telegram/hook"
    async with (
        await Store.open(settings.storage.path) as store,
        serving(build_app(settings, store, flood=BOT_FAST)),
        aiohttp.ClientSession() as http,
    ):
        assert emulator.webhook_url == "https://bot.example.com/telegram/hook"
        assert emulator.webhook_secret_token == SECRET
        header = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        async with http.post(url, json=update(1, "/help"), headers=header) as answer:
            assert answer.status == 200
        (reply,) = await emulator.wait_for(MEMBER, 1)
        assert "/latest" in reply.text
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
            async with http.post(url, json=update(2, "/help"), headers=headers) as refused:
                assert refused.status == 403
    assert len(emulator.transcript(MEMBER)) == 1
    assert not any(r.method == "getUpdates" for r in emulator.requests)


@pytest.mark.parametrize(
    ("lines", "key"),
    [
        ('mode = "webhook"\nwebhook_secret = "abc"\n', "telegram.webhook_url"),
        ('mode = "webhook"\nwebhook_url = "http://bot.example.com/x"\n', "telegram.webhook_url"),
        (
            'mode = "webhook"\nwebhook_url = "https://bot.example.com/x"\n',
            "telegram.webhook_secret",
        ),
        (
            'mode = "webhook"\nwebhook_url = "https://b.example.com/x"\nwebhook_secret = "a b"\n',
            "telegram.webhook_secret",
        ),
        ('mode = "push"\n', "telegram.mode"),
    ],
)
def test_bad_webhook_settings_name_the_key(tmp_path: Path, lines: str, key: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[telegram]\n" + lines, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    assert caught.value.key == key
    assert "abc" not in str(caught.value) and "a b" not in str(caught.value)


def test_the_secret_can_come_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[telegram]\nmode = "webhook"\nwebhook_url = "https://bot.example.com/hook"\n',
        encoding="utf-8",
    )
    settings = load_settings(path, env={"DIGEST_BOT_WEBHOOK_SECRET": "Zq9secret"})
    assert settings.telegram.webhook is not None
    assert settings.telegram.webhook.secret == "Zq9secret"
    assert "Zq9secret" not in repr(settings)
