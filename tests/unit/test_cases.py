"""Case handling through the core: board, handler and reporter, each in their own chat."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from domain.clock import FixedClock
from domain.people import Role
from domain.reports import ReportStatus
from handlers.admin import create_invitations
from handlers.cards import command_for
from handlers.context import Services
from handlers.service import ConversationService
from handlers.sweeps import Sweeper
from tests.conversation_harness import Person, file_report, join, services, small_org
from tests.fakes.memory_uow import MemoryStore


@pytest.fixture
async def people(store: MemoryStore, clock: FixedClock) -> dict[str, Person]:
    return {
        "lan": await join(store, clock, "Lan", Role.COLLABORATOR, "bo-de"),
        "board": await join(store, clock, "Hùng", Role.BOARD, None),
        "handler": await join(store, clock, "Minh", Role.HANDLER, "bo-de"),
        "other": await join(store, clock, "Tâm", Role.HANDLER, "gia-thuy"),
    }


async def assign_first_case(board: Person, code: str = "PA-2026-000001") -> None:
    """The case to the suggested unit, with the deadline of the rules."""
    await board.press_payload(f"c:assign:{code}")
    await board.press("(đề xuất)")
    await board.press("Theo quy định")


async def answer_without_photo(handler: Person, code: str = "PA-2026-000001") -> None:
    await handler.press_payload(f"c:answer:{code}")
    await handler.say("Đã dọn")
    await handler.press("Không có ảnh")
    await handler.say("Không mang máy")


def texts(person: Person) -> str:
    return "\n".join(r.text for r in person.last)


async def test_the_whole_lifecycle(store: MemoryStore, people: dict[str, Person]) -> None:
    lan, board, handler, other = (people[k] for k in ("lan", "board", "handler", "other"))
    await file_report(lan, photo=b"scene")
    card = board._new_replies()
    assert any("PA-2026-000001" in r.text and "Lan" in r.text for r in card)
    board.last = card

    await board.press("Giao xử lý")
    await board.press("(đề xuất)")
    done = await board.press("Theo quy định")
    assert "Đã giao PA-2026-000001" in done[-1].text
    assert "chuyển Phường Bồ Đề xử lý, hạn" in lan._new_replies()[-1].text
    assigned = handler._new_replies()
    assert assigned and "Lan" not in "\n".join(r.text for r in assigned)
    assert other._new_replies() == []

    await handler.press("Tiếp nhận")
    await handler.press("Trả lời")
    await handler.say("Đã yêu cầu tháo dỡ phần lấn chiếm")
    await handler.photo(b"fixed")
    await handler.press("Gửi trả lời")
    review = board._new_replies()
    assert any("Đã yêu cầu tháo dỡ" in r.text for r in review)

    await board.press("Trả lại")
    await board.say("Cần ảnh sau khi tháo dỡ")
    sent_back = handler._new_replies()
    assert any("Cần ảnh sau khi tháo dỡ" in r.text for r in sent_back)

    await handler.press("Trả lời")
    await handler.say("Đã tháo dỡ xong")
    await handler.photo(b"after")
    await handler.press("Gửi trả lời")
    board._new_replies()
    await board.press("Chấp nhận")
    final = lan._new_replies()
    assert any("Đã tháo dỡ xong" in r.text for r in final)
    evidence = [r.photos for r in final if r.photos]
    assert evidence and evidence[0]  # the evidence photo reaches the reporter
    assert "thực sự được giải quyết chưa" in final[-1].text
    detail = await lan.say("/trangthai PA-2026-000001")
    assert "Chờ xác nhận kết quả" in detail[-1].text and "Đã tháo dỡ xong" in detail[-1].text
    assert [r.photos for r in detail if r.photos] == evidence
    lan.last = final
    thanks = await lan.press("Đã giải quyết")
    assert "đã khép lại" in thanks[-1].text

    [report] = store.state.reports.values()
    assert report.status is ReportStatus.CLOSED and report.assigned_unit_code == "bo-de"
    assert report.acknowledged_at is not None and report.resolved_at is not None
    steps = [(e.from_status.value, e.to_status.value) for e in store.state.events]
    assert steps == [
        ("draft", "submitted"), ("submitted", "assigned"), ("assigned", "in_progress"),
        ("in_progress", "answered"), ("answered", "in_progress"), ("in_progress", "answered"),
        ("answered", "verifying"), ("verifying", "closed"),
    ]
    assert store.state.events[-1].note == "verified"
    for item in store.state.outbox.values():
        if item.chat_id in (handler.user_id, other.user_id):
            assert "Lan" not in item.reply.text


FORBIDDEN = {
    "lan": ["assign", "direct", "reject", "duplicate", "accept", "note", "answer", "reassign",
            "approve", "sendback"],
    "other": ["accept", "note", "answer", "reassign", "assign", "approve"],
    "handler": ["assign", "direct", "reject", "duplicate", "approve", "sendback"],
    "board": ["accept", "reassign", "answer", "note"],
}


@pytest.mark.parametrize(("who", "action"), [(w, a) for w, acts in FORBIDDEN.items() for a in acts])
async def test_forged_payloads_change_nothing(
    store: MemoryStore, people: dict[str, Person], who: str, action: str
) -> None:
    await file_report(people["lan"], photo=b"scene")
    await people["board"].press("Giao xử lý")
    await people["board"].press("(đề xuất)")
    await people["board"].press("Theo quy định")
    before = (dict(store.state.reports), list(store.state.events))
    actor = people[who]
    replies = await actor.press_payload(f"c:{action}:PA-2026-000001")
    for text in ("Lý do", "Gõ"):
        assert all(text not in r.text for r in replies)
    assert (dict(store.state.reports), list(store.state.events)) == before
    assert store.state.drafts.get(next(
        p.id for p in store.state.people.values() if p.display_name == actor.name
    )) is None


async def test_two_officers_assign_at_once_one_wins(
    store: MemoryStore, clock: FixedClock, people: dict[str, Person]
) -> None:
    second = await join(store, clock, "Hoa", Role.BOARD, None)
    await file_report(people["lan"], photo=b"scene")
    first = people["board"]
    for officer in (first, second):
        officer._new_replies()
        await officer.press_payload("c:assign:PA-2026-000001")
        await officer.press("(đề xuất)")
    await first.press("Theo quy định")
    late = await second.press("Theo quy định")
    assert "đã được xử lý trước đó" in late[-1].text
    assigned = [e for e in store.state.events if e.to_status is ReportStatus.ASSIGNED]
    assert len(assigned) == 1


async def test_reject_and_duplicate_tell_the_reporter(
    store: MemoryStore, people: dict[str, Person]
) -> None:
    lan, board = people["lan"], people["board"]
    await file_report(lan, photo=b"scene")
    await file_report(lan, photo=b"scene")
    lan._new_replies()
    await board.press_payload("c:duplicate:PA-2026-000002")
    await board.say("PA-2026-1")
    assert "trùng với vụ việc PA-2026-000001" in lan._new_replies()[-1].text
    await board.press_payload("c:reject:PA-2026-000001")
    await board.press("Chưa đủ thông tin")
    assert "Lý do: Chưa đủ thông tin" in lan._new_replies()[-1].text
    statuses = sorted(r.status.value for r in store.state.reports.values())
    assert statuses == ["duplicate", "rejected"]


async def test_a_duplicate_or_rejected_case_cannot_be_the_original(
    store: MemoryStore, people: dict[str, Person]
) -> None:
    lan, board = people["lan"], people["board"]
    for photo in (b"one", b"two", b"three"):
        await file_report(lan, photo=photo)
    await board.press_payload("c:duplicate:PA-2026-000002")
    await board.say("PA-2026-000001")  # 2 duplicates 1
    await board.press_payload("c:duplicate:PA-2026-000001")
    refused = await board.say("PA-2026-000002")  # 1 duplicates 2: a cycle nobody would answer
    assert "không thể là vụ việc gốc" in refused[0].text
    await board.press_payload("c:reject:PA-2026-000001")
    await board.press("Chưa đủ thông tin")
    await board.press_payload("c:duplicate:PA-2026-000003")
    refused = await board.say("PA-2026-000001")  # rejected: it will never be answered
    assert "không thể là vụ việc gốc" in refused[0].text
    status = {r.code: r.status.value for r in store.state.reports.values()}
    assert status == {"PA-2026-000001": "rejected", "PA-2026-000002": "duplicate",
                      "PA-2026-000003": "submitted"}


async def test_staff_lists(store: MemoryStore, people: dict[str, Person]) -> None:
    await file_report(people["lan"], photo=b"scene")
    people["board"]._new_replies()
    new = await people["board"].say("/moi")
    assert "Phản ánh mới chờ tiếp nhận (1)" in new[0].text
    work = await people["handler"].say("/viec")
    assert "Không có vụ việc nào" in work[-1].text
    refused = await people["lan"].say("/moi")
    assert "không có quyền" in refused[-1].text
    timeline = await people["board"].say("/vuviec PA-2026-000001")
    assert "Diễn biến" in timeline[-1].text and "Lan" in timeline[-1].text
    hidden = await people["handler"].say("/vuviec PA-2026-000001")
    assert "Không tìm thấy" in hidden[-1].text


async def test_undeliverable_notifications_are_shown_to_the_board(
    store: MemoryStore, clock: FixedClock, people: dict[str, Person]
) -> None:
    await file_report(people["lan"], photo=b"scene")
    [item] = [i for i in store.state.outbox.values() if "Đã gửi phản ánh" in i.reply.text]
    async with store() as uow:
        await uow.outbox.mark_failed(item.id, clock.now(), "TelegramForbiddenError: blocked")
        await uow.commit()
    board = people["board"]
    board._new_replies()
    hint = await board.say("/dangxuly")
    assert "1 tin nhắn không gửi được" in hint[-1].text
    listing = await board.say("/guiloi")
    assert "Lan" in listing[-1].text and "blocked" in listing[-1].text


async def test_new_report_cards_also_reach_the_board_group(
    store: MemoryStore, clock: FixedClock, people: dict[str, Person]
) -> None:
    with_group = services(clock)
    with_group.board_chat = ("console", "board-group")
    lan = people["lan"]
    lan.service = ConversationService(store, with_group)
    await file_report(lan, photo=b"scene")
    group = [i.reply for i in store.state.outbox.values() if i.chat_id == "board-group"]
    [photos, card] = group  # the report's photo, then the card with its buttons
    assert photos.photos and not photos.text
    assert "PA-2026-000001" in card.text and any("Giao xử lý" in c.label for c in card.choices)


async def test_a_case_taken_back_leaves_its_unit(
    store: MemoryStore, people: dict[str, Person]
) -> None:
    lan, board, handler = people["lan"], people["board"], people["handler"]
    await file_report(lan, photo=b"scene")
    await assign_first_case(board)
    await handler.press_payload("c:reassign:PA-2026-000001")
    await handler.say("Không thuộc phường")
    await board.press_payload("c:direct:PA-2026-000001")
    [report] = store.state.reports.values()
    assert report.status is ReportStatus.BOARD_DIRECT and report.assigned_unit_code is None
    refused = await handler.press_payload("c:answer:PA-2026-000001")
    assert "Không tìm thấy" in refused[-1].text
    assert store.state.drafts.get(3) is None
    await board.press_payload("c:answer:PA-2026-000001")
    await board.say("Ban đã làm việc với chủ nhà")
    await board.press("Không có ảnh")
    await board.say("Làm việc trực tiếp")
    await board.press_payload("c:sendback:PA-2026-000001")
    await board.say("Cần biên bản")
    [report] = store.state.reports.values()
    assert report.status is ReportStatus.BOARD_DIRECT  # back to the board, not to a unit


async def test_back_on_a_staff_action_cancels_it_and_numbers_answer_the_menu(
    store: MemoryStore, people: dict[str, Person]
) -> None:
    await file_report(people["lan"], photo=b"scene")
    board = people["board"]
    await board.say("/tuchoi PA-2026-000001")
    left = await board.press("Quay lại")
    assert "Đã hủy thao tác" in left[-1].text
    listing = await board.say("1")  # the menu's first item, not the first reject reason
    assert "Phản ánh mới chờ tiếp nhận" in listing[0].text
    [report] = store.state.reports.values()
    assert report.status is ReportStatus.SUBMITTED


async def test_a_staff_action_left_open_is_dropped_not_resumed(
    store: MemoryStore, clock: FixedClock, people: dict[str, Person]
) -> None:
    await file_report(people["lan"], photo=b"scene")
    board = people["board"]
    await board.say("/tuchoi PA-2026-000001")
    clock.set(clock.now() + timedelta(days=2))
    told = await board.say("Chưa đủ thông tin")
    assert "quá lâu nên được hủy" in told[0].text
    [report] = store.state.reports.values()
    assert report.status is ReportStatus.SUBMITTED and store.state.drafts == {}


async def test_a_draft_whose_step_no_longer_exists_is_dropped(
    store: MemoryStore, people: dict[str, Person]
) -> None:
    lan = people["lan"]
    await lan.press("Gửi phản ánh")
    store.state.drafts[1].step = "renamed-step"
    replies = await lan.say("hello")
    assert "chưa hiểu" in replies[-1].text and store.state.drafts == {}


async def _to_verification(
    people: dict[str, Person], code: str = "PA-2026-000001", photo: bytes = b"scene"
) -> None:
    """A new report (it gets `code`), assigned, answered and accepted: the reporter is asked."""
    lan, board, handler = people["lan"], people["board"], people["handler"]
    await file_report(lan, photo=photo)
    await assign_first_case(board, code)
    await answer_without_photo(handler, code)
    await board.press_payload(f"c:approve:{code}")


async def test_not_yet_reopens_the_case_back_to_the_same_unit(
    store: MemoryStore, clock: FixedClock, people: dict[str, Person]
) -> None:
    await _to_verification(people)
    lan, board, handler = people["lan"], people["board"], people["handler"]
    board._new_replies()
    handler._new_replies()
    await lan.press("Chưa")
    await lan.photo(b"still-there")
    reopened = await lan.say("Rác vẫn còn nguyên")
    assert "Đã mở lại phản ánh PA-2026-000001" in reopened[-1].text
    [report] = store.state.reports.values()
    assert report.status is ReportStatus.ASSIGNED and report.assigned_unit_code == "bo-de"
    assert report.resolved_at is None and report.answer_deadline is not None
    told_unit = handler._new_replies()
    assert any("CHƯA được giải quyết" in r.text and "Rác vẫn còn nguyên" in r.text
               for r in told_unit)
    assert any(r.photos for r in told_unit)
    assert any("chưa được giải quyết" in r.text for r in board._new_replies())
    steps = [(e.from_status.value, e.to_status.value) for e in store.state.events][-2:]
    assert steps == [("verifying", "reopened"), ("reopened", "assigned")]


async def test_not_yet_waits_for_her_photo_however_long_she_takes(
    store: MemoryStore, clock: FixedClock, people: dict[str, Person]
) -> None:
    await _to_verification(people)
    lan, handler = people["lan"], people["handler"]
    handler._new_replies()
    await lan.press("Chưa")
    clock.set(clock.now() + timedelta(minutes=45))  # she went out to photograph the place
    await lan.photo(b"still-there")
    reopened = await lan.press("Gửi")
    assert "Đã mở lại phản ánh PA-2026-000001" in reopened[-1].text
    [report] = store.state.reports.values()
    assert report.status is ReportStatus.ASSIGNED
    assert any(r.photos for r in handler._new_replies())


async def test_a_not_yet_without_its_words_still_reopens_the_case(
    store: MemoryStore, clock: FixedClock, people: dict[str, Person]
) -> None:
    await _to_verification(people)
    lan, handler = people["lan"], people["handler"]
    handler._new_replies()
    await lan.press("Chưa")
    await lan.photo(b"still-there")
    sweeper = Sweeper(store, services(clock))
    clock.set(clock.now() + timedelta(hours=23))
    await sweeper.run_once()
    [report] = store.state.reports.values()
    assert report.status is ReportStatus.VERIFYING  # she may still send her words
    clock.set(clock.now() + timedelta(hours=2))
    assert (await sweeper.run_once()).unverified_closed == []
    [report] = store.state.reports.values()
    assert report.status is ReportStatus.ASSIGNED and store.state.drafts == {}
    to = {i.chat_id: i.reply for i in store.state.outbox.values()}
    assert "Đã mở lại phản ánh PA-2026-000001" in to["u-Lan"].text
    unit = [i.reply for i in store.state.outbox.values() if i.chat_id == "u-Minh"]
    assert any("CHƯA được giải quyết" in r.text for r in unit)
    assert any(r.photos for r in unit)
    clock.set(clock.now() + timedelta(days=30))
    assert (await sweeper.run_once()).unverified_closed == []  # reopened, not closed


async def test_a_not_yet_at_the_end_of_the_time_to_answer_is_not_closed_as_unverified(
    store: MemoryStore, clock: FixedClock, people: dict[str, Person]
) -> None:
    await _to_verification(people)
    clock.set(clock.now() + timedelta(days=8))  # past the 5 working days, before any sweep
    await people["lan"].press_payload("v:notfixed:PA-2026-000001")
    clock.set(clock.now() + timedelta(hours=1))
    assert (await Sweeper(store, services(clock)).run_once()).unverified_closed == []
    [report] = store.state.reports.values()
    assert report.status is ReportStatus.ASSIGNED


async def test_only_the_reporter_answers_the_verification(
    store: MemoryStore, clock: FixedClock, people: dict[str, Person]
) -> None:
    await _to_verification(people)
    mai = await join(store, clock, "Mai", Role.COLLABORATOR, "bo-de")
    for who in (mai, people["handler"], people["board"]):
        refused = await who.press_payload("v:fixed:PA-2026-000001")
        assert "Không tìm thấy" in refused[-1].text
    [report] = store.state.reports.values()
    assert report.status is ReportStatus.VERIFYING
    unsure = await people["lan"].say("/khongro PA-2026-000001")
    assert "đã khép lại" in unsure[-1].text
    [report] = store.state.reports.values()
    assert report.status is ReportStatus.CLOSED and store.state.events[-1].note == "unsure"
    again = await people["lan"].press_payload("v:notfixed:PA-2026-000001")
    assert "đã được xử lý trước đó" in again[-1].text
    assert store.state.drafts.get(1) is None


async def test_a_unit_asks_for_more_time_and_the_board_grants_it(
    store: MemoryStore, people: dict[str, Person]
) -> None:
    lan, board, handler = people["lan"], people["board"], people["handler"]
    await file_report(lan, photo=b"scene")
    await assign_first_case(board)
    [report] = store.state.reports.values()
    first_deadline = report.answer_deadline
    assert first_deadline is not None
    await handler.press("Xin gia hạn")
    await handler.say("Chờ kết quả đo đạc")
    asked = [r for r in board._new_replies() if "xin gia hạn" in r.text]
    assert asked and "Chờ kết quả đo đạc" in asked[-1].text
    board.last = asked
    await board.press("Đồng ý gia hạn")
    done = await board.press("Thêm 5 ngày làm việc")
    assert "Đã gia hạn PA-2026-000001" in done[-1].text
    [report] = store.state.reports.values()
    assert report.answer_deadline is not None and report.answer_deadline > first_deadline
    assert any("được gia hạn" in r.text for r in lan._new_replies())
    assert any("đồng ý gia hạn" in r.text for r in handler._new_replies())
    refused = await handler.press_payload("c:grant:PA-2026-000001")  # not for a handler
    assert "không có quyền" in refused[-1].text


async def test_an_extension_never_shortens_the_deadline_nor_undoes_another_officers(
    store: MemoryStore, clock: FixedClock, people: dict[str, Person]
) -> None:
    lan, hung, handler = people["lan"], people["board"], people["handler"]
    hoa = await join(store, clock, "Hoa", Role.BOARD, None)
    await file_report(lan, photo=b"scene")
    await assign_first_case(hung)
    await handler.press("Xin gia hạn")
    await handler.say("Chờ kết quả đo đạc")

    def deadline() -> object:
        [report] = store.state.reports.values()
        return report.answer_deadline

    assigned = deadline()
    await hung.press_payload("c:grant:PA-2026-000001")  # Hùng opens the question ...
    await hoa.press_payload("c:grant:PA-2026-000001")
    await hoa.press("Thêm 10 ngày làm việc")  # ... Hoa grants 10 days meanwhile
    granted = deadline()
    assert granted != assigned
    told = await hung.press("Thêm 1 ngày làm việc")
    assert "đã được đổi thành" in told[0].text and deadline() == granted
    await hung.press_payload("c:grant:PA-2026-000001")
    again = await hung.say("1/12/2026")  # tomorrow: in the future, but before the deadline
    assert "phải sau hạn hiện tại" in again[0].text and deadline() == granted
    done = await hung.say("31/12/2026")
    assert "Đã gia hạn PA-2026-000001" in done[-1].text
    assert str(deadline()).startswith("2026-12-31")


async def test_an_answer_sent_back_after_its_deadline_gets_fresh_time_not_the_whole_ladder(
    store: MemoryStore, clock: FixedClock, people: dict[str, Person]
) -> None:
    lan, board, handler = people["lan"], people["board"], people["handler"]
    await file_report(lan, photo=b"scene")
    await assign_first_case(board)
    await answer_without_photo(handler)  # at once, in time
    clock.set(clock.now() + timedelta(days=14))  # the board reviews two weeks later
    await board.press_payload("c:sendback:PA-2026-000001")
    await board.say("Cần ảnh hiện trường")
    [report] = store.state.reports.values()
    assert report.answer_deadline is not None and report.answer_deadline > clock.now()
    result = await Sweeper(store, services(clock)).run_once()
    assert result.steps == []  # nobody is told the unit is late


async def test_overdue_list_says_which_deadline_ran_out_and_who_was_told(
    store: MemoryStore, clock: FixedClock, people: dict[str, Person]
) -> None:
    lan, board = people["lan"], people["board"]
    await file_report(lan, photo=b"scene")  # PA-2026-000001, assigned below
    await file_report(lan, photo=b"other")  # PA-2026-000002, never taken up
    await assign_first_case(board)
    clock.set(clock.now() + timedelta(days=7))  # past the deadline and one working day more
    await Sweeper(store, services(clock)).run_once()
    listing = (await board.say("/quahan"))[-1].text
    [assigned] = [line for line in listing.split("\n") if "PA-2026-000001" in line]
    [waiting] = [line for line in listing.split("\n") if "PA-2026-000002" in line]
    assert "đã báo: nhắc việc, đến hạn, Ban Tuyên giáo" in assigned
    assert "hạn —" not in waiting and "đã báo: Ban (chưa tiếp nhận)" in waiting


async def test_a_typed_deadline_that_is_no_date_is_asked_again(
    store: MemoryStore, people: dict[str, Person]
) -> None:
    lan, board = people["lan"], people["board"]
    await file_report(lan, photo=b"scene")
    await board.press_payload("c:assign:PA-2026-000001")
    await board.press("(đề xuất)")
    for typed in ("99999999999999999999/12", "²/12", "31/2", "hôm nay"):
        again = await board.say(typed)
        assert "Không đọc được ngày" in again[0].text
    done = await board.say("4/12/2026")
    assert "Đã giao PA-2026-000001" in done[-1].text
    [report] = store.state.reports.values()
    assert str(report.answer_deadline).startswith("2026-12-04")


async def test_silence_closes_the_case_as_not_verified(
    store: MemoryStore, clock: FixedClock, people: dict[str, Person]
) -> None:
    await _to_verification(people)
    sweeper = Sweeper(store, services(clock))
    clock.set(clock.now() + timedelta(days=3))  # Thursday: still within 5 working days
    assert (await sweeper.run_once()).unverified_closed == []
    clock.set(clock.now() + timedelta(days=5))  # the next Friday: past them
    assert (await sweeper.run_once()).unverified_closed == ["PA-2026-000001"]
    assert (await sweeper.run_once()).unverified_closed == []  # once
    [report] = store.state.reports.values()
    assert report.status is ReportStatus.CLOSED and store.state.events[-1].note == "not_verified"
    told = [i.reply.text for i in store.state.outbox.values() if i.chat_id == "u-Lan"]
    assert any("chưa nhận được xác nhận" in t for t in told)


async def test_the_timeline_reads_system_notes_as_words(
    store: MemoryStore, people: dict[str, Person]
) -> None:
    await _to_verification(people)
    await people["lan"].say("/daxong PA-2026-000001")
    shown = await people["board"].say("/vuviec PA-2026-000001")
    assert "người phản ánh xác nhận đã giải quyết" in shown[-1].text
    assert "— verified" not in shown[-1].text


async def with_second_opinion(
    store: MemoryStore, clock: FixedClock, people: dict[str, Person]
) -> tuple[Services, Person]:
    """The org asks a second collaborator of the ward too: its services, and Mai, asked."""
    org = small_org()
    second_opinion = services(clock, replace(
        org, deadlines=replace(org.deadlines, verification_second_opinion=True)))
    for person in people.values():
        person.service = ConversationService(store, second_opinion)
    mai = await join(store, clock, "Mai", Role.COLLABORATOR, "bo-de")
    mai.service = ConversationService(store, second_opinion)
    return second_opinion, mai


async def test_a_second_collaborators_not_yet_is_not_closed_as_unverified(
    store: MemoryStore, clock: FixedClock, people: dict[str, Person]
) -> None:
    second_opinion, mai = await with_second_opinion(store, clock, people)
    await _to_verification(people)
    clock.set(clock.now() + timedelta(days=8))  # the time to answer is over
    await mai.press_payload("v:notfixed:PA-2026-000001")
    clock.set(clock.now() + timedelta(hours=1))
    assert (await Sweeper(store, second_opinion).run_once()).unverified_closed == []
    [report] = store.state.reports.values()
    assert report.status is ReportStatus.ASSIGNED


async def test_a_unit_never_sees_the_name_of_the_collaborator_who_judged_its_answer(
    store: MemoryStore, clock: FixedClock, people: dict[str, Person]
) -> None:
    _, mai = await with_second_opinion(store, clock, people)
    await _to_verification(people)
    people["lan"]._new_replies()
    await mai.press_payload("v:notfixed:PA-2026-000001")
    await mai.say("Vẫn còn lấn chiếm")
    told = "\n".join(r.text for r in people["lan"]._new_replies())  # the reporter is told too
    assert "PA-2026-000001 được mở lại vì vấn đề chưa được giải quyết" in told
    shown = (await people["handler"].say("/vuviec PA-2026-000001"))[-1].text
    assert "Vẫn còn lấn chiếm" in shown
    assert "Mai" not in shown and "Lan" not in shown
    assert "Hùng" in (await people["board"].say("/vuviec PA-2026-000001"))[-1].text


async def test_a_not_yet_about_another_case_does_not_answer_this_one(
    store: MemoryStore, clock: FixedClock, people: dict[str, Person]
) -> None:
    lan = people["lan"]
    await _to_verification(people)  # PA-2026-000001, asked on Monday
    clock.set(clock.now() + timedelta(days=7))  # its time to answer is over
    await _to_verification(people, "PA-2026-000002", b"other")
    await lan.press_payload("v:notfixed:PA-2026-000002")  # she goes to photograph it
    clock.set(clock.now() + timedelta(minutes=10))
    result = await Sweeper(store, services(clock)).run_once()
    assert result.unverified_closed == ["PA-2026-000001"]
    status = {r.code: r.status for r in store.state.reports.values()}
    assert status["PA-2026-000002"] is ReportStatus.VERIFYING  # still waiting for her photo
    await lan.photo(b"still-there")
    reopened = await lan.press("Gửi")
    assert "Đã mở lại phản ánh PA-2026-000002" in reopened[-1].text


async def test_a_second_collaborator_of_the_ward_can_be_asked_too(
    store: MemoryStore, clock: FixedClock, people: dict[str, Person]
) -> None:
    _, mai = await with_second_opinion(store, clock, people)
    outsider = await join(store, clock, "Tư", Role.COLLABORATOR, "gia-thuy")
    outsider.service = mai.service
    await _to_verification(people)
    asked = mai._new_replies()
    assert any("nhờ bạn" in r.text and "Phường Bồ Đề" in r.text for r in asked)
    assert not any("PA-2026-000001" in r.text for r in outsider._new_replies())
    refused = await outsider.press_payload("v:fixed:PA-2026-000001")
    assert "Không tìm thấy" in refused[-1].text
    people["lan"]._new_replies()
    await mai.press_payload("v:fixed:PA-2026-000001")
    [report] = store.state.reports.values()
    assert report.status is ReportStatus.CLOSED and store.state.events[-1].note == "verified"
    told = "\n".join(r.text for r in people["lan"]._new_replies())
    assert "PA-2026-000001 đã được xác nhận là đã giải quyết" in told


async def test_not_yet_keeps_a_report_she_is_writing_and_a_board_case_returns_to_the_board(
    store: MemoryStore, people: dict[str, Person]
) -> None:
    lan, board = people["lan"], people["board"]
    await file_report(lan, photo=b"scene")
    await board.press_payload("c:direct:PA-2026-000001")
    await board.press_payload("c:answer:PA-2026-000001")
    await board.say("Ban đã làm việc với chủ nhà")
    await board.press("Không có ảnh")
    await board.say("Làm việc trực tiếp")
    await board.press_payload("c:approve:PA-2026-000001")
    await lan.press_payload("m:report")
    await lan.press("Khác")  # a new report half written
    replies = await lan.press_payload("v:notfixed:PA-2026-000001")
    assert "Đã mở lại phản ánh PA-2026-000001" in replies[-1].text
    assert "Ban Tuyên giáo" in replies[-1].text
    [report] = store.state.reports.values()
    assert report.status is ReportStatus.BOARD_DIRECT and report.answer_deadline is not None
    kept = store.state.drafts[1]
    assert kept.flow == "report" and kept.data["category"] == "khac"


async def test_a_case_handed_to_another_unit_with_the_same_date_gets_its_reminder_again(
    store: MemoryStore, clock: FixedClock, people: dict[str, Person]
) -> None:
    """Steps are taken once per case and deadline; a new unit's clock starts afresh."""
    lan, board, handler, other = (people[k] for k in ("lan", "board", "handler", "other"))
    await file_report(lan, photo=b"scene")
    await board.press_payload("c:assign:PA-2026-000001")
    await board.press("(đề xuất)")
    await board.say("4/12/2026")  # Friday, given on Monday
    sweeper = Sweeper(store, services(clock))
    clock.set(datetime(2026, 12, 3, 9, 0, tzinfo=UTC))  # Thursday 16:00: past 75 % of the time
    assert (await sweeper.run_once()).steps == [("PA-2026-000001", "reminder")]
    await handler.press_payload("c:reassign:PA-2026-000001")
    await handler.say("Không thuộc địa bàn phường")
    await board.press_payload("c:assign:PA-2026-000001")
    await board.press("Phường Gia Thụy")
    await board.say("4/12/2026")  # the same date, for a unit that has a day and a half
    other._new_replies()
    assert (await sweeper.run_once()).steps == []
    clock.set(datetime(2026, 12, 4, 9, 0, tzinfo=UTC))  # Friday 16:00: past 75 % of its time
    assert (await sweeper.run_once()).steps == [("PA-2026-000001", "reminder")]
    assert any("PA-2026-000001" in r.text for r in other._new_replies())


