"""What the conversation core needs from storage: repositories and a unit of work.

The caller commits (as in *Architecture Patterns with Python*); leaving the `async with`
block without `commit()` rolls everything back.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, NamedTuple, Protocol, Self

from domain.broadcasts import Broadcast, BroadcastStatus, DeliveryCounts, Member, Recipient
from domain.invitations import Invitation
from domain.messages import OutboxItem, Reply
from domain.people import ChannelIdentity, Person, Role
from domain.reports import CaseUpdate, Report, ReportEvent, ReportStatus, StoredMedia


@dataclass
class Draft:
    """An unfinished conversation of one person (a report being written, for now)."""

    person_id: int
    flow: str
    step: str
    data: dict[str, Any]
    revision: int
    created_at: datetime
    updated_at: datetime


class PeopleRepository(Protocol):
    async def by_identity(self, channel: str, external_id: str) -> Person | None: ...
    async def get(self, person_id: int) -> Person | None: ...
    async def get_many(self, person_ids: Collection[int]) -> dict[int, Person]:
        """The people of these ids in one read (the reporters on a sweep's board cards); an id
        nobody has is left out."""
        ...
    async def add(
        self,
        display_name: str,
        role: Role,
        unit_code: str | None,
        now: datetime,
        identity: tuple[str, str, str],
    ) -> Person:
        """Create a person with one identity `(channel, external_id, chat_id)`."""
        ...

    async def set_role(self, person_id: int, role: Role, unit_code: str | None) -> None: ...
    async def identities(self, person_id: int) -> list[ChannelIdentity]: ...
    async def with_role(self, role: Role, unit_code: str | None = None) -> list[Person]: ...
    async def move_identity(self, channel: str, external_id: str, person_id: int) -> None:
        """Make an existing identity reach `person_id` (linking two channels of one person)."""
        ...
    async def set_notify_channel(self, person_id: int, channel: str | None) -> None: ...
    async def set_lead(self, person_id: int, lead: bool) -> None:
        """Make the person the head of their unit (or the board's leader), or not."""
        ...
    async def heard_from(self, channel: str, external_id: str) -> Person | None:
        """The person behind an identity that just wrote (None: unknown). Writing again after
        blocking the bot makes the identity reachable again: broadcasts reach it again."""
        ...


class LinkCodeRepository(Protocol):
    """Short-lived codes shown on one channel and typed on another to link the two."""

    async def add(self, code: str, person_id: int, expires_at: datetime) -> None: ...
    async def take(self, code: str, now: datetime) -> int | None:
        """The person who asked for `code`, once, before it expires; None otherwise."""
        ...


class InvitationRepository(Protocol):
    async def add(self, invitation: Invitation) -> None: ...
    async def get(self, code: str) -> Invitation | None: ...
    async def mark_used(self, code: str, person_id: int, at: datetime) -> bool:
        """Mark used if still unused; False when someone else used it first."""
        ...


class ReportRepository(Protocol):
    async def next_number(self, year: int) -> int: ...
    async def add(self, report: Report) -> Report:
        """Store the report and its media; returns it with `id` set."""
        ...

    async def by_code(self, code: str) -> Report | None: ...
    async def for_reporter(self, person_id: int) -> list[Report]: ...
    async def all(self) -> list[Report]: ...
    async def update_if(self, report_id: int, expected: ReportStatus, change: CaseUpdate) -> bool:
        """Apply `change` only if the case is still in `expected`; False if someone was first."""
        ...
    async def with_status(
        self, statuses: Collection[ReportStatus], unit_code: str | None = None
    ) -> list[Report]:
        """Cases in any of `statuses` (of one assigned unit if given), oldest first."""
        ...
    async def add_event(self, event: ReportEvent) -> None: ...
    async def add_events(self, events: Sequence[ReportEvent]) -> None:
        """Append many events at once (one statement), in the order given."""
        ...
    async def events(self, report_id: int) -> list[ReportEvent]: ...


class DraftRepository(Protocol):
    async def get(self, person_id: int) -> Draft | None: ...
    async def save(self, draft: Draft) -> None: ...
    async def delete(self, person_id: int) -> None: ...


class ProcessedUpdates(Protocol):
    async def record(self, channel: str, update_key: str, now: datetime) -> bool:
        """Remember an incoming update; False if it was recorded before (a redelivery)."""
        ...


@dataclass(frozen=True)
class NewMessage:
    """One outbox row to write: `OutboxRepository.add`'s arguments but `now`."""

    channel: str
    chat_id: str
    reply: Reply
    priority: int = 0


class OutboxRepository(Protocol):
    async def add(
        self, channel: str, chat_id: str, reply: Reply, now: datetime, priority: int = 0
    ) -> OutboxItem:
        """Queue a message; returns the stored item (with its id) for a direct hand-off."""
        ...
    async def add_many(self, messages: Sequence[NewMessage], now: datetime) -> list[OutboxItem]:
        """Queue many messages in bulk; the stored items in the order of `messages`, with ids
        increasing in that order (as many `add` calls one after another would give)."""
        ...
    async def pending(
        self, limit: int, channels: Collection[str] | None = None
    ) -> list[OutboxItem]:
        """Pending items by (priority, id), due or not: the dispatcher keeps per-chat order.

        `channels` limits them to the channels this process can send on, so that rows nobody
        here can send (a console chat, a channel switched off) never fill a whole batch.
        """
        ...

    async def mark_sent(self, item_id: int, at: datetime) -> None: ...
    async def mark_sent_many(self, item_ids: Sequence[int], at: datetime) -> None: ...
    async def mark_retry(
        self, item_id: int, attempts: int, next_attempt_at: datetime, error: str
    ) -> None: ...
    async def mark_failed(self, item_id: int, at: datetime, error: str) -> None: ...
    async def mark_blocked(self, item_id: int, at: datetime, error: str) -> None:
        """Failed because the person blocked the bot: the row is failed and marked blocked, and
        the identity behind its (channel, chat) is unreachable until the person writes again."""
        ...
    async def claim(self, item_ids: Sequence[int]) -> set[int]:
        """Pending -> sending, right before a broadcast copy goes out; the ids still pending.

        A copy cancelled (opt-out) or already claimed in the meantime is not returned.
        """
        ...
    async def settle_interrupted(self, at: datetime) -> int:
        """Rows left `sending` by a process that died mid-send count as sent (at most once:
        the platform most likely has them); returns how many."""
        ...
    async def cancel(self, item_ids: Sequence[int], at: datetime, reason: str) -> int:
        """Pending -> cancelled (never sent); returns how many were still pending."""
        ...
    async def failed(self, limit: int) -> list[OutboxItem]:
        """Messages given up on (blocked bot, chat gone, retries exhausted), newest first."""
        ...
    async def all(self) -> list[OutboxItem]: ...


class SubscriptionRepository(Protocol):
    """What residents follow: wards and topics (category codes)."""

    async def of(self, person_id: int) -> tuple[frozenset[str], frozenset[str]]:
        """(wards, topics) the person follows."""
        ...
    async def replace(
        self, person_id: int, wards: Collection[str], topics: Collection[str], now: datetime
    ) -> None: ...
    async def clear(self, person_id: int) -> int:
        """Stop following everything; returns how many subscriptions there were."""
        ...


@dataclass(frozen=True)
class PendingCopy:
    """A broadcast copy not sent yet, as an opt-out re-checks it."""

    outbox_id: int
    broadcast: Broadcast


class BroadcastRepository(Protocol):
    async def next_number(self, year: int) -> int: ...
    async def add(self, broadcast: Broadcast) -> Broadcast:
        """Store it; returns it with `id` set."""
        ...
    async def get(self, broadcast_id: int) -> Broadcast | None: ...
    async def by_code(self, code: str) -> Broadcast | None: ...
    async def all(self) -> list[Broadcast]:
        """Every broadcast, newest first."""
        ...
    async def with_status(self, status: BroadcastStatus, limit: int = 1000) -> list[Broadcast]:
        """By `send_at`, earliest first."""
        ...
    async def due(self, until: datetime, limit: int) -> list[Broadcast]:
        """Scheduled broadcasts whose `send_at` is at or before `until`, earliest first."""
        ...
    async def set_status_if(
        self, broadcast_id: int, expected: BroadcastStatus, status: BroadcastStatus,
        at: datetime,
    ) -> bool:
        """Move on only from `expected` (False if someone was first). SENDING sets
        `started_at`, DONE `finished_at`."""
        ...
    async def members(self, roles: Collection[Role]) -> list[Member]:
        """People with these roles, their reachable identities (oldest first) and, for
        residents, what they follow."""
        ...
    async def add_copies(
        self, broadcast_id: int, copies: Sequence[tuple[Recipient, Reply]], now: datetime
    ) -> int:
        """One outbox row (priority BROADCAST) and one copy row per recipient, in bulk."""
        ...
    async def counts(self, broadcast_id: int) -> DeliveryCounts: ...
    async def unfinished(self, broadcast_id: int) -> int:
        """Copies still pending or being sent."""
        ...
    async def relay(self, broadcast_id: int, person_id: int, at: datetime) -> bool | None:
        """Record "đã phổ biến": None if the person got no relaying copy of it, False if
        recorded before, True now."""
        ...
    async def latest_relayable(self, person_id: int) -> Broadcast | None:
        """The newest broadcast whose relaying copy the person got and has not relayed."""
        ...
    async def pending_copies(self, person_id: int) -> list[PendingCopy]: ...


class CaseClock(NamedTuple):
    """An open case's current deadline and what places its ladder's steps: all the sweep reads
    of the cases near their deadline, most of which have no step due yet."""

    report_id: int
    deadline: datetime
    # When the unit's clock started (the latest assignment, or its answer sent back); None for
    # unassigned reports.
    assigned_at: datetime | None
    # Steps already taken for this deadline.
    fired: frozenset[str]


@dataclass(frozen=True)
class DueCase:
    """An open case with a step of its ladder due, with what the step's message shows.

    `report` comes without its media: a step's message does not send the photos again, its card
    says how many there are (`photos`)."""

    report: Report
    clock: CaseClock
    photos: int = 0


class StepKey(NamedTuple):
    """One step of one case's ladder for one deadline: taken at most once."""

    report_id: int
    step: str
    deadline_at: datetime


class EscalationRepository(Protocol):
    """What the sweeps read and write: due cases, the steps taken, drafts left alone."""

    async def unit_clocks(self, until: datetime, last_step: str, limit: int) -> list[CaseClock]:
        """The clocks of assigned / in-progress cases whose answer deadline is at or before
        `until` and whose `last_step` was not yet taken for that deadline, nearest first."""
        ...
    async def unacknowledged_clocks(
        self, until: datetime, last_step: str, limit: int
    ) -> list[CaseClock]:
        """The clocks of submitted / reopened reports never acknowledged whose acknowledge
        deadline is at or before `until` and whose `last_step` was not yet taken for it."""
        ...
    async def due_cases(self, clocks: Sequence[CaseClock]) -> list[DueCase]:
        """The cases of these clocks (without their media, with their number of photos), in
        the order given."""
        ...
    async def record_step(
        self, report_id: int, step: str, deadline_at: datetime, at: datetime
    ) -> bool:
        """Remember one step of one case's ladder; False if it was taken before (by anyone)."""
        ...
    async def record_steps(self, steps: Sequence[StepKey], at: datetime) -> set[StepKey]:
        """`record_step` for many steps in one statement: the steps taken now (not before, by
        anyone). Rows are inserted in sorted order, so that concurrent sweeps on PostgreSQL
        wait for each other instead of deadlocking."""
        ...
    async def steps_taken(self, report_ids: Sequence[int]) -> list[StepKey]:
        """Every step taken for these cases, for any of their deadlines."""
        ...
    async def forget_steps(self, report_id: int, deadline_at: datetime) -> None:
        """Let the case's ladder for this deadline start afresh (a new unit was given it)."""
        ...
    async def stale_drafts(self, flow: str, before: datetime, limit: int) -> list[Draft]:
        """Drafts of `flow` untouched since `before`, oldest first."""
        ...
    async def save_draft_if(self, draft: Draft, revision: int) -> bool:
        """Save `draft` only if it still has `revision` (nobody wrote in meanwhile)."""
        ...
    async def delete_draft_if(self, person_id: int, revision: int) -> bool:
        """Delete the draft only if it still has `revision`."""
        ...


class JobRuns(Protocol):
    """Jobs that must happen once per period (the monthly review of 2026-10), whoever runs them."""

    async def claim(self, name: str, at: datetime) -> bool:
        """Record that `name` runs now; False if it ran (or is running) already."""
        ...

    async def ran(self, name: str) -> bool:
        """Whether `name` was claimed (by anyone)."""
        ...

    async def claimed_at(self, name: str) -> datetime | None:
        """When `name` was claimed; None if never."""
        ...


class MediaStore(Protocol):
    """Content-addressed files; channels put what they fetched, others read it back."""

    def put(self, data: bytes, kind: Any, mime: str) -> StoredMedia: ...
    def path(self, sha256: str) -> Any: ...
    def read(self, sha256: str) -> bytes: ...


class UnitOfWork(Protocol):
    @property
    def people(self) -> PeopleRepository: ...
    @property
    def invitations(self) -> InvitationRepository: ...
    @property
    def reports(self) -> ReportRepository: ...
    @property
    def drafts(self) -> DraftRepository: ...
    @property
    def updates(self) -> ProcessedUpdates: ...
    @property
    def outbox(self) -> OutboxRepository: ...
    @property
    def link_codes(self) -> LinkCodeRepository: ...
    @property
    def job_runs(self) -> JobRuns: ...
    @property
    def escalations(self) -> EscalationRepository: ...
    @property
    def subscriptions(self) -> SubscriptionRepository: ...
    @property
    def broadcasts(self) -> BroadcastRepository: ...

    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    async def lock_chat(self, chat_key: str) -> None:
        """Hold a lock on one chat until the transaction ends (advisory lock on PostgreSQL)."""
        ...

    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...
