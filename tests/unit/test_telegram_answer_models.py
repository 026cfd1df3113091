"""The Telegram channel holds aiogram's answer models, so no send rebuilds one
(bot/telegram/responses.py)."""

from __future__ import annotations

import gc
from pathlib import Path

import pydantic.main
from aiogram.methods import SendMessage
from aiogram.methods.base import Response
from pydantic import SecretStr

from bot.app import build_app
from bot.settings import Settings
from bot.telegram.responses import CALLED_METHODS


async def test_sending_again_and_again_builds_no_answer_model(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db",
        media_dir=tmp_path / "media",
        telegram_bot_token=SecretStr("123456:TEST-token-for-answer-models"),
    )
    app = build_app(settings)
    try:
        built: list[object] = []
        original = pydantic.main._generics.create_generic_submodel

        def counting(*args: object, **kwargs: object) -> object:
            built.append(args[0])
            return original(*args, **kwargs)  # type: ignore[arg-type]

        pydantic.main._generics.create_generic_submodel = counting  # type: ignore[assignment]
        try:
            for _ in range(3):  # what aiogram's check_response does for every answer
                gc.collect()
                for method in (*CALLED_METHODS, SendMessage):
                    Response[method.__returning__]
        finally:
            pydantic.main._generics.create_generic_submodel = original
        assert built == []
    finally:
        await app.close()
