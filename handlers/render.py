"""Choices as numbered text, for channels without buttons (console, Zalo)."""

from __future__ import annotations

from domain.messages import Reply
from handlers.i18n import Catalog


def numbered_text(reply: Reply, catalog: Catalog) -> str:
    if not reply.choices:
        return reply.text
    lines = [reply.text, ""]
    lines += [f"{number}. {choice.label}" for number, choice in enumerate(reply.choices, start=1)]
    lines.append(catalog.t("common.type_number", count=len(reply.choices)))
    return "\n".join(lines)
