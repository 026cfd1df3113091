"""A hand-counted month (October 2026, Asia/Ho_Chi_Minh = UTC+7) built through the repositories.

66 reports are filed in October (local time), in groups whose timelines follow the lifecycle:

| group | n  | path                                                 | answered after | notes      |
|-------|----|------------------------------------------------------|----------------|------------|
| G1    | 23 | assigned, in progress, answered, closed              | 3.0 d          | 2 hot      |
| G2    | 19 | handled directly by the board, answered, closed      | 1.0 d          | 10 no dl.  |
| G3    |  5 | as G1, closed after the answer deadline              | 6.0 d          | late       |
| G4    |  4 | answered, sent back, answered again, closed          | 2.5 d          |            |
| G5    |  6 | answered, verifying, closed "verified"               | 2.0 d          |            |
| G6    |  2 | answered, verifying, closed "not_verified" / "unsure"| 2.0 d          | not counted|
| G7    |  3 | verifying -> reopened, assigned again, "verified"    | 4.0 d          | 1 late     |
| G8    |  1 | verifying -> reopened, still open, deadline passed   | 5.0 d          | overdue    |
| G9    |  1 | submitted 06:30 Oct 1 (Sep 30 UTC), not acknowledged |                | overdue    |
| G10   |  1 | in progress, hot, filed 23:30 Oct 31                 |                |            |
| G11   |  1 | answered, filed at 00:00 Oct 1 (Sep 30 17:00 UTC)    | 1.5 d          |            |

Hand count: 62 of 66 closed (93.9 %); 19 board direct; on time 62 - 5 (G3) - 1 (G7) = 56;
first time 62 - 4 (G4) - 3 (G7) = 55; reopened 3 + 1 = 4; verification answered 6 + 3 + 1 = 10,
fixed 6 + 3 = 9; median of the 64 first answers = (2.5 + 3.0) / 2 = 2.75 -> 2.8 days.

Outside October: P1 (September, assigned, reopened once, overdue), P2 (23:59 Sep 30, closed
"verified"), N1 (00:30 Nov 1 = Oct 31 17:30 UTC, unacknowledged, not yet due), N2 (Nov 15,
board direct, closed). None of them may count, except P1 on the overdue list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from domain.people import Role
from domain.ports import UnitOfWorkFactory
from domain.reports import Report, ReportEvent, ReportStatus, Urgency, report_code
from tests.storage.builders import add_person

S = ReportStatus
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MONTH = date(2026, 10, 1)
NOW = datetime(2026, 11, 2, 8, 0, tzinfo=TZ)  # the first working day of November
XD, DT, GT = "trat-tu-xay-dung", "trat-tu-do-thi", "an-toan-giao-thong"
MT, GP, KH = "ve-sinh-moi-truong", "giai-phong-mat-bang", "khac"

# (from, to, days after filing, note)
Step = tuple[S, S, float, str]


def local(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


def assigned_path(answered: float) -> list[Step]:
    return [(S.SUBMITTED, S.ASSIGNED, 0.05, ""), (S.ASSIGNED, S.IN_PROGRESS, 0.1, ""),
            (S.IN_PROGRESS, S.ANSWERED, answered, "")]


def verified(answered: float, note: str) -> list[Step]:
    return [*assigned_path(answered), (S.ANSWERED, S.VERIFYING, answered + 0.2, ""),
            (S.VERIFYING, S.CLOSED, answered + 2.0, note)]


def reopened_path(answered: float) -> list[Step]:
    return [*assigned_path(answered), (S.ANSWERED, S.VERIFYING, answered + 0.2, ""),
            (S.VERIFYING, S.REOPENED, answered + 1.0, "")]


G7_PATH = [*reopened_path(4.0), (S.REOPENED, S.ASSIGNED, 5.1, ""),
           (S.ASSIGNED, S.IN_PROGRESS, 5.2, ""), (S.IN_PROGRESS, S.ANSWERED, 7.0, ""),
           (S.ANSWERED, S.VERIFYING, 7.1, ""), (S.VERIFYING, S.CLOSED, 8.0, "verified")]


@dataclass
class Case:
    created_at: datetime
    category: str
    ward: str
    steps: list[Step]
    deadline_days: float | None = 5.0  # answer deadline after filing; None: no deadline
    urgency: Urgency = Urgency.NORMAL
    board_direct: bool = False
    answer_deadline: datetime | None = None  # an explicit one wins over deadline_days
    acknowledge_deadline: datetime | None = None  # default: 8 hours after filing

    @property
    def status(self) -> S:
        return self.steps[-1][1] if self.steps else S.SUBMITTED


def _spread(index: int) -> datetime:
    return local(10, 2 + index % 25, 8 + index % 9, 15)


def october() -> list[Case]:
    cases: list[Case] = []
    for i in range(23):
        cases.append(Case(_spread(len(cases)), XD if i < 10 else DT if i < 18 else GT,
                          "bo-de" if i < 12 else "cu-khoi",
                          [*assigned_path(3.0), (S.ANSWERED, S.CLOSED, 3.5, "")],
                          urgency=Urgency.HOT if i < 2 else Urgency.NORMAL))
    for i in range(19):
        cases.append(Case(_spread(len(cases)), MT if i < 9 else XD, "duc-giang",
                          [(S.SUBMITTED, S.BOARD_DIRECT, 0.05, ""),
                           (S.BOARD_DIRECT, S.ANSWERED, 1.0, ""), (S.ANSWERED, S.CLOSED, 1.2, "")],
                          deadline_days=None if i < 10 else 3.0, board_direct=True))
    for _ in range(5):
        cases.append(Case(_spread(len(cases)), DT, "gia-thuy",
                          [*assigned_path(6.0), (S.ANSWERED, S.CLOSED, 6.5, "")]))
    for _ in range(4):
        cases.append(Case(_spread(len(cases)), GT, "bo-de",
                          [*assigned_path(2.5), (S.ANSWERED, S.IN_PROGRESS, 2.7, "vague"),
                           (S.IN_PROGRESS, S.ANSWERED, 3.5, ""), (S.ANSWERED, S.CLOSED, 4.0, "")]))
    for _ in range(6):
        cases.append(Case(_spread(len(cases)), KH, "cu-khoi", verified(2.0, "verified")))
    for note in ("not_verified", "unsure"):  # silence; "don't know"
        cases.append(Case(_spread(len(cases)), GP, "cu-khoi", verified(2.0, note)))
    for i in range(3):
        cases.append(Case(_spread(len(cases)), XD, "giang-bien", G7_PATH,
                          deadline_days=7.5 if i == 0 else 10.0))
    cases.append(Case(local(10, 10), XD, "giang-bien", reopened_path(5.0),
                      answer_deadline=local(10, 20, 17)))                                    # G8
    cases.append(Case(local(10, 1, 6, 30), MT, "bo-de", [], deadline_days=None))             # G9
    cases.append(Case(local(10, 31, 23, 30), GT, "duc-giang",
                      [(S.SUBMITTED, S.ASSIGNED, 0.01, ""), (S.ASSIGNED, S.IN_PROGRESS, 0.02, "")],
                      urgency=Urgency.HOT, answer_deadline=local(11, 3, 17)))               # G10
    cases.append(Case(local(10, 1, 0, 0), DT, "duc-giang", assigned_path(1.5),
                      answer_deadline=local(11, 4, 17)))                                     # G11
    return cases


def outside() -> list[Case]:
    return [
        Case(local(9, 10), XD, "bo-de", [*reopened_path(2.0), (S.REOPENED, S.ASSIGNED, 4.0, "")],
             answer_deadline=local(9, 30, 17)),                                              # P1
        Case(local(9, 30, 23, 59), KH, "bo-de", verified(1.0, "verified")),                  # P2
        Case(local(11, 1, 0, 30), XD, "bo-de", [], deadline_days=None,
             acknowledge_deadline=local(11, 2, 17)),                                         # N1
        Case(local(11, 15), MT, "duc-giang",
             [(S.SUBMITTED, S.BOARD_DIRECT, 0.05, ""), (S.BOARD_DIRECT, S.ANSWERED, 1.0, ""),
              (S.ANSWERED, S.CLOSED, 1.2, "")], board_direct=True),                          # N2
    ]


def _report(case: Case, number: int, reporter_id: int) -> Report:
    at = case.created_at
    after = {to: at + timedelta(days=days) for _, to, days, _ in case.steps}
    deadline = case.answer_deadline
    if deadline is None and case.deadline_days is not None and case.steps:
        deadline = at + timedelta(days=case.deadline_days)
    acknowledged = at + timedelta(days=case.steps[0][2]) if case.steps else None
    return Report(
        id=None, code=report_code(2026, number), reporter_id=reporter_id,
        category_code=case.category, ward_code=case.ward, address=None, location=None,
        description="fixture", urgency=case.urgency, status=case.status, created_at=at,
        acknowledge_deadline=case.acknowledge_deadline or at + timedelta(hours=8),
        channel="telegram",
        acknowledged_at=acknowledged, answer_deadline=deadline, board_direct=case.board_direct,
        assigned_unit_code=case.ward, resolved_at=after.get(S.CLOSED),
    )


async def build(
    factory: UnitOfWorkFactory, groups: dict[str, list[Case]] | None = None
) -> dict[str, list[str]]:
    """Store the fixture (or `groups` of cases); returns the codes of each group."""
    groups = groups or {"october": october(), "outside": outside()}
    codes: dict[str, list[str]] = {name: [] for name in groups}
    async with factory() as uow:
        reporter = await add_person(uow, "900")
        officer = await add_person(uow, "901", Role.BOARD, "btg")
        number = 0
        for group, cases in groups.items():
            for case in cases:
                number += 1
                stored = await uow.reports.add(_report(case, number, reporter.id))
                assert stored.id is not None
                codes[group].append(stored.code)
                for source, target, days, note in case.steps:
                    await uow.reports.add_event(ReportEvent(
                        stored.id, case.created_at + timedelta(days=days), officer.id,
                        Role.BOARD, source, target, note))
        await uow.commit()
    return codes
