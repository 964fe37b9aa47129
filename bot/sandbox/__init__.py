"""A local Telegram: a strict Bot API server for the tests and for `digest-bot demo`."""
