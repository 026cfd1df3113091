"""Channels and the running service: Telegram, Zalo, console, HTTP, CLI and wiring."""
