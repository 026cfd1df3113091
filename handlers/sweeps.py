"""The periodic sweeps: the escalation ladder of cases whose clock runs out, abandoned drafts,
cases never verified, and scheduled broadcasts (launched when due, closed when delivered).

Framework-free: `scheduler/` calls `Sweeper.run_once()` every SWEEP_SECONDS (and tests call it
directly). "Now" comes from the injected clock on every run. Each step of a ladder is taken once
per case and deadline: `uow.escalations.record_steps` inserts a batch's steps into a table with a
unique key (ON CONFLICT DO NOTHING) in the same transaction as their timeline events and outbox
rows (each written in bulk), so a second sweep (another process, a rerun) finds the steps taken
and sends nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from domain.broadcasts import DeliveryCounts
from domain.messages import OutboxItem, Reply
from domain.people import Person, Role
from domain.ports import DueCase, StepKey, UnitOfWorkFactory
from handlers.cards import board_card_with, handler_card
from handlers.context import Context, Services
from handlers.sweeps_broadcasts import sweep_broadcasts
from handlers.sweeps_context import Audiences, queue, system_context
from handlers.sweeps_drafts import DraftRules, sweep_drafts
from handlers.sweeps_ladder import (
    AUDIENCE,
    LAST_ACK_STEP,
    LAST_UNIT_STEP,
    Audience,
    Rung,
    Step,
    ack_ladder,
    due_rungs,
    unit_ladder,
)
from handlers.sweeps_verification import close_unverified
from handlers.timeline import timeline_event

_MAX_LADDERS = 200_000


@dataclass(frozen=True)
class SweepSettings:
    # Cases whose answer deadline is this close are read to see whether their reminder is due.
    reminder_lookahead: timedelta = timedelta(days=14)
    draft_remind_after: timedelta = timedelta(hours=24)
    draft_discard_after: timedelta = timedelta(days=7)
    max_cases: int = 5000  # read per ladder and run; the rest waits for the next run
    batch_size: int = 100  # cases per transaction
    # Transactions under way at once (PostgreSQL); SQLite's units of work take turns anyway,
    # and a second one waiting would only make a webhook wait behind two batches instead of one.
    writers: int = 1
    broadcasts_per_run: int = 20  # launched per run; the rest at the next run
    # Sending broadcasts looked at per run (earliest first) to close those with no copy left.
    broadcasts_watched: int = 200


@dataclass
class SweepResult:
    steps: list[tuple[str, str]] = field(default_factory=list)  # (case code, step)
    drafts_reminded: int = 0
    drafts_discarded: int = 0
    queued: int = 0
    unverified_closed: list[str] = field(default_factory=list)  # case codes
    # (broadcast code, copies written) for each broadcast launched by this run
    broadcasts_launched: list[tuple[str, int]] = field(default_factory=list)
    # (broadcast code, its delivery report) for each broadcast closed by this run
    broadcasts_finished: list[tuple[str, DeliveryCounts]] = field(default_factory=list)


@dataclass(frozen=True)
class _Work:
    case: DueCase
    rungs: list[Rung]

    @property
    def deadline(self) -> datetime:
        return self.case.clock.deadline


class Sweeper:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        services: Services,
        settings: SweepSettings | None = None,
        on_commit: Callable[[Sequence[OutboxItem]], None] = lambda items: None,
        wake: Callable[[], None] | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._services = services
        self.settings = settings or SweepSettings()
        self._on_commit = on_commit
        # Called after a launch committed copies that nobody offered (dispatcher.wake).
        self._wake = wake
        # Ladders depend only on (deadline, assignment) and the fixed config: computed once.
        self._ladders: dict[tuple[str, datetime, datetime | None], list[Rung]] = {}

    async def run_once(self) -> SweepResult:
        """One sweep at the clock's current moment (read afresh on every run)."""
        now = self._services.clock.now()
        result = SweepResult()
        await self._escalate(await self._due_work(now), now, result)
        reminded, discarded, queued = await sweep_drafts(
            self._uow_factory, self._services, now, self._draft_rules()
        )
        result.drafts_reminded, result.drafts_discarded = reminded, discarded
        result.queued += len(queued)
        self._on_commit(queued)
        closed, queued = await close_unverified(
            self._uow_factory, self._services, now, self.settings.max_cases
        )
        result.unverified_closed = closed
        result.queued += len(queued)
        self._on_commit(queued)
        await self._broadcasts(now, result)
        return result

    async def _broadcasts(self, now: datetime, result: SweepResult) -> None:
        swept = await sweep_broadcasts(
            self._uow_factory, self._services, now, self.settings.broadcasts_per_run,
            self.settings.broadcasts_watched,
        )
        result.broadcasts_launched = swept.launched
        result.broadcasts_finished = swept.finished
        result.queued += len(swept.queued)
        if swept.launched and self._wake is not None:
            self._wake()
        self._on_commit(swept.queued)

    def _draft_rules(self) -> DraftRules:
        s = self.settings
        return DraftRules(s.draft_remind_after, s.draft_discard_after, s.max_cases)

    async def _due_work(self, now: datetime) -> list[_Work]:
        """The cases with a step due: the clocks of every case near its deadline first, then
        the whole cases of those whose ladder has a step due now."""
        limit = self.settings.max_cases
        async with self._uow_factory() as uow:
            until = now + self.settings.reminder_lookahead
            unit = await uow.escalations.unit_clocks(until, LAST_UNIT_STEP, limit)
            unacknowledged = await uow.escalations.unacknowledged_clocks(now, LAST_ACK_STEP, limit)
            rungs = {
                clock: due_rungs(self._ladder("unit", clock.deadline, clock.assigned_at),
                                 clock.fired, now)
                for clock in unit
            } | {
                clock: due_rungs(self._ladder("ack", clock.deadline, None), clock.fired, now)
                for clock in unacknowledged
            }
            cases = await uow.escalations.due_cases([c for c, due in rungs.items() if due])
        return [_Work(case, rungs[case.clock]) for case in cases]

    def _ladder(self, kind: str, deadline: datetime, assigned_at: datetime | None) -> list[Rung]:
        key = (kind, deadline, assigned_at)
        found = self._ladders.get(key)
        if found is None:
            if len(self._ladders) >= _MAX_LADDERS:
                self._ladders.clear()
            rules, calendar = self._services.org.deadlines, self._services.calendar
            found = self._ladders[key] = (
                unit_ladder(deadline, assigned_at, rules, calendar) if kind == "unit"
                else ack_ladder(deadline, rules, calendar)
            )
        return found

    async def _escalate(self, work: list[_Work], now: datetime, result: SweepResult) -> None:
        """The batches, each in its own transaction, `writers` of them under way at once: with
        two, PostgreSQL's server writes one batch while this process renders the next."""
        audiences = Audiences()
        size = self.settings.batch_size
        batches = [work[start:start + size] for start in range(0, len(work), size)]
        taken: list[list[tuple[str, str]]] = [[] for _ in batches]
        pending = iter(enumerate(batches))  # shared: each batch goes to the first free writer

        async def writer() -> None:
            for index, batch in pending:
                taken[index], queued = await self._write_batch(audiences, batch, now)
                result.queued += len(queued)
                self._on_commit(queued)

        try:
            async with asyncio.TaskGroup() as writers:
                for _ in range(min(self.settings.writers, len(batches))):
                    writers.create_task(writer())
        except ExceptionGroup as failed:
            # The batch under way beside the failed one was cancelled and rolled back; what
            # committed stays taken, the rest is taken by the next sweep.
            raise failed.exceptions[0] from None
        result.steps += [step for steps in taken for step in steps]

    async def _write_batch(
        self, audiences: Audiences, batch: list[_Work], now: datetime
    ) -> tuple[list[tuple[str, str]], list[OutboxItem]]:
        async with self._uow_factory() as uow:
            ctx = system_context(uow, self._services, now)
            taken = await _take(ctx, audiences, batch)
            queued = await queue(ctx)
            await uow.commit()
        return taken, queued


