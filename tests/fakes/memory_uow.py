"""In-memory repositories and unit of work for fast unit tests of the conversation core.

Committed state lives in `MemoryStore`; a unit of work works on a copy and publishes it on commit,
so a test can see that an uncommitted change is really thrown away.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import TracebackType
from typing import Self

from domain.broadcasts import Broadcast
from domain.invitations import Invitation
from domain.messages import OutboxItem
from domain.people import ChannelIdentity, Person, Role
from domain.ports import CaseClock, Draft, DueCase, StepKey
from domain.reports import CaseUpdate, Report, ReportEvent, ReportStatus
from tests.fakes.memory_broadcasts import (
    MemoryBroadcasts,
    MemoryCopy,
    MemoryOutbox,
    MemorySubscriptions,
)

__all__ = ["MemoryOutbox", "MemoryState", "MemoryStore", "MemoryUnitOfWork"]


@dataclass
class MemoryState:
    people: dict[int, Person] = field(default_factory=dict)
    identities: dict[tuple[str, str], ChannelIdentity] = field(default_factory=dict)
    invitations: dict[str, Invitation] = field(default_factory=dict)
    reports: dict[int, Report] = field(default_factory=dict)
    events: list[ReportEvent] = field(default_factory=list)
    counters: dict[int, int] = field(default_factory=dict)
    drafts: dict[int, Draft] = field(default_factory=dict)
    updates: set[tuple[str, str]] = field(default_factory=set)
    outbox: dict[int, OutboxItem] = field(default_factory=dict)
    link_codes: dict[str, tuple[int, datetime, bool]] = field(default_factory=dict)
    job_runs: dict[str, datetime] = field(default_factory=dict)
    escalation_steps: dict[tuple[int, str, datetime], datetime] = field(default_factory=dict)
    # Broadcasts: identities' creation and blocking, outbox rows failed because of a block.
    identity_added: dict[tuple[str, str], datetime] = field(default_factory=dict)
    unreachable: dict[tuple[str, str], datetime] = field(default_factory=dict)
    blocked: set[int] = field(default_factory=set)
    subscriptions: dict[tuple[int, str, str], datetime] = field(default_factory=dict)
    broadcasts: dict[int, Broadcast] = field(default_factory=dict)
    broadcast_counters: dict[int, int] = field(default_factory=dict)
    copies: dict[tuple[int, int], MemoryCopy] = field(default_factory=dict)


class MemoryPeople:
    def __init__(self, state: MemoryState) -> None:
        self._s = state

    async def by_identity(self, channel: str, external_id: str) -> Person | None:
        identity = self._s.identities.get((channel, external_id))
        return None if identity is None else self._s.people[identity.person_id]

    async def get(self, person_id: int) -> Person | None:
        return self._s.people.get(person_id)

    async def get_many(self, person_ids: Collection[int]) -> dict[int, Person]:
        return {i: self._s.people[i] for i in set(person_ids) if i in self._s.people}

    async def add(
        self, display_name: str, role: Role, unit_code: str | None, now: datetime,
        identity: tuple[str, str, str],
    ) -> Person:
        person = Person(len(self._s.people) + 1, display_name, role, unit_code, now)
        self._s.people[person.id] = person
        channel, external_id, chat_id = identity
        self._s.identities[(channel, external_id)] = ChannelIdentity(
            channel, external_id, chat_id, person.id
        )
        self._s.identity_added[(channel, external_id)] = now
        return person

    async def set_role(self, person_id: int, role: Role, unit_code: str | None) -> None:
        self._s.people[person_id] = replace(
            self._s.people[person_id], role=role, unit_code=unit_code
        )

    async def identities(self, person_id: int) -> list[ChannelIdentity]:
        return [i for i in self._s.identities.values() if i.person_id == person_id]

    async def with_role(self, role: Role, unit_code: str | None = None) -> list[Person]:
        return [
            p for p in self._s.people.values()
            if p.role is role and (unit_code is None or p.unit_code == unit_code)
        ]

    async def move_identity(self, channel: str, external_id: str, person_id: int) -> None:
        self._s.identities[(channel, external_id)] = replace(
            self._s.identities[(channel, external_id)], person_id=person_id
        )

    async def set_notify_channel(self, person_id: int, channel: str | None) -> None:
        self._s.people[person_id] = replace(self._s.people[person_id], notify_channel=channel)

    async def set_lead(self, person_id: int, lead: bool) -> None:
        self._s.people[person_id] = replace(self._s.people[person_id], lead=lead)

    async def heard_from(self, channel: str, external_id: str) -> Person | None:
        self._s.unreachable.pop((channel, external_id), None)
        return await self.by_identity(channel, external_id)


class MemoryLinkCodes:
    def __init__(self, state: MemoryState) -> None:
        self._s = state

    async def add(self, code: str, person_id: int, expires_at: datetime) -> None:
        self._s.link_codes[code] = (person_id, expires_at, False)

    async def take(self, code: str, now: datetime) -> int | None:
        found = self._s.link_codes.get(code)
        if found is None or found[2] or now >= found[1]:
            return None
        self._s.link_codes[code] = (found[0], found[1], True)
        return found[0]


class MemoryJobRuns:
    def __init__(self, state: MemoryState) -> None:
        self._s = state

    async def claim(self, name: str, at: datetime) -> bool:
        if name in self._s.job_runs:
            return False
        self._s.job_runs[name] = at
        return True

    async def ran(self, name: str) -> bool:
        return name in self._s.job_runs

    async def claimed_at(self, name: str) -> datetime | None:
        return self._s.job_runs.get(name)


class MemoryInvitations:
    def __init__(self, state: MemoryState) -> None:
        self._s = state

    async def add(self, invitation: Invitation) -> None:
        self._s.invitations[invitation.code] = invitation

    async def get(self, code: str) -> Invitation | None:
        return self._s.invitations.get(code)

    async def mark_used(self, code: str, person_id: int, at: datetime) -> bool:
        invitation = self._s.invitations.get(code)
        if invitation is None or invitation.used_at is not None:
            return False
        invitation.used_at, invitation.used_by = at, person_id
        return True


class MemoryReports:
    def __init__(self, state: MemoryState) -> None:
        self._s = state

    async def next_number(self, year: int) -> int:
        self._s.counters[year] = self._s.counters.get(year, 0) + 1
        return self._s.counters[year]

    async def add(self, report: Report) -> Report:
        stored = replace(report, id=len(self._s.reports) + 1, media=list(report.media))
        self._s.reports[stored.id or 0] = stored
        return stored

    async def by_code(self, code: str) -> Report | None:
        return next((r for r in self._s.reports.values() if r.code == code), None)

    async def for_reporter(self, person_id: int) -> list[Report]:
        return [r for r in self._s.reports.values() if r.reporter_id == person_id]

    async def all(self) -> list[Report]:
        return list(self._s.reports.values())

    async def update_if(self, report_id: int, expected: ReportStatus, change: CaseUpdate) -> bool:
        report = self._s.reports.get(report_id)
        if report is None or report.status is not expected:
            return False
        fields = {
            k: v for k, v in vars(change).items()
            if v is not None and k not in ("clear_assignment", "clear_resolution")
        }
        if change.clear_assignment:
            fields |= {"assigned_unit_code": None, "answer_deadline": None}
        if change.clear_resolution:
            fields["resolved_at"] = None
        self._s.reports[report_id] = replace(report, **fields)
        return True

    async def with_status(
        self, statuses: Collection[ReportStatus], unit_code: str | None = None
    ) -> list[Report]:
        return sorted(
            (
                r for r in self._s.reports.values()
                if r.status in statuses and (unit_code is None or r.assigned_unit_code == unit_code)
            ),
            key=lambda r: (r.created_at, r.id or 0),
        )

    async def add_event(self, event: ReportEvent) -> None:
        self._s.events.append(event)

    async def add_events(self, events: Sequence[ReportEvent]) -> None:
        self._s.events.extend(events)

    async def events(self, report_id: int) -> list[ReportEvent]:
        return [e for e in self._s.events if e.report_id == report_id]


class MemoryDrafts:
    def __init__(self, state: MemoryState) -> None:
        self._s = state

    async def get(self, person_id: int) -> Draft | None:
        return copy.deepcopy(self._s.drafts.get(person_id))

    async def save(self, draft: Draft) -> None:
        self._s.drafts[draft.person_id] = copy.deepcopy(draft)

    async def delete(self, person_id: int) -> None:
        self._s.drafts.pop(person_id, None)


class MemoryUpdates:
    def __init__(self, state: MemoryState) -> None:
        self._s = state

    async def record(self, channel: str, update_key: str, now: datetime) -> bool:
        if (channel, update_key) in self._s.updates:
            return False
        self._s.updates.add((channel, update_key))
        return True


_UNIT_WORK = (ReportStatus.ASSIGNED, ReportStatus.IN_PROGRESS)
_UNACKNOWLEDGED = (ReportStatus.SUBMITTED, ReportStatus.REOPENED)


class MemoryEscalations:
    def __init__(self, state: MemoryState) -> None:
        self._s = state

    async def unit_clocks(self, until: datetime, last_step: str, limit: int) -> list[CaseClock]:
        found = [
            (r.answer_deadline, r) for r in self._s.reports.values()
            if r.status in _UNIT_WORK and r.answer_deadline is not None
            and r.answer_deadline <= until
        ]
        return self._clocks(found, last_step, limit, assigned=True)

    async def unacknowledged_clocks(
        self, until: datetime, last_step: str, limit: int
    ) -> list[CaseClock]:
        found = [
            (r.acknowledge_deadline, r) for r in self._s.reports.values()
            if r.status in _UNACKNOWLEDGED and r.acknowledged_at is None
            and r.acknowledge_deadline <= until
        ]
        return self._clocks(found, last_step, limit, assigned=False)

    def _clocks(
        self, found: list[tuple[datetime, Report]], last: str, limit: int, assigned: bool
    ) -> list[CaseClock]:
        clocks = []
        for deadline, report in sorted(found, key=lambda pair: (pair[0], pair[1].id or 0)):
            assert report.id is not None
            fired = frozenset(
                step for (rid, step, at) in self._s.escalation_steps
                if rid == report.id and at == deadline
            )
            if last not in fired:
                assigned_at = self._assigned_at(report) if assigned else None
                clocks.append(CaseClock(report.id, deadline, assigned_at, fired))
        return clocks[:limit]

    async def due_cases(self, clocks: Sequence[CaseClock]) -> list[DueCase]:
        cases = []
        for clock in clocks:
            report = self._s.reports.get(clock.report_id)
            if report is not None:  # without its media, as the SQL repository reads it
                bare = replace(copy.deepcopy(report), media=[])
                cases.append(DueCase(bare, clock, report.photo_count))
        return cases

    def _assigned_at(self, report: Report) -> datetime | None:
        times = [
            e.at for e in self._s.events
            if e.report_id == report.id and (
                # assigned (not a note or an escalation step), or the answer sent back
                (e.to_status is ReportStatus.ASSIGNED
                 and e.from_status is not ReportStatus.ASSIGNED)
                or (e.from_status is ReportStatus.ANSWERED
                    and e.to_status is ReportStatus.IN_PROGRESS)
            )
        ]
        return max(times, default=None)

    async def record_step(
        self, report_id: int, step: str, deadline_at: datetime, at: datetime
    ) -> bool:
        key = (report_id, step, deadline_at)
        if key in self._s.escalation_steps:
            return False
        self._s.escalation_steps[key] = at
        return True

    async def record_steps(self, steps: Sequence[StepKey], at: datetime) -> set[StepKey]:
        still = [s for s in sorted(set(steps)) if self._still_due(s)]
        return {s for s in still if await self.record_step(*s, at)}

    def _still_due(self, step: StepKey) -> bool:
        """The case still waits on that deadline (as the SQL repositories check it)."""
        report = self._s.reports.get(step.report_id)
        if report is None:
            return False
        unit = report.status in _UNIT_WORK and report.answer_deadline == step.deadline_at
        waiting = (report.status in _UNACKNOWLEDGED and report.acknowledged_at is None
                   and report.acknowledge_deadline == step.deadline_at)
        return unit or waiting

    async def steps_taken(self, report_ids: Sequence[int]) -> list[StepKey]:
        wanted = set(report_ids)
        return [StepKey(*key) for key in self._s.escalation_steps if key[0] in wanted]

    async def forget_steps(self, report_id: int, deadline_at: datetime) -> None:
        steps = self._s.escalation_steps
        for key in [k for k in steps if (k[0], k[2]) == (report_id, deadline_at)]:
            del steps[key]

    async def stale_drafts(self, flow: str, before: datetime, limit: int) -> list[Draft]:
        drafts = [d for d in self._s.drafts.values() if d.flow == flow and d.updated_at <= before]
        drafts.sort(key=lambda d: (d.updated_at, d.person_id))
        return copy.deepcopy(drafts[:limit])

    async def save_draft_if(self, draft: Draft, revision: int) -> bool:
        current = self._s.drafts.get(draft.person_id)
        if current is None or current.revision != revision:
            return False
        current.data, current.revision = copy.deepcopy(draft.data), draft.revision
        return True

    async def delete_draft_if(self, person_id: int, revision: int) -> bool:
        current = self._s.drafts.get(person_id)
        if current is None or current.revision != revision:
            return False
        del self._s.drafts[person_id]
        return True


class MemoryUnitOfWork:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._state = copy.deepcopy(store.state)
        self.people = MemoryPeople(self._state)
        self.invitations = MemoryInvitations(self._state)
        self.reports = MemoryReports(self._state)
        self.drafts = MemoryDrafts(self._state)
        self.updates = MemoryUpdates(self._state)
        self.outbox = MemoryOutbox(self._state)
        self.link_codes = MemoryLinkCodes(self._state)
        self.job_runs = MemoryJobRuns(self._state)
        self.escalations = MemoryEscalations(self._state)
        self.subscriptions = MemorySubscriptions(self._state)
        self.broadcasts = MemoryBroadcasts(self._state)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    async def lock_chat(self, chat_key: str) -> None:
        return None

    async def commit(self) -> None:
        self._store.state = copy.deepcopy(self._state)
        self._store.commits += 1

    async def rollback(self) -> None:
        return None


class MemoryStore:
    """Committed state plus a factory of units of work over it."""

    def __init__(self) -> None:
        self.state = MemoryState()
        self.commits = 0

    def __call__(self) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self)
