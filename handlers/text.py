"""Matching what people type against the options offered, with or without diacritics."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from domain.messages import Choice

_NOT_WORD = re.compile(r"[^\w\s-]+")
_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Lower-case, no diacritics, no emoji or punctuation: 'Trật tự ĐÔ THỊ!' -> 'trat tu do thi'."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    bare = _NOT_WORD.sub(" ", bare.casefold())
    return _SPACES.sub(" ", bare).strip()


def match_choice(text: str, choices: Sequence[Choice]) -> Choice | None:
    """The choice a typed text names: its number in the list, or its label."""
    typed = fold(text)
    if not typed:
        return None
    if typed.isdecimal() and len(typed) <= 6:  # "²" and "①" are digits but not numbers
        index = int(typed) - 1
        return choices[index] if 0 <= index < len(choices) else None
    for choice in choices:
        if fold(choice.label) == typed or any(fold(word) == typed for word in choice.typed):
            return choice
    return None


def stored_id(raw: str) -> int | None:
    """A database id carried by a button (forgeable): None unless it could be one (a 20-digit
    number does not fit the column and would fail the statement, not just find nothing)."""
    return int(raw) if raw.isascii() and raw.isdecimal() and len(raw) <= 18 else None


def split_command(text: str) -> tuple[str, str] | None:
    """'/trangthai@dlxh_bot PA-2026-1' -> ('trangthai', 'PA-2026-1'); None if no command."""
    stripped = text.strip()
    if not stripped.startswith("/"):
        return None
    head, _, rest = stripped[1:].partition(" ")
    name = head.split("@", 1)[0].casefold()
    return (name, rest.strip()) if name else None


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def storable(text: str) -> str:
    """The text with each lone UTF-16 surrogate (a JSON `"\\ud83d"` without its pair) as U+FFFD:
    a database stores UTF-8, which has no such character, and would refuse the whole update."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def split_text(text: str, limit: int, utf16: bool = False) -> list[str]:
    """Cut a long text into pieces of at most `limit` characters, between words where possible.
    `utf16`: count as Telegram does, an emoji outside the Basic Multilingual Plane as two."""
    text = nfc(text)
    pieces: list[str] = []
    while (utf16_length(text) if utf16 else len(text)) > limit:
        end = _longest_within(text, limit) if utf16 else limit
        cut = max(text.rfind("\n", 0, end + 1), text.rfind(" ", 0, end + 1))
        if cut <= 0:
            cut = end  # one word longer than the limit: no choice but to break it
        piece = text[:cut].rstrip()
        if piece:  # a text starting with spaces cut at them would give an empty piece
            pieces.append(piece)
        text = text[cut:].lstrip()
    if text or not pieces:
        pieces.append(text)
    return pieces


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _longest_within(text: str, limit: int) -> int:
    """How many characters of `text` fit in `limit` UTF-16 code units."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return index
    return len(text)