async def test_an_answer_sent_back_that_keeps_its_date_gets_its_reminder_again(
    store: MemoryStore, clock: FixedClock, people: dict[str, Person]
) -> None:
    lan, board, handler = people["lan"], people["board"], people["handler"]
    await file_report(lan, photo=b"scene")
    await board.press_payload("c:assign:PA-2026-000001")
    await board.press("(đề xuất)")
    await board.say("31/12/2026")
    sweeper = Sweeper(store, services(clock))
    clock.set(datetime(2026, 12, 24, 2, 0, tzinfo=UTC))  # Thursday 24/12 09:00: past 75 %
    assert (await sweeper.run_once()).steps == [("PA-2026-000001", "reminder")]
    await answer_without_photo(handler)
    await board.press_payload("c:sendback:PA-2026-000001")
    await board.say("Chưa đủ")
    [report] = store.state.reports.values()
    assert str(report.answer_deadline).startswith("2026-12-31")  # later than three days: kept
    handler._new_replies()
    clock.set(datetime(2026, 12, 31, 2, 0, tzinfo=UTC))  # past 75 % of the time since then
    assert (await sweeper.run_once()).steps == [("PA-2026-000001", "reminder")]
    assert any("PA-2026-000001" in r.text for r in handler._new_replies())


async def test_a_not_yet_stands_when_she_starts_a_new_report_before_adding_words(
    store: MemoryStore, people: dict[str, Person]
) -> None:
    await _to_verification(people)
    lan, handler = people["lan"], people["handler"]
    await lan.press_payload("v:notfixed:PA-2026-000001")
    await lan.photo(b"still-there")
    started = await lan.say("/phananh")  # before pressing «Gửi»
    assert "lĩnh vực" in started[-1].text  # her new report begins
    [report] = store.state.reports.values()
    assert report.status is ReportStatus.ASSIGNED  # back to the unit: her "not yet" stands
    assert store.state.events[-1].to_status is ReportStatus.ASSIGNED
    assert any("PA-2026-000001" in r.text for r in handler._new_replies())
    assert store.state.drafts[1].flow == "report"


