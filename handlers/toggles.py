"""Multi-select steps: each option a toggle (✅ when chosen), then «Xong».

Used where a person picks several wards or topics (residents' `/theodoi`, an orientation's
audience). The chosen codes live in the draft under a field name; a toggle re-asks the step so
the ✅ marks show the new state. Typed numbers and labels work as for any step: a label matches
with or without its ✅, so typing a ward's name toggles it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from domain.messages import Choice
from domain.ports import Draft
from handlers.context import Context

DONE_KEY: Final = "=done"
ALL_KEY: Final = "=all"  # "every topic" (toggles all of them at once)


def chosen(draft: Draft, field: str) -> list[str]:
    return [str(code) for code in draft.data.get(field) or []]


def toggle_choices(
    ctx: Context, draft: Draft, field: str, items: Sequence[tuple[str, str]]
) -> list[Choice]:
    """One toggle per (code, label), marked when chosen."""
    picked = set(chosen(draft, field))
    return [
        Choice(code, ctx.t("pick.chosen", label=label) if code in picked else label)
        for code, label in items
    ]


def all_choice(ctx: Context, draft: Draft, field: str, codes: Iterable[str]) -> Choice:
    every = set(codes) <= set(chosen(draft, field))
    label = ctx.t("pick.all")
    return Choice(ALL_KEY, ctx.t("pick.chosen", label=label) if every else label)


def done_choice(ctx: Context) -> Choice:
    return Choice(DONE_KEY, ctx.t("pick.done"))


def toggle(draft: Draft, field: str, code: str, all_codes: Sequence[str]) -> None:
    """Flip one code (or, for «all», select every code, or clear them if all were chosen)."""
    picked = chosen(draft, field)
    if code == ALL_KEY:
        picked = [] if set(all_codes) <= set(picked) else list(all_codes)
    elif code in picked:
        picked.remove(code)
    elif code in all_codes:
        picked.append(code)
    # Kept in the organisation's order, whatever order they were tapped in.
    draft.data[field] = [c for c in all_codes if c in picked]


def ward_items(ctx: Context) -> list[tuple[str, str]]:
    return [(w.code, w.label) for w in ctx.org.wards]


def topic_items(ctx: Context) -> list[tuple[str, str]]:
    return [(c.code, c.name) for c in ctx.org.categories]


def labels(ctx: Context, codes: Iterable[str], topics: bool = False) -> str:
    names = [ctx.category_label(c) if topics else ctx.unit_label(c) for c in codes]
    return ", ".join(names)
