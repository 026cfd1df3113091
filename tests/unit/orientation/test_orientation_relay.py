""""Đã phổ biến": the button on a collaborator's copy, the typed keyword, and who may say it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

import pytest

from domain.broadcasts import Broadcast, DeliveryCounts
from domain.clock import FixedClock
from handlers.broadcasting import delivery_report
from tests.conversation_harness import MONDAY_9AM, Person, services
from tests.fakes.memory_uow import MemoryStore
from tests.unit.orientation.world import compose, mark_all_sent


async def send_to_collaborators(hung: Person, text: str = "Tuyên truyền phòng cháy") -> None:
    await compose(hung, text)
    await hung.press("Tất cả cộng tác viên")
    await hung.press("Gửi ngay")


def relayed(store: MemoryStore) -> dict[int, int]:
    """How many relayed each broadcast, by broadcast id."""
    counts: dict[int, int] = {}
    for copy in store.state.copies.values():
        if copy.relayed_at is not None:
            counts[copy.broadcast_id] = counts.get(copy.broadcast_id, 0) + 1
    return counts


async def test_the_button_records_once(store: MemoryStore, people: dict[str, Person]) -> None:
    hung, lan = people["hung"], people["lan"]
    await send_to_collaborators(hung)
    mark_all_sent(store)
    got = lan._new_replies()
    assert any("Tuyên truyền phòng cháy" in r.text for r in got)
    lan.last = got
    thanks = await lan.press("Đã phổ biến")
    assert "Đã ghi nhận bạn đã phổ biến định hướng DH-2026-000001" in thanks[-1].text
    again = await lan.press_payload("b:relay:1")
    assert "đã xác nhận phổ biến định hướng DH-2026-000001 rồi" in again[-1].text
    assert relayed(store) == {1: 1}


@pytest.mark.parametrize("who", ["minh", "an", "hung"])
async def test_someone_without_a_relaying_copy_changes_nothing(
    store: MemoryStore, people: dict[str, Person], who: str
) -> None:
    await send_to_collaborators(people["hung"])
    mark_all_sent(store)
    for payload in ("b:relay:1", "b:relay:99", "b:relay:abc"):
        refused = await people[who].press_payload(payload)
        assert "không gửi cho bạn" in refused[-1].text
    assert relayed(store) == {}


async def test_the_zalo_copy_asks_for_the_keyword_and_the_keyword_records_it(
    store: MemoryStore, people: dict[str, Person]
) -> None:
    hung, mai = people["hung"], people["mai"]
    await send_to_collaborators(hung, "Thứ nhất")
    await send_to_collaborators(hung, "Thứ hai")
    copy = next(r for r in mai._new_replies() if "Thứ hai" in r.text)
    assert "ĐÃ PHỔ BIẾN" in copy.text and not copy.choices
    not_yet = await mai.say("đã phổ biến")
    assert "Không có định hướng nào đang chờ" in not_yet[-1].text  # nothing delivered yet
    mark_all_sent(store)
    newest = await mai.say("da pho bien")
    assert "DH-2026-000002" in newest[-1].text and "Đã ghi nhận" in newest[-1].text
    older = await mai.say("ĐÃ PHỔ BIẾN!")
    assert "DH-2026-000001" in older[-1].text and "Đã ghi nhận" in older[-1].text
    none = await mai.say("Đã phổ biến")
    assert "Không có định hướng nào đang chờ" in none[-1].text
    assert relayed(store) == {1: 1, 2: 1}


async def test_the_keyword_works_with_a_report_half_written(
    store: MemoryStore, people: dict[str, Person]
) -> None:
    hung, lan = people["hung"], people["lan"]
    await send_to_collaborators(hung)
    mark_all_sent(store)
    await lan.say("/phananh")
    await lan.press("Trật tự xây dựng")
    await lan.press("Đúng")
    thanks = await lan.say("đã phổ biến")  # at the address step, which takes any text
    assert "Đã ghi nhận" in thanks[-1].text
    draft = store.state.drafts[2]
    assert draft.flow == "report" and draft.step == "place" and "address" not in draft.data
    resumed = await lan.say("Số 5 ngõ 12")
    assert "đang soạn dở" in resumed[-1].text  # offered back, as after any command
    assert relayed(store) == {1: 1}


async def test_a_resident_typing_the_keyword_is_told_there_is_nothing(
    store: MemoryStore, people: dict[str, Person]
) -> None:
    reply = await people["an"].say("đã phổ biến")
    assert "Không có định hướng nào đang chờ" in reply[-1].text


async def test_other_words_are_not_the_keyword(people: dict[str, Person]) -> None:
    reply = await people["an"].say("đã phổ biến xong rồi")
    assert "Bot chưa hiểu" in reply[-1].text


async def test_the_board_sees_the_relayed_count_grow_with_ketqua(
    store: MemoryStore, people: dict[str, Person]
) -> None:
    hung, lan = people["hung"], people["lan"]
    empty = await hung.say("/ketqua")
    assert "Chưa có định hướng nào được gửi" in empty[-1].text
    await send_to_collaborators(hung)
    sending = "\n".join(r.text for r in await hung.say("/ketqua"))
    assert "Đang gửi: còn" in sending and "đều đã nhận" not in sending  # not all there yet
    mark_all_sent(store)
    before = await hung.say("/ketqua")
    assert "Đã phổ biến: 0" in before[0].text and "DH-2026-000001" in before[0].text
    assert "Mọi người đều đã nhận được" in before[0].text
    lan.last = lan._new_replies()
    await lan.press("Đã phổ biến")
    after = await hung.say("/ketqua DH-2026-000001")
    assert "Đã phổ biến: 1" in after[0].text
    unknown = await hung.say("/ketqua DH-2026-999999")
    assert "Không tìm thấy định hướng đã gửi" in unknown[-1].text


@pytest.mark.parametrize("who", ["lan", "minh", "an"])
async def test_only_the_board_sees_results(
    store: MemoryStore, people: dict[str, Person], who: str
) -> None:
    await send_to_collaborators(people["hung"])
    answer = await people[who].say("/ketqua DH-2026-000001")
    assert all("Đã phổ biến:" not in reply.text for reply in answer)



def test_a_broadcast_nobody_got_does_not_say_everyone_got_it() -> None:
    broadcast = cast(Broadcast, SimpleNamespace(code="DH-2026-000009"))  # only its code is read
    counts = DeliveryCounts(recipients=3, skipped=3)
    text = delivery_report(services(FixedClock(MONDAY_9AM)), broadcast, counts)
    assert "Không ai nhận được tin này" in text and "Mọi người" not in text
