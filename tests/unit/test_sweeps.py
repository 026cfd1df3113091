"""The sweeps over the in-memory store with a fixed clock: every ladder step, once; drafts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest

from domain.clock import FixedClock
from domain.people import Role
from domain.ports import Draft, UnitOfWorkFactory
from domain.reports import (
    CaseUpdate,
    MediaKind,
    Report,
    ReportEvent,
    ReportStatus,
    StoredMedia,
    Urgency,
)
from handlers.sweeps import Sweeper, SweepSettings
from tests.conversation_harness import MONDAY_9AM, services
from tests.fakes.memory_uow import MemoryStore, MemoryUnitOfWork

# Assigned Monday 30 Nov 2026 09:00 (Hà Nội), due 3 working days later: Thursday 09:00.
ASSIGNED = MONDAY_9AM
DEADLINE = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
# 75 % of 22.5 working hours = 16.875 h: Mon 6.5 h, Tue 7.5 h, Wed 08:00 + 2 h 52 min 30 s.
REMINDER = datetime(2026, 12, 2, 3, 52, 30, tzinfo=UTC)
BOARD_STEP = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)  # Friday 09:00
LEADER_STEP = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)  # Tuesday 09:00 (3 working days)
SECOND = timedelta(seconds=1)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(ASSIGNED)


@pytest.fixture
def sweeper(store: MemoryStore, clock: FixedClock) -> Sweeper:
    return Sweeper(store, services(clock))


async def person(store: MemoryStore, name: str, role: Role, unit: str | None,
                 lead: bool = False) -> int:
    async with store() as uow:
        added = await uow.people.add(name, role, unit, ASSIGNED, ("console", name, name))
        await uow.people.set_lead(added.id, lead)
        await uow.commit()
    return added.id


@pytest.fixture
async def staff(store: MemoryStore) -> dict[str, int]:
    return {
        "lan": await person(store, "lan", Role.COLLABORATOR, "bo-de"),
        "minh": await person(store, "minh", Role.HANDLER, "bo-de"),
        "head": await person(store, "head", Role.HANDLER, "bo-de", lead=True),
        "tam": await person(store, "tam", Role.HANDLER, "gia-thuy"),
        "hung": await person(store, "hung", Role.BOARD, "btg"),
        "leader": await person(store, "leader", Role.BOARD, "btg", lead=True),
    }


def _report(reporter: int, status: ReportStatus, **fields: object) -> Report:
    return Report(
        id=None, code="PA-2026-000001", reporter_id=reporter, category_code="khac",
        ward_code="bo-de", address="Số 5", location=None, description="Xây lấn vỉa hè",
        urgency=Urgency.NORMAL, status=status, created_at=ASSIGNED - timedelta(hours=1),
        acknowledge_deadline=ASSIGNED + timedelta(hours=7), channel="console",
        **fields,  # type: ignore[arg-type]
    )


async def assigned_case(
    store: MemoryStore, reporter: int, media: list[StoredMedia] | None = None
) -> int:
    async with store() as uow:
        report = await uow.reports.add(_report(
            reporter, ReportStatus.ASSIGNED, acknowledged_at=ASSIGNED,
            assigned_unit_code="bo-de", answer_deadline=DEADLINE, media=media or [],
        ))
        assert report.id is not None
        await uow.reports.add_event(ReportEvent(
            report.id, ASSIGNED, None, Role.BOARD, ReportStatus.SUBMITTED, ReportStatus.ASSIGNED
        ))
        await uow.commit()
    return report.id


def inbox(store: MemoryStore) -> dict[str, list[str]]:
    """Texts queued per chat (chat ids are the people's names here)."""
    found: dict[str, list[str]] = {}
    for item in sorted(store.state.outbox.values(), key=lambda i: i.id):
        found.setdefault(item.chat_id, []).append(item.reply.text)
    return found


def notes(store: MemoryStore) -> list[str]:
    return [e.note for e in store.state.events if e.note.startswith("escalation:")]


async def run_at(sweeper: Sweeper, clock: FixedClock, moment: datetime) -> list[str]:
    clock.set(moment)
    return [step for _, step in (await sweeper.run_once()).steps]


async def test_every_step_of_the_ladder_once_and_to_the_right_people(
    store: MemoryStore, clock: FixedClock, sweeper: Sweeper, staff: dict[str, int]
) -> None:
    await assigned_case(store, staff["lan"])
    assert await run_at(sweeper, clock, REMINDER - SECOND) == []
    assert await run_at(sweeper, clock, REMINDER) == ["reminder"]
    assert await run_at(sweeper, clock, REMINDER + timedelta(hours=1)) == []
    assert [k for k in inbox(store)] == ["minh"]
    assert "Nhắc việc: vụ việc PA-2026-000001 cần trả lời trước 09:00 03/12/2026" in (
        inbox(store)["minh"][0]
    )

    assert await run_at(sweeper, clock, DEADLINE - SECOND) == []
    assert await run_at(sweeper, clock, DEADLINE) == ["deadline"]
    assert await run_at(sweeper, clock, BOARD_STEP - SECOND) == []
    assert await run_at(sweeper, clock, BOARD_STEP) == ["board"]
    assert await run_at(sweeper, clock, LEADER_STEP - SECOND) == []
    assert await run_at(sweeper, clock, LEADER_STEP) == ["leader"]
    assert await run_at(sweeper, clock, LEADER_STEP + timedelta(days=30)) == []

    received = {name: len(texts) for name, texts in inbox(store).items()}
    assert received == {"minh": 2, "head": 1, "hung": 1, "leader": 1}
    assert "Lan" not in "".join(inbox(store)["minh"])  # a unit never learns who reported
    assert "quá hạn trả lời 24 giờ" in inbox(store)["hung"][0]
    assert "Báo cáo lãnh đạo" in inbox(store)["leader"][0]
    assert notes(store) == [
        "escalation:reminder", "escalation:deadline", "escalation:board", "escalation:leader",
    ]
    ladder = [e for e in store.state.events if e.note.startswith("escalation:")]
    assert all(e.from_status is e.to_status is ReportStatus.ASSIGNED for e in ladder)
    assert all(e.actor_id is None for e in ladder)


async def test_a_step_says_how_many_photos_the_case_has_without_sending_them_again(
    store: MemoryStore, clock: FixedClock, sweeper: Sweeper, staff: dict[str, int]
) -> None:
    photos = [StoredMedia(c * 64, MediaKind.PHOTO, "image/jpeg", 10) for c in "ab"]
    voice = StoredMedia("c" * 64, MediaKind.VOICE, "audio/ogg", 10)
    await assigned_case(store, staff["lan"], [*photos, voice])
    assert await run_at(sweeper, clock, BOARD_STEP) == ["reminder", "deadline", "board"]
    sent = list(store.state.outbox.values())
    assert {item.chat_id for item in sent} == {"minh", "head", "hung"}
    assert all("• Ảnh: 2" in item.reply.text for item in sent)
    assert all(item.reply.photos == () for item in sent)


async def test_an_answer_committed_between_the_read_and_the_write_stops_the_steps(
    store: MemoryStore, clock: FixedClock, staff: dict[str, int]
) -> None:
    case = await assigned_case(store, staff["lan"])
    opened = 0

    def factory() -> MemoryUnitOfWork:
        nonlocal opened
        opened += 1
        if opened == 2:  # the due cases were read; the unit's answer commits just now
            report = store.state.reports[case]
            store.state.reports[case] = replace(report, status=ReportStatus.ANSWERED)
        return store()

    clock.set(BOARD_STEP)
    result = await Sweeper(cast(UnitOfWorkFactory, factory), services(clock)).run_once()
    assert result.steps == [] and store.state.outbox == {} and notes(store) == []


async def test_after_two_days_down_each_missed_step_fires_once(
    store: MemoryStore, clock: FixedClock, sweeper: Sweeper, staff: dict[str, int]
) -> None:
    await assigned_case(store, staff["lan"])
    assert await run_at(sweeper, clock, REMINDER - SECOND) == []
    # Down from Wednesday to Friday afternoon: the reminder, the deadline and the board's step.
    assert await run_at(sweeper, clock, BOARD_STEP + timedelta(hours=5)) == [
        "reminder", "deadline", "board",
    ]
    assert await run_at(sweeper, clock, BOARD_STEP + timedelta(hours=6)) == []
    assert {k: len(v) for k, v in inbox(store).items()} == {"minh": 2, "head": 1, "hung": 1}


async def test_a_new_deadline_starts_a_fresh_ladder(
    store: MemoryStore, clock: FixedClock, sweeper: Sweeper, staff: dict[str, int]
) -> None:
    report_id = await assigned_case(store, staff["lan"])
    assert await run_at(sweeper, clock, DEADLINE) == ["reminder", "deadline"]
    later = DEADLINE + timedelta(days=7)  # an extension to Thursday 10 Dec
    async with store() as uow:
        extended = CaseUpdate(ReportStatus.ASSIGNED, answer_deadline=later)
        assert await uow.reports.update_if(report_id, ReportStatus.ASSIGNED, extended)
        await uow.commit()
    # 75 % of the 8 working days from the assignment: 6 working days, Tuesday 8 Dec 09:00.
    assert await run_at(sweeper, clock, LEADER_STEP - SECOND) == []
    assert await run_at(sweeper, clock, LEADER_STEP) == ["reminder"]
    assert await run_at(sweeper, clock, later) == ["deadline"]


async def test_cases_that_left_the_unit_are_not_chased(
    store: MemoryStore, clock: FixedClock, sweeper: Sweeper, staff: dict[str, int]
) -> None:
    report_id = await assigned_case(store, staff["lan"])
    async with store() as uow:
        answered = CaseUpdate(ReportStatus.ANSWERED)
        assert await uow.reports.update_if(report_id, ReportStatus.ASSIGNED, answered)
        await uow.commit()
    assert await run_at(sweeper, clock, LEADER_STEP) == []
    assert inbox(store) == {}


async def test_an_unacknowledged_report_goes_to_the_board_then_its_leader(
    store: MemoryStore, clock: FixedClock, sweeper: Sweeper, staff: dict[str, int]
) -> None:
    async with store() as uow:
        report = await uow.reports.add(_report(staff["lan"], ReportStatus.SUBMITTED))
        await uow.commit()
    due = report.acknowledge_deadline
    assert await run_at(sweeper, clock, due - SECOND) == []
    assert await run_at(sweeper, clock, due) == ["ack_board"]
    next_day = due + timedelta(days=1)  # Monday 16:00 -> Tuesday 16:00
    assert await run_at(sweeper, clock, next_day - SECOND) == []
    assert await run_at(sweeper, clock, next_day) == ["ack_leader"]
    assert await run_at(sweeper, clock, next_day + timedelta(days=9)) == []
    assert {k: len(v) for k, v in inbox(store).items()} == {"hung": 1, "leader": 1}
    assert "chưa được tiếp nhận" in inbox(store)["hung"][0]


async def test_without_a_named_leader_every_officer_hears_the_last_step(
    store: MemoryStore, clock: FixedClock, sweeper: Sweeper
) -> None:
    lan = await person(store, "lan", Role.COLLABORATOR, "bo-de")
    await person(store, "hung", Role.BOARD, "btg")
    await person(store, "mai", Role.BOARD, "btg")
    await assigned_case(store, lan)
    steps = await run_at(sweeper, clock, LEADER_STEP)
    assert steps == ["reminder", "deadline", "board", "leader"]  # nobody in the unit to remind
    assert {k: len(v) for k, v in inbox(store).items()} == {"hung": 2, "mai": 2}


async def test_notifications_go_only_to_the_channel_a_person_chose(
    store: MemoryStore, clock: FixedClock, sweeper: Sweeper, staff: dict[str, int]
) -> None:
    async with store() as uow:
        minh = staff["minh"]
        await uow.people.add("x", Role.RESIDENT, None, ASSIGNED, ("zalo", "minh-z", "minh-z"))
        await uow.people.move_identity("zalo", "minh-z", minh)
        await uow.people.set_notify_channel(minh, "zalo")
        await uow.commit()
    await assigned_case(store, staff["lan"])
    await run_at(sweeper, clock, REMINDER)
    assert list(inbox(store)) == ["minh-z"]


async def test_the_sweep_reads_the_clock_on_every_run(
    store: MemoryStore, clock: FixedClock, sweeper: Sweeper, staff: dict[str, int]
) -> None:
    await assigned_case(store, staff["lan"])
    assert (await sweeper.run_once()).steps == []
    clock.set(DEADLINE)
    assert len((await sweeper.run_once()).steps) == 2


# --- abandoned drafts -------------------------------------------------------------------------

async def save_draft(
    store: MemoryStore, person_id: int, at: datetime, flow: str = "report"
) -> None:
    async with store() as uow:
        await uow.drafts.save(Draft(person_id, flow, "category", {}, 3, at, at))
        await uow.commit()


async def test_an_abandoned_draft_is_reminded_once_then_discarded(
    store: MemoryStore, clock: FixedClock, sweeper: Sweeper, staff: dict[str, int]
) -> None:
    lan = staff["lan"]
    await save_draft(store, lan, ASSIGNED)
    clock.set(ASSIGNED + timedelta(hours=24) - SECOND)
    assert (await sweeper.run_once()).drafts_reminded == 0
    clock.set(ASSIGNED + timedelta(hours=24))
    assert (await sweeper.run_once()).drafts_reminded == 1
    clock.set(ASSIGNED + timedelta(days=3))
    assert (await sweeper.run_once()).drafts_reminded == 0
    assert "reminded_at" in store.state.drafts[lan].data
    assert store.state.drafts[lan].updated_at == ASSIGNED  # a reminder is no activity
    clock.set(ASSIGNED + timedelta(days=7) - SECOND)
    assert (await sweeper.run_once()).drafts_discarded == 0
    clock.set(ASSIGNED + timedelta(days=7))
    assert (await sweeper.run_once()).drafts_discarded == 1
    assert lan not in store.state.drafts
    [reminder, discarded] = inbox(store)["lan"]
    assert "phản ánh viết dở" in reminder and "7 ngày" in reminder
    assert "đã được huỷ" in discarded


async def test_a_draft_taken_up_again_and_left_again_is_reminded_again(
    store: MemoryStore, clock: FixedClock, sweeper: Sweeper, staff: dict[str, int]
) -> None:
    lan = staff["lan"]
    await save_draft(store, lan, ASSIGNED)
    clock.set(ASSIGNED + timedelta(hours=24))
    assert (await sweeper.run_once()).drafts_reminded == 1
    back = ASSIGNED + timedelta(hours=30)  # she answers one more step, reminder kept in data
    async with store() as uow:
        draft = store.state.drafts[lan]
        await uow.drafts.save(replace(draft, step="ward", revision=draft.revision + 1,
                                      updated_at=back))
        await uow.commit()
    clock.set(back + timedelta(hours=24) - SECOND)
    assert (await sweeper.run_once()).drafts_reminded == 0
    clock.set(back + timedelta(hours=24))
    assert (await sweeper.run_once()).drafts_reminded == 1
    assert (await sweeper.run_once()).drafts_reminded == 0
    assert len(inbox(store)["lan"]) == 2


async def test_a_person_writing_again_is_not_reminded_and_staff_drafts_are_left_alone(
    store: MemoryStore, clock: FixedClock, sweeper: Sweeper, staff: dict[str, int]
) -> None:
    await save_draft(store, staff["lan"], ASSIGNED + timedelta(hours=20))
    await save_draft(store, staff["hung"], ASSIGNED, flow="assign")
    clock.set(ASSIGNED + timedelta(hours=30))
    result = await sweeper.run_once()
    assert (result.drafts_reminded, result.drafts_discarded) == (0, 0)
    clock.set(ASSIGNED + timedelta(days=8))
    result = await sweeper.run_once()
    assert (result.drafts_reminded, result.drafts_discarded) == (0, 1)
    assert list(inbox(store)) == ["lan"]
    assert staff["hung"] in store.state.drafts


async def test_a_draft_changed_meanwhile_is_not_touched(
    store: MemoryStore, clock: FixedClock, sweeper: Sweeper, staff: dict[str, int]
) -> None:
    await save_draft(store, staff["lan"], ASSIGNED)
    async with store() as uow:
        [stale] = await uow.escalations.stale_drafts("report", ASSIGNED, 10)
        async with store() as writer:  # the person writes before the sweep commits
            await writer.drafts.save(replace(stale, revision=4))
            await writer.commit()
    async with store() as uow:
        assert not await uow.escalations.save_draft_if(replace(stale, revision=4), 3)
        assert not await uow.escalations.delete_draft_if(stale.person_id, 3)


async def test_a_discard_time_in_days_and_a_half_is_said_as_such(
    store: MemoryStore, clock: FixedClock, staff: dict[str, int]
) -> None:
    settings = SweepSettings(draft_discard_after=timedelta(days=1.5))
    sweeper = Sweeper(store, services(clock), settings)
    await save_draft(store, staff["lan"], ASSIGNED)
    clock.set(ASSIGNED + timedelta(hours=24))
    assert (await sweeper.run_once()).drafts_reminded == 1
    [reminder] = inbox(store)["lan"]
    assert "1,5 ngày" in reminder
