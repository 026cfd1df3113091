"""One draft per person: an orientation being written and a case action do not erase each
other, and an orientation taken up again after a day is kept."""

from __future__ import annotations

from datetime import timedelta

from domain.clock import FixedClock
from tests.conversation_harness import Person, file_report
from tests.fakes.memory_uow import MemoryStore
from tests.unit.orientation.world import compose

TEXT = "Bài định hướng dài đã soạn công phu về phòng cháy"


async def test_a_case_button_does_not_erase_an_orientation_being_written(
    store: MemoryStore, people: dict[str, Person]
) -> None:
    hung = people["hung"]
    await compose(hung, TEXT)
    await file_report(people["lan"])
    refused = await hung.press_payload("c:assign:PA-2026-000001")
    assert "đang soạn dở một định hướng chưa gửi" in refused[-1].text
    [draft] = store.state.drafts.values()
    assert draft.data["text"] == TEXT
    resumed = await hung.say("/dinhhuong")
    assert "soạn dở một định hướng" in resumed[0].text


async def test_writing_an_orientation_cancels_a_half_done_case_action_and_says_so(
    store: MemoryStore, people: dict[str, Person]
) -> None:
    hung = people["hung"]
    await file_report(people["lan"])
    await hung.press_payload("c:reject:PA-2026-000001")  # asks for a reason
    started = await hung.say("/dinhhuong")
    assert "Đã hủy thao tác đang dở trên PA-2026-000001" in started[0].text
    [draft] = store.state.drafts.values()
    assert draft.flow == "orient"


async def test_an_orientation_taken_up_after_a_day_is_kept(
    store: MemoryStore, clock: FixedClock, people: dict[str, Person]
) -> None:
    hung = people["hung"]
    await hung.say("/dinhhuong")
    await hung.say(TEXT)  # now at the photo step
    clock.set(clock.now() + timedelta(days=2))
    resumed = await hung.say("/dinhhuong")
    assert "soạn dở một định hướng" in resumed[0].text
    asked = await hung.press("Bỏ qua")  # the answer to the step shown again
    assert "quá lâu" not in "\n".join(r.text for r in asked)
    [draft] = store.state.drafts.values()
    assert draft.data["text"] == TEXT and draft.step != "photo"


async def test_an_orientation_left_days_ago_gives_way_to_a_case_button(
    store: MemoryStore, clock: FixedClock, people: dict[str, Person]
) -> None:
    hung = people["hung"]
    await compose(hung, TEXT)
    await file_report(people["lan"])
    clock.set(clock.now() + timedelta(days=3))  # abandoned: it would be dropped anyway
    asked = await hung.press_payload("c:assign:PA-2026-000001")
    assert "đang soạn dở" not in asked[-1].text
    [draft] = store.state.drafts.values()
    assert draft.flow == "assign"
