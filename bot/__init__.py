"""A Telegram bot that posts a daily Markdown digest to a group and serves its archive."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("digest-bot")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"
