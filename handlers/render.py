"""Choices as numbered text, for channels without buttons (console, Zalo)."""

from __future__ import annotations

from domain.messages import Reply
from handlers.cards import command_for
from handlers.i18n import Catalog


def numbered_text(reply: Reply, catalog: Catalog) -> str:
    """Step and menu choices as numbers to type; case buttons as the command to type."""
    if not reply.choices:
        return reply.text
    numbered = [c for c in reply.choices if command_for(c.payload) is None]
    commands = [(c, command_for(c.payload)) for c in reply.choices if command_for(c.payload)]
    lines = [reply.text, ""]
    lines += [f"{number}. {choice.label}" for number, choice in enumerate(numbered, start=1)]
    lines += [f"• {choice.label}: {command}" for choice, command in commands]
    if numbered:
        lines.append(catalog.t("common.type_number", count=len(numbered)))
    return "\n".join(lines)