async def test_huy_in_the_middle_of_an_action_says_the_case_is_unchanged(
    store: MemoryStore, people: dict[str, Person]
) -> None:
    await file_report(people["lan"], photo=b"scene")
    board = people["board"]
    await board.press_payload("c:reject:PA-2026-000001")
    left = await board.say("/huy")
    assert "Đã hủy thao tác. Vụ việc không thay đổi." in left[-1].text
    assert "phản ánh đang soạn" not in left[-1].text
    [report] = store.state.reports.values()
    assert report.status is ReportStatus.SUBMITTED and store.state.drafts == {}


async def test_a_reporter_who_later_joins_the_unit_stays_unnamed_to_it(
    store: MemoryStore, clock: FixedClock, people: dict[str, Person]
) -> None:
    lan, board, handler = people["lan"], people["board"], people["handler"]
    await file_report(lan, photo=b"scene")
    await assign_first_case(board)
    async with store() as uow:
        [invitation] = await create_invitations(
            uow, small_org(), Role.HANDLER, "bo-de", 1, clock.now()
        )
        await uow.commit()
    await lan.say(f"/start {invitation.code}")  # Lan now works for the ward
    shown = (await handler.say("/vuviec PA-2026-000001"))[-1].text
    assert "Diễn biến" in shown and "Lan" not in shown
    assert "Hùng" in shown  # the board's officer who assigned it is named


