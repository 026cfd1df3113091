"""The Telegram channel as the composition root builds it: it holds aiogram's answer models, so
no send rebuilds one (bot/telegram/responses.py), and its Bot has no defaults."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiogram.client.default import DefaultBotProperties
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.methods.base import Response
from pydantic import SecretStr
from pydantic._internal import _generics

from bot.app import App, build_app
from bot.settings import Settings
from bot.telegram.responses import CALLED_METHODS


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db",
        media_dir=tmp_path / "media",
        telegram_bot_token=SecretStr("123456:TEST-token-for-the-channel"),
    )
    app = build_app(settings)
    try:
        yield app
    finally:
        await app.close()


async def test_the_bot_has_no_defaults_that_send_text_would_leave_out(app: App) -> None:
    """aiogram's SendMessage fills parse_mode, link previews and the like from the Bot's
    defaults; SendText has no such fields. Giving the Bot defaults means adding them there."""
    assert app.telegram is not None
    assert app.telegram.bot.default == DefaultBotProperties()


async def test_sending_again_and_again_builds_no_answer_model(app: App) -> None:
    """The app (alive for the test) holds the models; nothing builds one again."""
    built: list[object] = []
    methods: list[type[TelegramMethod[Any]]] = [*CALLED_METHODS, SendMessage]
    original = _generics.create_generic_submodel

    def counting(*args: object, **kwargs: object) -> object:
        built.append(args[0])
        return original(*args, **kwargs)  # type: ignore[arg-type]

    _generics.create_generic_submodel = counting  # type: ignore[assignment]
    try:
        for _ in range(3):  # what aiogram's check_response does for every answer
            gc.collect()
            generic: Any = Response  # parametrised at run time, as aiogram does
            for method in methods:
                generic[method.__returning__]
    finally:
        _generics.create_generic_submodel = original
    assert built == []
