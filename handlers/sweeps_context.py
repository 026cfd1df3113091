"""A Context acting for nobody, for the sweeps: what it notifies becomes outbox rows."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.messages import OutboxItem
from domain.people import Person, Role
from domain.ports import UnitOfWork
from handlers.context import Context, Services
from handlers.service import outbox_parts
from handlers.types import Incoming, Kind

_SWEEP_INCOMING = Incoming(
    channel="sweep", update_key="", chat_id="", user_id="", display_name="", kind=Kind.TEXT
)
_NOBODY = Person(0, "system", Role.ADMIN, None, datetime(2000, 1, 1, tzinfo=UTC))


def system_context(uow: UnitOfWork, services: Services, now: datetime) -> Context:
    """`ctx.notify` honours each person's notify_channel, exactly as for a handler's action."""
    return Context(_SWEEP_INCOMING, _NOBODY, uow, services, now)


async def queue(ctx: Context) -> list[OutboxItem]:
    """Write what the context collected as outbox rows (in its transaction)."""
    return [
        await ctx.uow.outbox.add(o.channel, o.chat_id, part, ctx.now, o.priority)
        for o in ctx.outgoing
        for part in outbox_parts(o.reply)
    ]
