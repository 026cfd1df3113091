"""Choices as Telegram keyboards: inline buttons, or a reply keyboard that shares a location."""

from __future__ import annotations

import json

from aiogram.types import (
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from domain.messages import Choice, Reply

_SHORT_LABEL = 18
_NAVIGATION = ("back", "cancel")


def _is_navigation(choice: Choice) -> bool:
    return choice.payload.rsplit(":", 1)[-1] in _NAVIGATION


def _rows(choices: tuple[Choice, ...]) -> list[list[Choice]]:
    main = [c for c in choices if not _is_navigation(c)]
    nav = [c for c in choices if _is_navigation(c)]
    width = 2 if all(len(c.label) <= _SHORT_LABEL for c in main) and len(main) > 3 else 1
    rows = [main[i : i + width] for i in range(0, len(main), width)]
    return rows + ([nav] if nav else [])


def _inline_document(reply: Reply) -> dict[str, object] | None:
    if not reply.choices:
        return None
    return {
        "inline_keyboard": [
            [{"text": c.label, "callback_data": c.payload} for c in row]
            for row in _rows(reply.choices)
        ]
    }


def inline_keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    document = _inline_document(reply)
    # Validated as one document: building each button as a model costs twice as much.
    return None if document is None else InlineKeyboardMarkup.model_validate(document)


def inline_keyboard_json(reply: Reply) -> str | None:
    """The same keyboard as the JSON `reply_markup` that `SendText` sends: no model is built
    only to be dumped again (a keyboard goes with almost every intake step, bench.ingest)."""
    document = _inline_document(reply)
    return None if document is None else json.dumps(document)


def location_keyboard(reply: Reply, share_label: str) -> ReplyKeyboardMarkup:
    rows = [[KeyboardButton(text=share_label, request_location=True)]]
    rows += [[KeyboardButton(text=c.label) for c in row] for row in _rows(reply.choices)]
    return ReplyKeyboardMarkup(keyboard=rows, resize_keyboard=True, one_time_keyboard=True)
