"""Settings from TOML and the environment: defaults, types, and errors that name the key."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import tomllib
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import DEFAULTS, ConfigError, Settings, load_settings
from tests.samples import ROOT

TOKEN = "123456789:AAH-secretSECRETsecret_0123456789"


def write(folder: Path, text: str, name: str = "config.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def error_for(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text), env={})
    return info.value


def test_no_file_means_defaults_relative_to_cwd(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(env={})
    assert settings.source is None
    assert settings.telegram.token == ""
    assert settings.telegram.api_base_url == ""
    assert settings.publish.chat == "@ai_news_plus"
    assert settings.publish.thread_id is None
    assert settings.publish.time == dt.time(8, 0)
    assert settings.publish.timezone == ZoneInfo("Asia/Shanghai")
    assert settings.publish.catch_up == dt.timedelta(hours=6)
    assert settings.publish.pin is False and settings.content.settle_seconds == 10
    assert settings.content.dir == tmp_path.resolve() / "content"
    assert settings.content.max_bytes == 1048576
    assert settings.content.max_messages == 20
    assert settings.storage.path == tmp_path.resolve() / "data" / "digest-bot.sqlite3"
    assert settings.admins.user_ids == frozenset()
    assert settings.ui.language == "auto"
    assert settings.ui.group_latest == "card"


def test_full_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"""
[telegram]
token = "{TOKEN}"
api_base_url = "http://127.0.0.1:8081/bot"
[publish]
chat = "-1001234567890"
thread_id = 42
time = "7:05"
timezone = "Europe/Berlin"
catch_up_hours = 1.5
[content]
dir = "posts"
max_bytes = 2048
max_messages = 3
[storage]
path = "/var/lib/digest.sqlite3"
[admins]
user_ids = [11, 22, 11]
[ui]
language = "en"
group_latest = "full"
""",
    )
    settings = load_settings(path, env={})
    assert settings.source == path.resolve()
    assert settings.require_token() == TOKEN
    assert settings.telegram.api_base_url == "http://127.0.0.1:8081/bot"
    assert settings.publish.chat == -1001234567890
    assert settings.publish.thread_id == 42
    assert settings.publish.time == dt.time(7, 5)
    assert settings.publish.timezone == ZoneInfo("Europe/Berlin")
    assert settings.publish.catch_up == dt.timedelta(minutes=90)
    assert settings.content.dir == tmp_path.resolve() / "posts"
    assert (settings.content.max_bytes, settings.content.max_messages) == (2048, 3)
    assert settings.storage.path == Path("/var/lib/digest.sqlite3")
    assert settings.admins.user_ids == frozenset({11, 22})
    assert (settings.ui.language, settings.ui.group_latest) == ("en", "full")


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path, monkeypatch) -> None:
    conf = tmp_path / "etc"
    conf.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    settings = load_settings(write(conf, '[content]\ndir = "../posts"\n'), env={})
    assert settings.content.dir == tmp_path.resolve() / "posts"
    assert settings.storage.path == conf.resolve() / "data" / "digest-bot.sqlite3"


def test_toml_native_time_and_integer_chat(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, "[publish]\ntime = 21:30:00\nchat = -42\n"), env={})
    assert settings.publish.time == dt.time(21, 30)
    assert settings.publish.chat == -42


def test_config_path_from_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, '[ui]\nlanguage = "en"\n')  # ./config.toml, which the variable overrides
    other = write(tmp_path, '[ui]\nlanguage = "zh"\n', name="other.toml")
    settings = load_settings(env={"DIGEST_BOT_CONFIG": str(other)})
    assert settings.ui.language == "zh"
    assert settings.source == other.resolve()


def test_default_config_in_cwd_is_read(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, '[ui]\nlanguage = "en"\n')
    settings = load_settings(env={})
    assert settings.ui.language == "en"
    assert settings.source == (tmp_path / "config.toml").resolve()


def test_explicitly_named_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file") as info:
        load_settings(tmp_path / "missing.toml", env={})
    assert info.value.key is None
    with pytest.raises(ConfigError, match=r"no such config file \(named by DIGEST_BOT_CONFIG\)"):
        load_settings(env={"DIGEST_BOT_CONFIG": str(tmp_path / "missing.toml")})


def test_token_from_environment_overrides_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[telegram]\ntoken = "1:short"\n')
    settings = load_settings(path, env={"DIGEST_BOT_TOKEN": f"  {TOKEN}\n"})
    assert settings.require_token() == TOKEN
    assert settings.telegram.token_from_env


def test_missing_token_is_only_an_error_when_required(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, ""), env={})
    with pytest.raises(ConfigError) as info:
        settings.require_token()
    assert info.value.key == "telegram.token"
    assert "is not set: put it in config.toml or set DIGEST_BOT_TOKEN" in str(info.value)


@pytest.mark.parametrize(
    "token", ["123:short", "abc:AAHsecretSECRETsecret_0123456789", "123456789 AAHsecretSECRET_0123"]
)
def test_malformed_token_is_refused_without_echoing_it(tmp_path: Path, token: str) -> None:
    settings = load_settings(write(tmp_path, f'[telegram]\ntoken = "{token}"\n'), env={})
    with pytest.raises(ConfigError) as info:
        settings.require_token()
    assert info.value.key == "telegram.token"
    assert "does not look like a bot token" in str(info.value)
    assert token not in str(info.value)
    assert token.split(":")[-1] not in str(info.value)


def test_token_never_appears_in_repr_str_or_logs(tmp_path: Path, caplog) -> None:
    settings = load_settings(write(tmp_path, f'[telegram]\ntoken = "{TOKEN}"\n'), env={})
    secret = TOKEN.split(":")[1]
    assert settings.telegram.token == TOKEN
    texts = [repr(settings), str(settings), repr(settings.telegram), f"{settings.telegram}"]
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("settings: %s %r", settings, settings.telegram)
    texts.append(caplog.text)
    for text in texts:
        assert secret not in text
        assert "token='***'" in text


def test_wrongly_typed_token_is_not_echoed(tmp_path: Path) -> None:
    error = error_for(tmp_path, "[telegram]\ntoken = 123456789987654321\n")
    assert error.key == "telegram.token"
    assert "123456789987654321" not in str(error)


def test_error_message_names_file_and_key(tmp_path: Path) -> None:
    error = error_for(tmp_path, '[publish]\ntime = "25:00"\n')
    assert error.key == "publish.time"
    assert (
        str(error) == f'{tmp_path / "config.toml"}: publish.time: "25:00" is not a time like 08:00'
    )


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ('[publish]\ntime = "8am"\n', "publish.time", '"8am" is not a time like 08:00'),
        ('[publish]\ntime = "12:60"\n', "publish.time", "is not a time"),
        ("[publish]\ntime = 800\n", "publish.time", "800 is not a time"),
        (
            '[publish]\ntimezone = "Asia/Shangai"\n',
            "publish.timezone",
            '"Asia/Shangai" is not a known time zone; did you mean "Asia/Shanghai"?',
        ),
        ('[publish]\ntimezone = "../etc/passwd"\n', "publish.timezone", "not a known time zone"),
        ('[publish]\ntimezone = "Asia"\n', "publish.timezone", "not a known time zone"),
        ('[publish]\nchat = "ai_news"\n', "publish.chat", '"ai_news" is not a chat id'),
        ('[publish]\nchat = "@ab"\n', "publish.chat", "is not a chat id"),
        ("[publish]\nchat = 0\n", "publish.chat", "is not a chat id"),
        ("[publish]\nchat = true\n", "publish.chat", "true is not a chat id"),
        ("[publish]\nthread_id = -5\n", "publish.thread_id", "-5 is negative"),
        ('[publish]\nthread_id = "7"\n', "publish.thread_id", '"7" is not a whole number'),
        ("[publish]\ncatch_up_hours = -1\n", "publish.catch_up_hours", "not between 0 and 24"),
        ("[publish]\ncatch_up_hours = 25\n", "publish.catch_up_hours", "not between 0 and 24"),
        ("[publish]\ncatch_up_hours = true\n", "publish.catch_up_hours", "not a number of hours"),
        ('[publish]\npin = "yes"\n', "publish.pin", '"yes" is not true or false'),
        ("[content]\nsettle_seconds = -1\n", "content.settle_seconds", "not a number of seconds"),
        ("[content]\nsettle_seconds = true\n", "content.settle_seconds", "not a number of seconds"),
        ("[content]\nmax_bytes = -1\n", "content.max_bytes", "-1 is not a positive number"),
        ("[content]\nmax_messages = 0\n", "content.max_messages", "0 is not a positive number"),
        ("[content]\nmax_messages = 2.5\n", "content.max_messages", "2.5 is not a whole number"),
        ('[content]\ndir = ""\n', "content.dir", "is empty"),
        ("[storage]\npath = 5\n", "storage.path", "5 is not text (put it in quotes)"),
        ("[admins]\nuser_ids = 5\n", "admins.user_ids", "5 is not a list like [123456789]"),
        ('[admins]\nuser_ids = [1, "x"]\n', "admins.user_ids[1]", '"x" is not a whole number'),
        ("[admins]\nuser_ids = [-3]\n", "admins.user_ids[0]", "-3 is not a positive number"),
        ('[ui]\nlanguage = "fr"\n', "ui.language", '"fr" is not one of "zh", "en", "auto"'),
        ('[ui]\ngroup_latest = "all"\n', "ui.group_latest", 'is not one of "card", "full"'),
        (
            '[telegram]\napi_base_url = "ftp://x/bot"\n',
            "telegram.api_base_url",
            "is not an http(s) URL",
        ),
        ("[telegram]\napi_base_url = 1\n", "telegram.api_base_url", "1 is not text"),
    ],
)
def test_bad_values_name_their_key(tmp_path: Path, text: str, key: str, message: str) -> None:
    error = error_for(tmp_path, text)
    assert error.key == key
    assert f": {key}: " in str(error)
    assert message in str(error)
    assert "\n" not in str(error)


def test_unknown_key_suggests_the_closest(tmp_path: Path) -> None:
    error = error_for(tmp_path, '[publish]\ntiem = "08:00"\n')
    assert error.key == "publish.tiem"
    assert str(error).endswith('publish.tiem: unknown key; did you mean "publish.time"?')


def test_unknown_key_without_a_close_match_lists_the_known_ones(tmp_path: Path) -> None:
    error = error_for(tmp_path, "[storage]\nzzz = 1\n")
    assert error.key == "storage.zzz"
    assert "unknown key (known: storage.path)" in str(error)


def test_key_in_the_wrong_section_points_to_the_right_one(tmp_path: Path) -> None:
    error = error_for(tmp_path, '[publish]\ntoken = "x"\n')
    assert error.key == "publish.token"
    assert 'unknown key; did you mean "telegram.token" (in [telegram])?' in str(error)


def test_unknown_section_suggests_the_closest(tmp_path: Path) -> None:
    error = error_for(tmp_path, '[telegarm]\ntoken = "x"\n')
    assert error.key == "telegarm"
    assert 'unknown section; did you mean "telegram"?' in str(error)


def test_section_must_be_a_table(tmp_path: Path) -> None:
    error = error_for(tmp_path, "publish = 3\n")
    assert error.key == "publish"
    assert "must be a table like [publish]" in str(error)


def test_nested_table_is_an_unknown_key(tmp_path: Path) -> None:
    error = error_for(tmp_path, "[publish.extra]\na = 1\n")
    assert error.key == "publish.extra"


def test_invalid_toml_reports_the_line(tmp_path: Path) -> None:
    error = error_for(tmp_path, '[publish]\nchat = "@x_news"\ntime = \n')
    assert error.key is None
    assert "invalid TOML" in str(error)
    assert "line 3" in str(error)


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'[ui]\nlanguage = "\xff"\n')
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_settings(path, env={})


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, ""), env={})
    assert isinstance(settings, Settings)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.publish.time = dt.time(9)  # type: ignore[misc]


def test_several_targets(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[publish.targets]]\nchat = "@ai_news_plus"\n'
        "[[publish.targets]]\nchat = -1001234567890\nthread_id = 7\n",
    )
    targets = load_settings(path, env={}).publish.targets
    assert [(t.chat, t.thread_id) for t in targets] == [
        ("@ai_news_plus", None),
        (-1001234567890, 7),
    ]
    assert str(targets[1]) == "-1001234567890 (topic 7)"


def test_one_target_by_default(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, '[publish]\nchat = "@news_room"\n'), env={})
    assert [str(t) for t in settings.publish.targets] == ["@news_room"]
    assert settings.publish.chat == "@news_room"


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        (
            '[publish]\nchat = "@ai_news_plus"\n[[publish.targets]]\nchat = "@other_room"\n',
            "publish.chat",
            "either this or [[publish.targets]]",
        ),
        ("[[publish.targets]]\nthread_id = 3\n", "publish.targets[1].chat", "is missing"),
        (
            '[[publish.targets]]\nchat = "@other_room"\ntopic = 3\n',
            "publish.targets[1].topic",
            "unknown key",
        ),
        ('[[publish.targets]]\nchat = "nope"\n', "publish.targets[1].chat", "is not a chat id"),
        (
            '[[publish.targets]]\nchat = "@a_room"\n[[publish.targets]]\nchat = "@a_room"\n',
            "publish.targets",
            "same chat and topic twice",
        ),
        ("[publish]\ntargets = 3\n", "publish.targets", "must be tables"),
    ],
)
def test_bad_targets_name_the_key(tmp_path: Path, text: str, key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text), env={})
    assert caught.value.key == key
    assert problem in str(caught.value)


def test_the_example_config_documents_every_key_with_its_default() -> None:
    example = ROOT / "config.example.toml"
    raw = tomllib.loads(example.read_text(encoding="utf-8"))
    documented = {f"{section}.{key}" for section, table in raw.items() for key in table}
    known = {f"{section}.{key}" for section, table in DEFAULTS.items() for key in table}
    assert documented | {"publish.targets"} == known  # targets are shown commented out
    for section, table in raw.items():
        for key, value in table.items():
            assert value == DEFAULTS[section][key], f"{section}.{key}"
    settings = load_settings(example, env={})
    assert settings.publish.time == dt.time(8, 0)
    assert [str(t) for t in settings.publish.targets] == ["@ai_news_plus"]
