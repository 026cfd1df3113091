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
from domain.org import UnitKind
from domain.people import Role
from domain.ports import UnitOfWork
from handlers.context import Services, notified_chats
from handlers.text import nfc, utf16_length

RELAY_PREFIX = "b:relay:"
AUDIENCE_LOCK = "broadcast:audiences"
# Channels whose copies carry a "Đã phổ biến" button; elsewhere the copy names a reply keyword.
BUTTON_CHANNELS = frozenset({"telegram", "console"})
_ALL_ROLES = (*STAFF_ROLES, Role.RESIDENT)

# A copy must go out as ONE API call on every channel: when a second part meets a 429 or a 5xx,
# the dispatcher sends the whole copy again and the first part arrives twice. So an orientation
# is refused at composition when its longest copy would not fit. The senders' limits (handlers
# import nothing from bot/, keep these in step with them):
# - bot/telegram/sender.py: TEXT_LIMIT 4096, counted by `split_text(utf16=True)` (UTF-16 code
#   units of the NFC text: an emoji counts two, as Telegram counts); a photo
#   goes as one sendPhoto with the text as caption only when `fits_caption` (CAPTION_LIMIT 1024
#   UTF-16 code units), else sendPhoto + sendMessage.
# - bot/zalo/sender.py: TEXT_LIMIT 2000 (NFC characters, `split_text`); with a photo, one
#   sendPhoto with caption when the text is at most CAPTION_LIMIT = TEXT_LIMIT characters.
TELEGRAM_TEXT_LIMIT = 4096
TELEGRAM_CAPTION_LIMIT = 1024
ZALO_TEXT_LIMIT = 2000
LIMITED_CHANNELS = ("telegram", "zalo")


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
    """What one recipient receives: the header, the officer's text, the board's name; for a
    collaborator "Đã phổ biến" (a button, or on Zalo the reply keyword); for a resident how to
    stop receiving orientation."""
    return _copy(services, broadcast.text, broadcast.photo, broadcast.id, recipient)


def _copy(
    services: Services, text: str, photo: str | None, broadcast_id: int | None,
    recipient: Recipient,
) -> Reply:
    catalog = services.catalog
    body = catalog.t("broadcast.copy", text=text, board=board_name(services))
    choices: tuple[Choice, ...] = ()
    if recipient.relays and recipient.channel in BUTTON_CHANNELS:
        choices = (Choice(f"{RELAY_PREFIX}{broadcast_id}", catalog.t("broadcast.relay_button")),)
    elif recipient.relays:
        body = f"{body}\n\n{catalog.t('broadcast.relay_keyword_hint')}"
    elif recipient.resident:
        body = f"{body}\n\n{catalog.t('broadcast.stop_hint')}"
    photos = (photo,) if photo else ()
    return Reply(text=nfc(body), choices=choices, photos=photos)


def board_name(services: Services) -> str:
    """The board's name as the org configuration gives it (the unit of kind board)."""
    board = next((u for u in services.org.units if u.kind is UnitKind.BOARD), None)
    return board.label if board is not None else services.org.name


def copy_overflow(services: Services, text: str, photo: bool) -> int:
    """By how many characters `text` is too long (0: it fits): longer than `max_text_chars`, or
    some copy of it (collaborator, resident or other staff, on each channel this deployment
    delivers on, with or without `photo`) would take more than one API call."""
    over = len(nfc(text)) - services.settings.max_text_chars
    return max(0, over, _excess(services, text, photo))


def copy_budget(services: Services, photo: bool) -> int:
    """The longest text (in characters) whose every copy is one API call, with or without a
    photo. A text of `copy_budget + copy_overflow` characters: `copy_overflow` too many."""
    return max(0, min(services.settings.max_text_chars, -_excess(services, "", photo)))


def _excess(services: Services, text: str, photo: bool) -> int:
    """The most any copy of `text` exceeds its channel's one-call limit (negative: room left)."""
    channels = [
        c for c in LIMITED_CHANNELS if services.channels is None or c in services.channels
    ]
    worst = -(10**9)
    for channel in channels:
        for sample in _SAMPLES:
            recipient = replace(sample, channel=channel)
            reply = _copy(services, text, "photo" if photo else None, 0, recipient)
            measured, limit = _measure(channel, reply.text, photo)
            worst = max(worst, measured - limit)
    return worst


# One recipient of each kind the copy differs for: collaborator, resident, other staff.
_SAMPLES = (
    Recipient(0, "", "", relays=True),
    Recipient(0, "", "", relays=False, resident=True),
    Recipient(0, "", "", relays=False),
)


def _measure(channel: str, text: str, photo: bool) -> tuple[int, int]:
    """(length, limit) as the channel's sender counts them."""
    if channel == "telegram":
        if photo:
            return utf16_length(text), TELEGRAM_CAPTION_LIMIT
        return utf16_length(nfc(text)), TELEGRAM_TEXT_LIMIT
    # Zalo: the caption check counts the text as given, the split counts it after NFC.
    return max(len(text), len(nfc(text))), ZALO_TEXT_LIMIT


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
            await uow.outbox.add(chat.channel, chat.chat_id, reply, now, Priority.NOTIFICATION)
            for chat in await notified_chats(uow, broadcast.author_id)
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
    catalog = services.catalog
    lines = [catalog.t(
        "broadcast.report",
        code=broadcast.code,
        recipients=counts.recipients,
        delivered=counts.delivered,
        failed=counts.failed,
        blocked=counts.blocked,
        skipped=counts.skipped,
        relayed=counts.relayed,
    )]
    if counts.pending:  # still being sent: nothing is said of the whole yet
        lines.append(catalog.t("broadcast.next.pending", pending=counts.pending,
                               code=broadcast.code))
    if counts.blocked:
        lines.append(catalog.t("broadcast.next.blocked"))
    if counts.failed or counts.blocked:
        lines.append(catalog.t("broadcast.next.failed"))
    elif not counts.pending:
        done = "all_delivered" if counts.delivered else "none_delivered"
        lines.append(catalog.t(f"broadcast.next.{done}"))
    lines.append(catalog.t("broadcast.next.relays", code=broadcast.code))
    return "\n".join(lines)


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
