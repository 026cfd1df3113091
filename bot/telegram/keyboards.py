"""Choices as Telegram keyboards: inline buttons, or a reply keyboard that shares a location."""

from __future__ import annotations

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


def inline_keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.choices:
        return None
    # Validated as one document: building each button as a model costs twice as much, and a
    # keyboard is built for almost every intake step (bench.ingest).
    return InlineKeyboardMarkup.model_validate({
        "inline_keyboard": [
            [{"text": c.label, "callback_data": c.payload} for c in row]
            for row in _rows(reply.choices)
        ]
    })


def location_keyboard(reply: Reply, share_label: str) -> ReplyKeyboardMarkup:
    rows = [[KeyboardButton(text=share_label, request_location=True)]]
    rows += [[KeyboardButton(text=c.label) for c in row] for row in _rows(reply.choices)]
    return ReplyKeyboardMarkup(keyboard=rows, resize_keyboard=True, one_time_keyboard=True)