async def test_accept_under_an_earlier_answer_does_not_accept_a_later_one_unseen(
    store: MemoryStore, people: dict[str, Person]
) -> None:
    lan, board, handler = people["lan"], people["board"], people["handler"]
    await file_report(lan, photo=b"scene")
    await assign_first_case(board)
    await answer_without_photo(handler)
    [first_card] = [r for r in board._new_replies() if "Đã dọn" in r.text]
    accept_first = next(c.payload for c in first_card.choices if "Chấp nhận" in c.label)
    assert accept_first == "c:approve:PA-2026-000001:1"
    assert command_for(accept_first) == "/chapnhan PA-2026-000001"  # typed on Zalo: no number
    await board.press_payload("c:sendback:PA-2026-000001:1")
    await board.say("Cần ảnh")
    await handler.press_payload("c:answer:PA-2026-000001")
    await handler.say("Đã nhắc nhở chủ nhà")
    await handler.press("Không có ảnh")
    await handler.say("Không mang máy")
    refused = await board.press_payload(accept_first)
    assert "trả lời cũ" in refused[-1].text and "Đã nhắc nhở chủ nhà" in refused[-1].text
    [report] = store.state.reports.values()
    assert report.status is ReportStatus.ANSWERED  # nothing was accepted
    accept_latest = next(c.payload for c in refused[-1].choices if "Chấp nhận" in c.label)
    assert accept_latest == "c:approve:PA-2026-000001:2"
    done = await board.press_payload(accept_latest)
    assert any("Đã chấp nhận" in r.text for r in done)
    [report] = store.state.reports.values()
    assert report.status is ReportStatus.VERIFYING
