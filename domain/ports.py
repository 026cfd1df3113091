"""What the conversation core needs from storage: repositories and a unit of work.

The caller commits (as in *Architecture Patterns with Python*); leaving the `async with`
block without `commit()` rolls everything back.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

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
    async def events(self, report_id: int) -> list[ReportEvent]: ...


class DraftRepository(Protocol):
    async def get(self, person_id: int) -> Draft | None: ...
    async def save(self, draft: Draft) -> None: ...
    async def delete(self, person_id: int) -> None: ...


class ProcessedUpdates(Protocol):
    async def record(self, channel: str, update_key: str, now: datetime) -> bool:
        """Remember an incoming update; False if it was recorded before (a redelivery)."""
        ...


class OutboxRepository(Protocol):
    async def add(
        self, channel: str, chat_id: str, reply: Reply, now: datetime, priority: int = 0
    ) -> OutboxItem:
        """Queue a message; returns the stored item (with its id) for a direct hand-off."""
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
    async def failed(self, limit: int) -> list[OutboxItem]:
        """Messages given up on (blocked bot, chat gone, retries exhausted), newest first."""
        ...
    async def all(self) -> list[OutboxItem]: ...


@dataclass(frozen=True)
class DueCase:
    """An open case whose clock is running out, with what the escalation sweep needs of it."""

    report: Report
    # When the current deadline was set (the latest assignment); None for unassigned reports.
    assigned_at: datetime | None
    # Steps already taken for the current deadline.
    fired: frozenset[str]


class EscalationRepository(Protocol):
    """What the sweeps read and write: due cases, the steps taken, drafts left alone."""

    async def unit_cases_due(self, until: datetime, last_step: str, limit: int) -> list[DueCase]:
        """Assigned / in-progress cases whose answer deadline is at or before `until` and
        whose `last_step` was not yet taken for that deadline, nearest deadline first."""
        ...
    async def unacknowledged_due(
        self, until: datetime, last_step: str, limit: int
    ) -> list[DueCase]:
        """Submitted / reopened reports never acknowledged whose acknowledge deadline is at or
        before `until` and whose `last_step` was not yet taken for it."""
        ...
    async def record_step(
        self, report_id: int, step: str, deadline_at: datetime, at: datetime
    ) -> bool:
        """Remember one step of one case's ladder; False if it was taken before (by anyone)."""
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
