"""A Context acting for nobody, for the sweeps: what it notifies becomes outbox rows; who hears a
step of the escalation ladder, and on which chats."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.messages import OutboxItem, Reply
from domain.people import ChannelIdentity, Person, Role
from domain.ports import NewMessage, UnitOfWork
from handlers.context import Context, Services
from handlers.service import outbox_parts
from handlers.sweeps_ladder import Audience
from handlers.types import Incoming, Kind

_SWEEP_INCOMING = Incoming(
    channel="sweep", update_key="", chat_id="", user_id="", display_name="", kind=Kind.TEXT
)
_NOBODY = Person(0, "system", Role.ADMIN, None, datetime(2000, 1, 1, tzinfo=UTC))


def system_context(uow: UnitOfWork, services: Services, now: datetime) -> Context:
    """`ctx.notify` honours each person's notify_channel, exactly as for a handler's action."""
    return Context(_SWEEP_INCOMING, _NOBODY, uow, services, now)


async def queue(ctx: Context) -> list[OutboxItem]:
    """Write what the context collected as outbox rows (in its transaction, in bulk)."""
    parts: dict[int, list[Reply]] = {}  # one reply sent to many chats is split once
    messages = []
    for o in ctx.outgoing:
        if id(o.reply) not in parts:
            parts[id(o.reply)] = outbox_parts(o.reply)
        messages += [NewMessage(o.channel, o.chat_id, p, o.priority) for p in parts[id(o.reply)]]
    return await ctx.uow.outbox.add_many(messages, ctx.now)


class Audiences:
    """Who hears a step and through which chats, read once per sweep (not per case or per
    transaction): a sweep tells the same officers and handlers about many cases."""

    def __init__(self) -> None:
        self._people: dict[tuple[Role, str | None], list[Person]] = {}
        self._chats: dict[int, list[ChannelIdentity]] = {}
        self._audiences: dict[tuple[Audience, str | None], list[Person]] = {}

    async def notify(self, ctx: Context, person: Person, reply: Reply) -> None:
        """As `Context.notify`: the person's chosen channel, else every chat."""
        if person.id not in self._chats:
            identities = await ctx.uow.people.identities(person.id)
            preferred = [i for i in identities if i.channel == person.notify_channel]
            self._chats[person.id] = preferred or identities
        for identity in self._chats[person.id]:
            ctx.send_to(identity.channel, identity.chat_id, reply)

    async def _with_role(self, uow: UnitOfWork, role: Role, unit: str | None) -> list[Person]:
        key = (role, unit)
        if key not in self._people:
            self._people[key] = await uow.people.with_role(role, unit)
        return self._people[key]

    async def of(self, uow: UnitOfWork, audience: Audience, unit: str | None) -> list[Person]:
        key = (audience, unit)
        if key not in self._audiences:
            self._audiences[key] = await self._of(uow, audience, unit)
        return self._audiences[key]

    async def _of(self, uow: UnitOfWork, audience: Audience, unit: str | None) -> list[Person]:
        if audience in (Audience.HANDLERS, Audience.UNIT):
            people = await self._with_role(uow, Role.HANDLER, unit) if unit else []
            plain = [p for p in people if not p.lead]
            return plain or people if audience is Audience.HANDLERS else people
        people = await self._with_role(uow, Role.BOARD, None)
        if audience is Audience.BOARD:
            return [p for p in people if not p.lead] or people
        return [p for p in people if p.lead] or people
