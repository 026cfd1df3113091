"""Residents' `/theodoi` and `/huytheodoi`, and what they do to copies still queued."""

from __future__ import annotations

import pytest

from domain.broadcasts import SubscriptionKind
from domain.clock import FixedClock
from domain.messages import OutboxStatus
from tests.conversation_harness import Person
from tests.fakes.memory_uow import MemoryStore
from tests.unit.orientation.world import (
    broadcasts,
    compose,
    copy_for,
    follow,
    labels,
)


def following(store: MemoryStore, person_id: int) -> tuple[set[str], set[str]]:
    subs = [(kind, code) for (pid, kind, code) in store.state.subscriptions if pid == person_id]
    return (
        {code for kind, code in subs if kind == SubscriptionKind.WARD.value},
        {code for kind, code in subs if kind == SubscriptionKind.TOPIC.value},
    )


AN, BINH = 5, 6  # the residents' person ids in `world`


async def test_greeting_and_help_point_residents_to_theodoi(
    store: MemoryStore, clock: FixedClock, people: dict[str, Person]
) -> None:
    an = people["an"]
    greeting = await an.say("/start")
    assert "/theodoi" in greeting[-1].text
    assert "🔔 Theo dõi tin định hướng" in labels(greeting)
    help_text = await an.say("/trogiup")
    assert "/theodoi" in help_text[-1].text and "/huytheodoi" in help_text[-1].text
    started = await an.press("Theo dõi tin định hướng")
    assert "Bước 1/2" in started[-1].text


async def test_choose_wards_then_topics_and_read_them_back(
    store: MemoryStore, people: dict[str, Person]
) -> None:
    an = people["an"]
    wards = await an.say("/theodoi")
    assert labels(wards)[:4] == ["Phường Bồ Đề", "Phường Gia Thụy", "Phường Việt Hưng", "➡️ Xong"]
    picked = await an.press("Phường Bồ Đề")
    assert labels(picked)[0] == "✅ Phường Bồ Đề"
    await an.press("Phường Việt Hưng")
    topics = await an.press("Xong")
    assert "Bước 2/2" in topics[-1].text and labels(topics)[0] == "Tất cả chủ đề"
    every = await an.press("Tất cả chủ đề")
    assert labels(every)[:4] == [
        "✅ Tất cả chủ đề", "✅ Trật tự xây dựng", "✅ Trật tự đô thị", "✅ Khác",
    ]
    await an.press("✅ Khác")
    saved = await an.press("Xong")
    text = saved[-1].text
    assert "Phường: Phường Bồ Đề, Phường Việt Hưng" in text
    assert "Chủ đề: Trật tự xây dựng, Trật tự đô thị" in text
    assert following(store, AN) == ({"bo-de", "viet-hung"}, {"trat-tu-xay-dung", "trat-tu-do-thi"})
    assert store.state.drafts == {}

    again = await an.say("/theodoi")  # what she follows is shown chosen
    assert labels(again)[:3] == ["✅ Phường Bồ Đề", "Phường Gia Thụy", "✅ Phường Việt Hưng"]
    await an.press("✅ Phường Bồ Đề")
    topics = await an.press("Xong")
    assert labels(topics)[:3] == ["Tất cả chủ đề", "✅ Trật tự xây dựng", "✅ Trật tự đô thị"]
    await an.press("Xong")
    assert following(store, AN) == ({"viet-hung"}, {"trat-tu-xay-dung", "trat-tu-do-thi"})


async def test_nothing_chosen_is_refused_and_changes_nothing(
    store: MemoryStore, people: dict[str, Person]
) -> None:
    an = people["an"]
    await follow(an, ["Phường Bồ Đề"], [])
    await an.say("/theodoi")
    await an.press("✅ Phường Bồ Đề")
    await an.press("Xong")
    refused = await an.press("Xong")
    assert "ít nhất một phường hoặc một chủ đề" in refused[-1].text
    assert "/huytheodoi" in refused[-1].text
    assert following(store, AN) == ({"bo-de"}, set())
    cancelled = await an.say("/huy")
    assert "vẫn giữ nguyên" in cancelled[-1].text
    assert following(store, AN) == ({"bo-de"}, set())


