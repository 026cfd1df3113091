"""In-memory outbox, subscriptions and broadcasts: the fakes of `storage.repositories.outbox`,
`subscriptions` and `broadcasts`, with the same semantics (the storage contract tests run on both).
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from domain.broadcasts import (
    Broadcast,
    BroadcastStatus,
    DeliveryCounts,
    Member,
    Recipient,
    SubscriptionKind,
)
from domain.messages import OutboxItem, OutboxStatus, Priority, Reply
from domain.people import ChannelIdentity, Role
from domain.ports import (
    BroadcastRepository,
    NewMessage,
    OutboxRepository,
    PendingCopy,
    SubscriptionRepository,
)

if TYPE_CHECKING:
    from tests.fakes.memory_uow import MemoryState

INTERRUPTED = "interrupted: delivery not confirmed"
# Identities stored before anyone recorded when (SQL: NULL) sort first, as NULLS FIRST does.
_LONG_AGO = datetime.min.replace(tzinfo=UTC)
_UNFINISHED = (OutboxStatus.PENDING, OutboxStatus.SENDING)
# A copy the person may say they relayed: it went out (or is going out right now).
_RELAYABLE = (OutboxStatus.SENT, OutboxStatus.SENDING)


@dataclass
class MemoryCopy:
    broadcast_id: int
    person_id: int
    channel: str
    chat_id: str
    outbox_id: int
    relays: bool
    relayed_at: datetime | None = None


class MemoryOutbox:
    def __init__(self, state: MemoryState) -> None:
        self._s = state

    async def add(
        self, channel: str, chat_id: str, reply: Reply, now: datetime, priority: int = 0
    ) -> OutboxItem:
        item_id = len(self._s.outbox) + 1
        self._s.outbox[item_id] = OutboxItem(
            item_id, channel, chat_id, reply, OutboxStatus.PENDING, 0, now, now, priority
        )
        return copy.deepcopy(self._s.outbox[item_id])

    async def add_many(self, messages: Sequence[NewMessage], now: datetime) -> list[OutboxItem]:
        return [
            await self.add(m.channel, m.chat_id, m.reply, now, m.priority) for m in messages
        ]

    async def pending(
        self, limit: int, channels: Collection[str] | None = None
    ) -> list[OutboxItem]:
        items = [
            i for i in self._s.outbox.values()
            if i.status is OutboxStatus.PENDING and (channels is None or i.channel in channels)
        ]
        return sorted(items, key=lambda i: (i.priority, i.id))[:limit]

    async def mark_sent(self, item_id: int, at: datetime) -> None:
        self._s.outbox[item_id].status = OutboxStatus.SENT
        self._s.outbox[item_id].sent_at = at

    async def mark_sent_many(self, item_ids: Sequence[int], at: datetime) -> None:
        for item_id in item_ids:
            await self.mark_sent(item_id, at)

    async def mark_retry(
        self, item_id: int, attempts: int, next_attempt_at: datetime, error: str
    ) -> None:
        item = self._s.outbox[item_id]
        if item.status not in _UNFINISHED:
            return
        item.status = OutboxStatus.PENDING
        item.attempts, item.next_attempt_at, item.last_error = attempts, next_attempt_at, error

    async def mark_failed(self, item_id: int, at: datetime, error: str) -> None:
        item = self._s.outbox[item_id]
        item.status, item.last_error, item.sent_at = OutboxStatus.FAILED, error, None
        item.extra["failed_at"] = at

    async def mark_blocked(self, item_id: int, at: datetime, error: str) -> None:
        await self.mark_failed(item_id, at, error)
        self._s.blocked.add(item_id)
        item = self._s.outbox[item_id]
        for key, identity in self._s.identities.items():
            if (identity.channel, identity.chat_id) == (item.channel, item.chat_id):
                self._s.unreachable.setdefault(key, at)

    async def claim(self, item_ids: Sequence[int]) -> set[int]:
        claimed = set()
        for item_id in item_ids:
            item = self._s.outbox.get(item_id)
            if item is not None and item.status is OutboxStatus.PENDING:
                item.status = OutboxStatus.SENDING
                claimed.add(item_id)
        return claimed

    async def settle_interrupted(self, at: datetime) -> int:
        settled = [i for i in self._s.outbox.values() if i.status is OutboxStatus.SENDING]
        for item in settled:
            item.status, item.sent_at, item.last_error = OutboxStatus.SENT, at, INTERRUPTED
        return len(settled)

    async def cancel(self, item_ids: Sequence[int], at: datetime, reason: str) -> int:
        cancelled = 0
        for item_id in set(item_ids):
            item = self._s.outbox.get(item_id)
            if item is not None and item.status is OutboxStatus.PENDING:
                item.status, item.last_error = OutboxStatus.CANCELLED, reason
                item.extra["failed_at"] = at
                cancelled += 1
        return cancelled

    async def failed(self, limit: int) -> list[OutboxItem]:
        items = [i for i in self._s.outbox.values() if i.status is OutboxStatus.FAILED]
        return sorted(items, key=lambda i: i.id, reverse=True)[:limit]

    async def all(self) -> list[OutboxItem]:
        return list(self._s.outbox.values())


class MemorySubscriptions:
    def __init__(self, state: MemoryState) -> None:
        self._s = state

    async def of(self, person_id: int) -> tuple[frozenset[str], frozenset[str]]:
        mine = [(kind, code) for (pid, kind, code) in self._s.subscriptions if pid == person_id]
        wards = frozenset(code for kind, code in mine if kind == SubscriptionKind.WARD)
        return wards, frozenset(code for kind, code in mine if kind == SubscriptionKind.TOPIC)

    async def replace(
        self, person_id: int, wards: Collection[str], topics: Collection[str], now: datetime
    ) -> None:
        await self.clear(person_id)
        for kind, codes in ((SubscriptionKind.WARD, wards), (SubscriptionKind.TOPIC, topics)):
            for code in codes:
                self._s.subscriptions[(person_id, kind.value, code)] = now

    async def clear(self, person_id: int) -> int:
        keys = [key for key in self._s.subscriptions if key[0] == person_id]
        for key in keys:
            del self._s.subscriptions[key]
        return len(keys)


class MemoryBroadcasts:
    def __init__(self, state: MemoryState) -> None:
        self._s = state

    async def next_number(self, year: int) -> int:
        self._s.broadcast_counters[year] = self._s.broadcast_counters.get(year, 0) + 1
        return self._s.broadcast_counters[year]

    async def add(self, broadcast: Broadcast) -> Broadcast:
        if any(b.code == broadcast.code for b in self._s.broadcasts.values()):
            raise ValueError(f"broadcast code {broadcast.code} exists")
        stored = replace(broadcast, id=len(self._s.broadcasts) + 1)
        self._s.broadcasts[stored.id or 0] = stored
        return replace(stored)

    async def get(self, broadcast_id: int) -> Broadcast | None:
        found = self._s.broadcasts.get(broadcast_id)
        return None if found is None else replace(found)

    async def by_code(self, code: str) -> Broadcast | None:
        return next((replace(b) for b in self._s.broadcasts.values() if b.code == code), None)

    async def all(self) -> list[Broadcast]:
        ordered = sorted(self._s.broadcasts.values(), key=lambda b: (b.created_at, b.id or 0))
        return [replace(b) for b in reversed(ordered)]

    async def with_status(self, status: BroadcastStatus, limit: int = 1000) -> list[Broadcast]:
        found = [b for b in self._s.broadcasts.values() if b.status is status]
        return [replace(b) for b in sorted(found, key=lambda b: (b.send_at, b.id or 0))][:limit]

    async def due(self, until: datetime, limit: int) -> list[Broadcast]:
        scheduled = await self.with_status(BroadcastStatus.SCHEDULED, len(self._s.broadcasts))
        return [b for b in scheduled if b.send_at <= until][:limit]

    async def set_status_if(
        self, broadcast_id: int, expected: BroadcastStatus, status: BroadcastStatus,
        at: datetime,
    ) -> bool:
        found = self._s.broadcasts.get(broadcast_id)
        if found is None or found.status is not expected:
            return False
        found.status = status
        if status is BroadcastStatus.SENDING:
            found.started_at = at
        elif status is BroadcastStatus.DONE:
            found.finished_at = at
        return True

    async def members(self, roles: Collection[Role]) -> list[Member]:
        reachable: dict[int, list[ChannelIdentity]] = {}
        order = sorted(
            (k for k in self._s.identities if k not in self._s.unreachable),
            key=lambda k: (self._s.identity_added.get(k, _LONG_AGO), k),
        )
        for key in order:
            identity = self._s.identities[key]
            reachable.setdefault(identity.person_id, []).append(identity)
        subscriptions = MemorySubscriptions(self._s)
        members = []
        for person in sorted(self._s.people.values(), key=lambda p: p.id):
            if person.role not in roles:
                continue
            wards, topics = frozenset[str](), frozenset[str]()
            if person.role is Role.RESIDENT:
                wards, topics = await subscriptions.of(person.id)
            members.append(Member(
                replace(person), tuple(reachable.get(person.id, ())), wards, topics
            ))
        return members

    async def add_copies(
        self, broadcast_id: int, copies: Sequence[tuple[Recipient, Reply]], now: datetime
    ) -> int:
        outbox = MemoryOutbox(self._s)
        for recipient, reply in copies:
            key = (broadcast_id, recipient.person_id)
            if key in self._s.copies:
                raise ValueError(f"person {recipient.person_id} has a copy already")
            item = await outbox.add(
                recipient.channel, recipient.chat_id, reply, now, Priority.BROADCAST
            )
            self._s.copies[key] = MemoryCopy(
                broadcast_id, recipient.person_id, recipient.channel, recipient.chat_id, item.id,
                recipient.relays,
            )
        return len(copies)

    def _of(self, broadcast_id: int) -> list[MemoryCopy]:
        return [c for c in self._s.copies.values() if c.broadcast_id == broadcast_id]

    async def counts(self, broadcast_id: int) -> DeliveryCounts:
        copies = self._of(broadcast_id)
        items = [self._s.outbox[c.outbox_id] for c in copies]
        by_status = Counter(i.status for i in items)
        blocked = sum(
            1 for i in items if i.status is OutboxStatus.FAILED and i.id in self._s.blocked
        )
        return DeliveryCounts(
            recipients=len(copies), delivered=by_status[OutboxStatus.SENT],
            failed=by_status[OutboxStatus.FAILED] - blocked, blocked=blocked,
            skipped=by_status[OutboxStatus.CANCELLED],
            pending=sum(by_status[status] for status in _UNFINISHED),
            relayed=sum(1 for c in copies if c.relayed_at is not None),
        )

    async def unfinished(self, broadcast_id: int) -> int:
        return sum(
            1 for c in self._of(broadcast_id) if self._s.outbox[c.outbox_id].status in _UNFINISHED
        )

    async def relay(self, broadcast_id: int, person_id: int, at: datetime) -> bool | None:
        found = self._s.copies.get((broadcast_id, person_id))
        if found is None or not found.relays:
            return None
        if self._s.outbox[found.outbox_id].status not in _RELAYABLE:
            return None  # only a copy that went out can be relayed
        if found.relayed_at is not None:
            return False
        found.relayed_at = at
        return True

    async def latest_relayable(self, person_id: int) -> Broadcast | None:
        candidates = [
            c for c in self._s.copies.values()
            if c.person_id == person_id and c.relays and c.relayed_at is None
            and self._s.outbox[c.outbox_id].status in _RELAYABLE
        ]
        if not candidates:
            return None
        newest = max(candidates, key=lambda c: c.outbox_id)
        return replace(self._s.broadcasts[newest.broadcast_id])

    async def pending_copies(self, person_id: int) -> list[PendingCopy]:
        copies = sorted(
            (
                c for c in self._s.copies.values()
                if c.person_id == person_id
                and self._s.outbox[c.outbox_id].status is OutboxStatus.PENDING
            ),
            key=lambda c: c.outbox_id,
        )
        return [
            PendingCopy(c.outbox_id, replace(self._s.broadcasts[c.broadcast_id])) for c in copies
        ]


if TYPE_CHECKING:  # mypy proves that the fakes fulfil the ports

    def _fulfil(
        outbox: MemoryOutbox, subscriptions: MemorySubscriptions, broadcasts: MemoryBroadcasts
    ) -> tuple[OutboxRepository, SubscriptionRepository, BroadcastRepository]:
        return outbox, subscriptions, broadcasts
