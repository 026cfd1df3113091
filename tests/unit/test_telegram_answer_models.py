"""The Telegram channel holds aiogram's answer models, so no send rebuilds one
(bot/telegram/responses.py)."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

from aiogram.methods import SendMessage, TelegramMethod
from aiogram.methods.base import Response
from pydantic import SecretStr
from pydantic._internal import _generics

from bot.app import build_app
from bot.settings import Settings
from bot.telegram.responses import CALLED_METHODS


async def test_sending_again_and_again_builds_no_answer_model(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db",
        media_dir=tmp_path / "media",
        telegram_bot_token=SecretStr("123456:TEST-token-for-answer-models"),
    )
    app = build_app(settings)
    try:
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
    finally:
        await app.close()
