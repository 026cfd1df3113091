"""`/ketqua`: the board sees how its latest orientations went, relays included.

The delivery report goes out when the last copy is settled, before most collaborators have had
time to relay anything; this is where the board sees the "đã phổ biến" count grow.
"""

from __future__ import annotations

from typing import Final

from domain.broadcasts import Broadcast, BroadcastStatus
from handlers.broadcasting import delivery_report
from handlers.context import Context
from handlers.menu import show_menu
from handlers.orientation_steps import board_only, is_board

MAX_RESULTS: Final = 5
_SENT = (BroadcastStatus.SENDING, BroadcastStatus.DONE)


async def show_results(ctx: Context, argument: str) -> None:
    if not is_board(ctx):
        show_menu(ctx, board_only(ctx))
        return
    code = argument.strip().upper()
    chosen = await _chosen(ctx, code)
    if not chosen:
        key = "orientation.results.unknown" if code else "orientation.results.empty"
        show_menu(ctx, ctx.t(key))
        return
    for broadcast in chosen:
        assert broadcast.id is not None
        counts = await ctx.uow.broadcasts.counts(broadcast.id)
        state = ctx.t(f"orientation.results.{broadcast.status.value}")
        ctx.say(f"{state}\n{delivery_report(ctx.services, broadcast, counts)}")
    show_menu(ctx, ctx.t("orientation.results.footer"))


async def _chosen(ctx: Context, code: str) -> list[Broadcast]:
    if code:
        found = await ctx.uow.broadcasts.by_code(code)
        return [found] if found is not None and found.status in _SENT else []
    return [b for b in await ctx.uow.broadcasts.all() if b.status in _SENT][:MAX_RESULTS]
