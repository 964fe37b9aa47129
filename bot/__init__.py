"""A Telegram bot that posts a daily Markdown digest to a group and serves its archive."""

import os
from importlib.metadata import PackageNotFoundError, version

# Opt in to python-telegram-bot's coming behaviour: RetryAfter.retry_after as a timedelta.
os.environ.setdefault("PTB_TIMEDELTA", "1")

try:
    __version__ = version("digest-bot")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"
