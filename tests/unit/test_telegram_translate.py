"""Which chat a button press is answered in, and what a press says without its keyboard."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from aiogram.types import CallbackQuery, Update

from bot.telegram.translate import Translator
from bot.telegram.webhook import without_pressed_keyboard
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


def test_a_press_read_without_its_keyboard_means_the_same(tmp_path: Path) -> None:
    body = {"update_id": 12, "callback_query": {
        "id": "q2", "chat_instance": "ci", "data": "cat:xd",
        "from": {"id": 777, "is_bot": False, "first_name": "Lan"},
        "message": {"message_id": 5, "date": 1700000000, "text": "Chọn lĩnh vực:",
                    "chat": {"id": 555, "type": "private"},
                    "reply_markup": {"inline_keyboard": [[
                        {"text": "Trật tự xây dựng", "callback_data": "cat:xd"}]]}},
    }}
    translator = Translator(None, FileMediaStore(tmp_path, 1), 1)  # type: ignore[arg-type]
    whole = Update.model_validate(copy.deepcopy(body))
    lean = Update.model_validate(without_pressed_keyboard(body))
    assert lean.callback_query is not None and whole.callback_query is not None
    assert lean.callback_query.message is not None
    assert lean.callback_query.message.reply_markup is None  # type: ignore[union-attr]
    assert translator.callback(lean.callback_query, 12) == translator.callback(
        whole.callback_query, 12)
    message = {"update_id": 13, "message": {"message_id": 6, "date": 1700000000, "text": "x",
                                            "chat": {"id": 555, "type": "private"}}}
    assert without_pressed_keyboard(copy.deepcopy(message)) == message
    assert without_pressed_keyboard([1, 2]) == [1, 2]  # not an update: refused later, unchanged
