"""Test doubles for external services (a strict Telegram Bot API emulator)."""
