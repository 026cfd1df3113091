"""Planning, launching and closing a broadcast: shared by the officer's flow and the sweep.

A launch writes every recipient's copy as an outbox row in the transaction that moves the
broadcast from scheduled to sending (conditionally, so two sweeps never launch it twice). The
dispatcher sends the copies; `finish_broadcasts` sees when none is left and reports to the author.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from domain.broadcasts import (
    STAFF_ROLES,
    Audience,
    AudienceKind,
    Broadcast,
    BroadcastStatus,
    CaseConcern,
    DeliveryCounts,
    Member,
    Recipient,
    select_recipients,
)
from domain.broadcasts import count_by_channel as count_by_channel  # for the preview's callers
from domain.messages import Choice, OutboxItem, Priority, Reply
from domain.people import Role
from domain.ports import UnitOfWork
from handlers.context import Services

RELAY_PREFIX = "b:relay:"
AUDIENCE_LOCK = "broadcast:audiences"
# Channels whose copies carry a "Đã phổ biến" button; elsewhere the copy names a reply keyword.
BUTTON_CHANNELS = frozenset({"telegram", "console"})
_ALL_ROLES = (*STAFF_ROLES, Role.RESIDENT)


async def plan(
    uow: UnitOfWork, services: Services, audience: Audience, author_id: int | None
) -> list[Recipient]:
    """Who the audience reaches right now, one channel each (blocked identities left out)."""
    concern = None
    if audience.kind is AudienceKind.CASE:
        report = await uow.reports.by_code(audience.case_code or "")
        if report is None:
            return []
        concern = CaseConcern(report)
    roles = _roles_for(audience.kind)
    members = await uow.broadcasts.members(roles)
    if services.channels is not None:
        members = [_on_channels(m, services.channels) for m in members]
    return select_recipients(audience, members, services.org, concern=concern, exclude=author_id)


async def hold_audiences(uow: UnitOfWork) -> None:
    """Launches and opt-outs take turns (till commit): an opt-out committed while a launch was
    planning would otherwise find no copy to cancel, and the launch would write one for her."""
    await uow.lock_chat(AUDIENCE_LOCK)


def _on_channels(member: Member, channels: frozenset[str]) -> Member:
    return replace(member, identities=tuple(i for i in member.identities if i.channel in channels))


async def next_code(uow: UnitOfWork, now: datetime) -> str:
    number = await uow.broadcasts.next_number(now.year)
    return f"DH-{now.year}-{number:06d}"


async def launch(
    uow: UnitOfWork, services: Services, broadcast: Broadcast, now: datetime
) -> int | None:
    """Scheduled -> sending, with one outbox row per recipient; None if someone was first."""
    assert broadcast.id is not None
    await hold_audiences(uow)
    if not await uow.broadcasts.set_status_if(
        broadcast.id, BroadcastStatus.SCHEDULED, BroadcastStatus.SENDING, now
    ):
        return None
    recipients = await plan(uow, services, broadcast.audience, broadcast.author_id)
    copies = [(r, copy_reply(services, broadcast, r)) for r in recipients]
    return await uow.broadcasts.add_copies(broadcast.id, copies, now)


def copy_reply(services: Services, broadcast: Broadcast, recipient: Recipient) -> Reply:
    catalog = services.catalog
    text = catalog.t("broadcast.copy", text=broadcast.text, board=services.org.name)
    choices: tuple[Choice, ...] = ()
    if recipient.relays and recipient.channel in BUTTON_CHANNELS:
        choices = (Choice(f"{RELAY_PREFIX}{broadcast.id}", catalog.t("broadcast.relay_button")),)
    elif recipient.relays:
        text = f"{text}\n\n{catalog.t('broadcast.relay_keyword_hint')}"
    photos = (broadcast.photo,) if broadcast.photo else ()
    return Reply(text=text, choices=choices, photos=photos)


@dataclass(frozen=True)
class Finished:
    """A broadcast just closed, what its report said, and the report's outbox rows."""

    broadcast: Broadcast
    counts: DeliveryCounts
    queued: list[OutboxItem]


async def close_finished(
    uow: UnitOfWork, services: Services, now: datetime, limit: int = 100
) -> list[Finished]:
    """Close every sending broadcast with no copy left to send; its author gets the report."""
    closed: list[Finished] = []
    for broadcast in await uow.broadcasts.with_status(BroadcastStatus.SENDING, limit):
        assert broadcast.id is not None
        if await uow.broadcasts.unfinished(broadcast.id):
            continue
        if not await uow.broadcasts.set_status_if(
            broadcast.id, BroadcastStatus.SENDING, BroadcastStatus.DONE, now
        ):
            continue
        counts = await uow.broadcasts.counts(broadcast.id)
        reply = Reply(text=delivery_report(services, broadcast, counts))
        queued = [
            await uow.outbox.add(channel, chat_id, reply, now, Priority.NOTIFICATION)
            for channel, chat_id in await _author_chats(uow, broadcast.author_id)
        ]
        closed.append(Finished(broadcast, counts, queued))
    return closed


async def finish_broadcasts(
    uow: UnitOfWork, services: Services, now: datetime, limit: int = 100
) -> list[OutboxItem]:
    """As `close_finished`; only the queued reports."""
    return [item for done in await close_finished(uow, services, now, limit)
            for item in done.queued]


async def launch_due(
    uow: UnitOfWork, services: Services, now: datetime, limit: int = 20
) -> list[str]:
    """Launch the scheduled broadcasts whose time has come; the codes launched."""
    launched = []
    for broadcast in await uow.broadcasts.due(now, limit):
        if await launch(uow, services, broadcast, now) is not None:
            launched.append(broadcast.code)
    return launched


def delivery_report(services: Services, broadcast: Broadcast, counts: DeliveryCounts) -> str:
    return services.catalog.t(
        "broadcast.report",
        code=broadcast.code,
        recipients=counts.recipients,
        delivered=counts.delivered,
        failed=counts.failed,
        blocked=counts.blocked,
        skipped=counts.skipped,
        relayed=counts.relayed,
    )


def channel_counts_text(services: Services, counts: dict[str, int]) -> str:
    """"Telegram: 12 · Zalo: 5" (or "nobody") for the preview."""
    if not counts:
        return services.catalog.t("broadcast.nobody")
    return " · ".join(
        f"{services.catalog.t(f'broadcast.channel.{channel}')}: {number}"
        for channel, number in counts.items()
    )


def _roles_for(kind: AudienceKind) -> Sequence[Role]:
    if kind is AudienceKind.COLLABORATORS:
        return (Role.COLLABORATOR,)
    if kind is AudienceKind.RESIDENTS:
        return (Role.RESIDENT,)
    if kind is AudienceKind.CASE:
        return _ALL_ROLES
    return STAFF_ROLES


async def _author_chats(uow: UnitOfWork, author_id: int) -> list[tuple[str, str]]:
    person = await uow.people.get(author_id)
    identities = await uow.people.identities(author_id)
    preferred = [i for i in identities if person and i.channel == person.notify_channel]
    return [(i.channel, i.chat_id) for i in preferred or identities]