async def test_zalo_residents_type_numbers_and_labels(
    store: MemoryStore, people: dict[str, Person]
) -> None:
    binh = people["binh"]
    await binh.say("/theodoi")
    await binh.say("2")  # Phường Gia Thụy
    await binh.say("phuong viet hung")
    toggled = await binh.say("Phường Gia Thụy")  # typed again: unselected
    assert labels(toggled)[:3] == ["Phường Bồ Đề", "Phường Gia Thụy", "✅ Phường Việt Hưng"]
    await binh.say("4")  # Xong
    await binh.say("tat ca chu de")
    saved = await binh.say("5")  # Xong, after «all» and the three topics
    assert "Đã lưu" in saved[-1].text
    assert following(store, BINH) == ({"viet-hung"}, {"trat-tu-xay-dung", "trat-tu-do-thi", "khac"})


@pytest.mark.parametrize("who", ["hung", "lan", "minh"])
async def test_staff_are_told_they_need_not_subscribe(
    store: MemoryStore, people: dict[str, Person], who: str
) -> None:
    for command in ("/theodoi", "/huytheodoi"):
        said = await people[who].say(command)
        assert "tự động nhận thông tin định hướng" in said[-1].text
    assert store.state.drafts == {} and store.state.subscriptions == {}


async def resident_broadcast(hung: Person, ward: str) -> None:
    await compose(hung)
    await hung.press("Người dân theo dõi")
    await hung.press(ward)
    await hung.press("Xong")
    await hung.press("Xong")
    await hung.press("Gửi ngay")


async def test_huytheodoi_stops_everything_and_cancels_a_queued_copy(
    store: MemoryStore, people: dict[str, Person]
) -> None:
    hung, an = people["hung"], people["an"]
    await follow(an, ["Phường Bồ Đề"], ["Trật tự đô thị"])
    await resident_broadcast(hung, "Phường Bồ Đề")
    [broadcast] = broadcasts(store)
    copy = copy_for(store, broadcast, an)
    assert copy is not None and copy.status is OutboxStatus.PENDING
    stopped = await an.say("/huytheodoi")
    assert "Đã dừng nhận thông tin định hướng" in stopped[-1].text
    copy = copy_for(store, broadcast, an)
    assert copy is not None and copy.status is OutboxStatus.CANCELLED
    assert following(store, AN) == (set(), set())
    async with store() as uow:
        counts = await uow.broadcasts.counts(broadcast.id or 0)
    assert counts.skipped == 1 and counts.pending == 0
    again = await an.say("/huytheodoi")
    assert "chưa theo dõi gì" in again[-1].text


async def test_changing_what_she_follows_cancels_only_copies_that_no_longer_match(
    store: MemoryStore, people: dict[str, Person]
) -> None:
    hung, an = people["hung"], people["an"]
    await follow(an, ["Phường Bồ Đề", "Phường Gia Thụy"], [])
    await resident_broadcast(hung, "Phường Bồ Đề")
    await resident_broadcast(hung, "Phường Gia Thụy")
    first, second = broadcasts(store)
    await an.say("/theodoi")
    await an.press("✅ Phường Bồ Đề")  # keeps Gia Thụy only
    await an.press("Xong")
    await an.press("Xong")
    dropped, kept = copy_for(store, first, an), copy_for(store, second, an)
    assert dropped is not None and dropped.status is OutboxStatus.CANCELLED
    assert kept is not None and kept.status is OutboxStatus.PENDING


async def test_collaborators_copies_are_untouched_by_a_residents_opt_out(
    store: MemoryStore, people: dict[str, Person]
) -> None:
    hung, an, lan = people["hung"], people["an"], people["lan"]
    await follow(an, ["Phường Bồ Đề"], [])
    await compose(hung)
    await hung.press("Tất cả cộng tác viên")
    await hung.press("Gửi ngay")
    await an.say("/huytheodoi")
    [broadcast] = broadcasts(store)
    copy = copy_for(store, broadcast, lan)
    assert copy is not None and copy.status is OutboxStatus.PENDING