def _key(work: _Work, rung: Rung) -> StepKey:
    assert work.case.report.id is not None
    return StepKey(work.case.report.id, rung.step.value, work.deadline)


async def _take(ctx: Context, audiences: Audiences, batch: list[_Work]) -> list[tuple[str, str]]:
    """Take each due step of a batch of cases once: record them all (a step someone took
    before is skipped), add one timeline event each, tell each step's audience."""
    keyed = [(item, rung, _key(item, rung)) for item in batch for rung in item.rungs]
    taken = await ctx.uow.escalations.record_steps([key for _, _, key in keyed], ctx.now)
    due = [(item, rung, key) for item, rung, key in keyed if key in taken]
    cards = _Cards(await ctx.uow.people.get_many({
        item.case.report.reporter_id for item, rung, _ in due
        if AUDIENCE[rung.step] in _OFFICERS
    }))
    events, steps = [], []
    for item, rung, key in due:
        report = item.case.report
        events.append(timeline_event(
            ctx, key.report_id, report.status, report.status, f"escalation:{rung.step}",
            by_system=True,
        ))
        await _tell(ctx, audiences, cards, item, rung)
        steps.append((report.code, rung.step.value))
    await ctx.uow.reports.add_events(events)
    return steps


_OFFICERS = (Audience.BOARD, Audience.LEADER)  # see the board card, with the reporter


class _Cards:
    """The case card without a heading, per (case, role, unit): a case's steps share one
    rendering. Handlers get the case without its reporter, officers the board card."""

    def __init__(self, reporters: dict[int, Person]) -> None:
        self._reporters = reporters
        self._cards: dict[tuple[int, Role, str | None], Reply] = {}

    def of(self, ctx: Context, case: DueCase, person: Person) -> Reply:
        report = case.report
        assert report.id is not None
        key = (report.id, person.role, person.unit_code)
        if key not in self._cards:
            self._cards[key] = (
                handler_card(ctx, report, person, photos=case.photos)
                if person.role is Role.HANDLER
                else board_card_with(
                    ctx, report, person, self._reporters.get(report.reporter_id), case.photos
                )
            )
        return self._cards[key]


async def _tell(
    ctx: Context, audiences: Audiences, cards: _Cards, work: _Work, rung: Rung
) -> None:
    """The case card under the step's heading (one per step, role and unit)."""
    report = work.case.report
    late = max(0, int((ctx.now - work.deadline).total_seconds() // 3600))
    heading = ctx.t(
        f"sweep.step.{rung.step}", code=report.code, deadline=ctx.local_time(work.deadline),
        hours=late,
    )
    headed: dict[tuple[Role, str | None], Reply] = {}
    for person in await audiences.of(ctx.uow, AUDIENCE[rung.step], report.assigned_unit_code):
        key = (person.role, person.unit_code)
        if key not in headed:
            card = cards.of(ctx, work.case, person)
            headed[key] = replace(card, text=f"{heading}\n{card.text}")
        await audiences.notify(ctx, person, headed[key])


__all__ = ["Step", "SweepResult", "SweepSettings", "Sweeper"]
