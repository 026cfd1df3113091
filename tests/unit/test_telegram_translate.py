"""Which chat a button press is answered in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiogram.types import CallbackQuery

from bot.telegram.translate import Translator
from storage.media import FileMediaStore


def press(chat: dict[str, Any]) -> CallbackQuery:
    return CallbackQuery.model_validate({
        "id": "q1", "chat_instance": "ci", "data": "m:help",
        "from": {"id": 777, "is_bot": False, "first_name": "Lan"},
        "message": {"message_id": 5, "date": 1700000000, "chat": chat, "text": "menu"},
    })


def test_a_press_in_a_private_chat_is_answered_in_that_chat(tmp_path: Path) -> None:
    translator = Translator(None, FileMediaStore(tmp_path, 1), 1)  # type: ignore[arg-type]
    incoming = translator.callback(press({"id": 555, "type": "private"}), 10)
    assert (incoming.chat_id, incoming.user_id) == ("555", "777")


def test_a_press_in_a_group_is_answered_in_the_pressers_own_chat(tmp_path: Path) -> None:
    translator = Translator(None, FileMediaStore(tmp_path, 1), 1)  # type: ignore[arg-type]
    incoming = translator.callback(press({"id": -100123, "type": "supergroup", "title": "Ban"}), 11)
    assert (incoming.chat_id, incoming.user_id) == ("777", "777")
