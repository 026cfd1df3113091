"""Who each audience reaches (domain/broadcasts.py): the definition of "the right people"."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.org_loader import load_org_config
from domain.broadcasts import (
    Audience,
    AudienceKind,
    Broadcast,
    BroadcastStatus,
    CaseConcern,
    Member,
    Tier,
    count_by_channel,
    select_recipients,
    tier_of,
)
from domain.calendar import WorkingCalendar
from domain.clock import FixedClock
from domain.org import OrgConfig
from domain.people import ChannelIdentity, Person, Role
from domain.reports import Report, ReportStatus, Urgency
from handlers.broadcasting import copy_reply
from handlers.context import Services
from handlers.i18n import Catalog

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
ORG = load_org_config()  # the bundled Long Biên sample: wards, departments, MTTQ, the board


def member(
    pid: int, name: str, role: Role, unit: str | None, *,
    channels: tuple[str, ...] = ("telegram",), notify: str | None = None,
    wards: tuple[str, ...] = (), topics: tuple[str, ...] = (),
) -> Member:
    person = Person(pid, name, role, unit, NOW, notify_channel=notify)
    identities = tuple(
        ChannelIdentity(channel, f"{channel}-{name}", f"{channel}-{name}", pid)
        for channel in channels
    )
    return Member(person, identities, frozenset(wards), frozenset(topics))


# Everyone of a small district, by name.
PEOPLE = [
    member(1, "lan", Role.COLLABORATOR, "bo-de"),
    member(2, "mai", Role.COLLABORATOR, "gia-thuy", channels=("zalo",)),
    member(3, "nga", Role.COLLABORATOR, "mttq"),
    member(4, "minh", Role.HANDLER, "bo-de"),
    member(5, "tam", Role.HANDLER, "gia-thuy"),
    member(6, "quang", Role.HANDLER, "qldt"),  # a district department
    member(7, "hoa", Role.HANDLER, "mttq"),  # the mass organisation
    member(8, "hung", Role.BOARD, "btg"),  # the author in most tests
    member(9, "thu", Role.BOARD, "btg"),
    member(10, "an", Role.RESIDENT, None, wards=("bo-de",)),
    member(11, "binh", Role.RESIDENT, None, topics=("trat-tu-xay-dung",)),
    member(12, "chi", Role.RESIDENT, None, wards=("viet-hung",), topics=("khac",)),
    member(13, "dung", Role.RESIDENT, None),  # follows nothing
    member(14, "admin", Role.ADMIN, None),
    member(15, "kiem", Role.HANDLER, "ubkt"),  # a supervising committee: district level
]
NAMES = {m.person.id: m.person.display_name for m in PEOPLE}
AUTHOR = 8


def reached(
    audience: Audience, members: list[Member] | None = None, *,
    concern: CaseConcern | None = None, exclude: int | None = AUTHOR, org: OrgConfig = ORG,
) -> list[str]:
    recipients = select_recipients(
        audience, members or PEOPLE, org, concern=concern, exclude=exclude
    )
    return sorted(NAMES.get(r.person_id, str(r.person_id)) for r in recipients)


def test_all_collaborators_whatever_their_ward_and_nobody_else() -> None:
    assert reached(Audience(AudienceKind.COLLABORATORS)) == ["lan", "mai", "nga"]


@pytest.mark.parametrize(("tier", "expected"), [
    (Tier.WARD, ["lan", "mai", "minh", "tam"]),
    (Tier.MASS_ORGANISATION, ["hoa", "nga"]),
    # Departments, supervising committees and the board's other officers (not the author).
    (Tier.DISTRICT, ["kiem", "quang", "thu"]),
])
def test_a_tier_reaches_the_collaborators_and_staff_of_that_level(
    tier: Tier, expected: list[str]
) -> None:
    assert reached(Audience(AudienceKind.TIER, tier=tier)) == expected


@pytest.mark.parametrize(("unit", "tier"), [
    ("bo-de", Tier.WARD),
    ("viet-hung", Tier.WARD),
    ("mttq", Tier.MASS_ORGANISATION),
    ("qldt", Tier.DISTRICT),
    ("btg", Tier.DISTRICT),  # the board itself
    ("ubkt", Tier.DISTRICT),
    ("quan-long-bien", Tier.DISTRICT),
    (None, Tier.DISTRICT),
])
def test_tier_of_each_kind_of_unit(unit: str | None, tier: Tier) -> None:
    assert tier_of(ORG, unit) is tier


def test_chosen_wards_reach_their_collaborators_and_handlers_not_their_residents() -> None:
    audience = Audience(AudienceKind.WARDS, wards=("bo-de", "gia-thuy"))
    assert reached(audience) == ["lan", "mai", "minh", "tam"]
    assert reached(Audience(AudienceKind.WARDS, wards=("viet-hung",))) == []


def test_residents_following_any_chosen_ward_or_any_chosen_topic() -> None:
    by_ward = Audience(AudienceKind.RESIDENTS, wards=("bo-de",))
    assert reached(by_ward) == ["an"]
    by_topic = Audience(AudienceKind.RESIDENTS, topics=("khac",))
    assert reached(by_topic) == ["chi"]
    either = Audience(
        AudienceKind.RESIDENTS, wards=("bo-de", "viet-hung"), topics=("trat-tu-xay-dung",)
    )
    assert reached(either) == ["an", "binh", "chi"]  # never "dung", who follows nothing
    assert reached(Audience(AudienceKind.RESIDENTS, wards=("gia-thuy",))) == []


def test_staff_never_get_a_residents_broadcast_even_for_their_ward() -> None:
    audience = Audience(AudienceKind.RESIDENTS, wards=("bo-de",), topics=("khac",))
    assert "lan" not in reached(audience) and "minh" not in reached(audience)


def _case(reporter: int, assigned: str | None = "bo-de") -> CaseConcern:
    report = Report(
        id=1, code="PA-2026-000001", reporter_id=reporter, category_code="trat-tu-xay-dung",
        ward_code="bo-de", address="Số 5", location=None, description="Xây lấn vỉa hè",
        urgency=Urgency.NORMAL, status=ReportStatus.CLOSED, created_at=NOW,
        acknowledge_deadline=NOW, channel="telegram", assigned_unit_code=assigned,
    )
    return CaseConcern(report)


def test_a_case_reaches_reporter_unit_handlers_ward_collaborators_and_following_residents(
) -> None:
    # Mai (Gia Thụy) reported a case in Bồ Đề, handled by the Bồ Đề ward committee.
    audience = Audience(AudienceKind.CASE, case_code="PA-2026-000001")
    assert reached(audience, concern=_case(reporter=2)) == [
        "an",  # follows the ward
        "binh",  # follows the case's category
        "lan",  # collaborator of the ward
        "mai",  # the reporter, though of another ward
        "minh",  # handler of the assigned unit
    ]


def test_a_case_handled_by_a_department_reaches_its_handlers_not_the_wards() -> None:
    audience = Audience(AudienceKind.CASE, case_code="PA-2026-000001")
    names = reached(audience, concern=_case(reporter=1, assigned="qldt"))
    assert names == ["an", "binh", "lan", "quang"]


def test_a_case_audience_without_its_case_reaches_nobody() -> None:
    assert reached(Audience(AudienceKind.CASE, case_code="PA-2026-999999")) == []


def test_the_reporter_is_never_named_in_any_copy() -> None:
    services = Services(ORG, WorkingCalendar(ORG.working_time), FixedClock(NOW), Catalog("vi"))
    audience = Audience(AudienceKind.CASE, case_code="PA-2026-000001")
    broadcast = Broadcast(
        7, "DH-2026-000007", AUTHOR, "Công trình sai phép ở số 5 đã bị tháo dỡ.", None,
        audience, BroadcastStatus.SENDING, NOW, NOW, case_code="PA-2026-000001",
    )
    recipients = select_recipients(audience, PEOPLE, ORG, concern=_case(2), exclude=AUTHOR)
    texts = {r.person_id: copy_reply(services, broadcast, r).text for r in recipients}
    assert 2 in texts  # the reporter gets her copy...
    for text in texts.values():
        assert "mai" not in text.lower()  # ...and nobody's copy names her
        assert "Công trình sai phép ở số 5 đã bị tháo dỡ." in text


def test_one_copy_per_person_on_the_channel_chosen_for_notifications() -> None:
    people = [
        member(21, "both-zalo", Role.COLLABORATOR, "bo-de", channels=("telegram", "zalo"),
               notify="zalo"),
        member(22, "both-any", Role.COLLABORATOR, "bo-de", channels=("zalo", "telegram")),
        # Chose Telegram, but blocked the bot there: storage leaves the identity out.
        member(23, "blocked-tg", Role.COLLABORATOR, "bo-de", channels=("zalo",),
               notify="telegram"),
        member(24, "gone", Role.COLLABORATOR, "bo-de", channels=()),  # unreachable everywhere
    ]
    recipients = select_recipients(Audience(AudienceKind.COLLABORATORS), people, ORG)
    assert [(r.person_id, r.channel) for r in recipients] == [
        (21, "zalo"), (22, "zalo"), (23, "zalo"),  # without a choice: the first joined
    ]
    assert count_by_channel(recipients) == {"zalo": 3}


def test_a_person_listed_twice_still_gets_one_copy() -> None:
    lan = member(1, "lan", Role.COLLABORATOR, "bo-de", channels=("telegram", "zalo"))
    recipients = select_recipients(Audience(AudienceKind.COLLABORATORS), [lan, lan], ORG)
    assert [(r.person_id, r.channel) for r in recipients] == [(1, "telegram")]


def test_the_author_is_left_out_of_an_audience_they_belong_to() -> None:
    everyone_district = Audience(AudienceKind.TIER, tier=Tier.DISTRICT)
    assert "hung" in reached(everyone_district, exclude=None)
    assert "hung" not in reached(everyone_district, exclude=AUTHOR)
    # A collaborator cannot be the author, but the rule holds for any person.
    assert "lan" not in reached(Audience(AudienceKind.COLLABORATORS), exclude=1)


def test_admins_and_unsubscribed_residents_are_in_no_audience() -> None:
    audiences = [
        Audience(AudienceKind.COLLABORATORS),
        *(Audience(AudienceKind.TIER, tier=tier) for tier in Tier),
        Audience(AudienceKind.WARDS, wards=tuple(u.code for u in ORG.units)),
        Audience(AudienceKind.RESIDENTS, wards=tuple(u.code for u in ORG.units),
                 topics=tuple(c.code for c in ORG.categories)),
        Audience(AudienceKind.CASE, case_code="PA-2026-000001"),
    ]
    for audience in audiences:
        names = reached(audience, concern=_case(1), exclude=None)
        assert "admin" not in names and "dung" not in names, audience


def test_only_collaborators_are_asked_to_relay() -> None:
    audience = Audience(AudienceKind.WARDS, wards=("bo-de",))
    recipients = select_recipients(audience, PEOPLE, ORG, exclude=AUTHOR)
    assert {NAMES[r.person_id]: r.relays for r in recipients} == {"lan": True, "minh": False}


def test_relay_is_a_button_on_telegram_and_a_keyword_on_zalo() -> None:
    services = Services(ORG, WorkingCalendar(ORG.working_time), FixedClock(NOW), Catalog("vi"))
    audience = Audience(AudienceKind.COLLABORATORS)
    broadcast = Broadcast(9, "DH-2026-000009", AUTHOR, "Lịch cắt điện", None, audience,
                          BroadcastStatus.SENDING, NOW, NOW)
    by_channel = {
        r.channel: copy_reply(services, broadcast, r)
        for r in select_recipients(audience, PEOPLE, ORG)
    }
    assert [c.label for c in by_channel["telegram"].choices] == ["✅ Đã phổ biến"]
    assert by_channel["zalo"].choices == ()
    assert "ĐÃ PHỔ BIẾN" in by_channel["zalo"].text


def test_an_audience_survives_its_json_form() -> None:
    for audience in (
        Audience(AudienceKind.TIER, tier=Tier.MASS_ORGANISATION),
        Audience(AudienceKind.RESIDENTS, wards=("bo-de",), topics=("khac",)),
        Audience(AudienceKind.CASE, case_code="PA-2026-000001"),
    ):
        assert Audience.from_json(audience.to_json()) == audience
