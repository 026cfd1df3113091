"""The people of the orientation tests, each in their own chat (helpers; no tests here).

| who   | role         | unit     | channel  |
|-------|--------------|----------|----------|
| hung  | board        | —        | console  |
| lan   | collaborator | bo-de    | console  |
| mai   | collaborator | gia-thuy | zalo     |
| minh  | handler      | bo-de    | console  |
| an    | resident     | —        | telegram |
| binh  | resident     | —        | zalo     |
"""

from __future__ import annotations

from domain.broadcasts import Broadcast
from domain.clock import FixedClock
from domain.messages import OutboxItem, OutboxStatus, Reply
from domain.people import Role
from tests.conversation_harness import Person, file_report, join
from tests.fakes.memory_uow import MemoryStore


async def accept_answer(people: dict[str, Person], board: Person, answer: str) -> list[str]:
    """Lan's report filed, assigned by `board` to Minh's ward, answered by Minh with `answer`
    and a photo, and accepted by `board`; what the board was told on accepting."""
    lan, minh = people["lan"], people["minh"]
    await file_report(lan)
    await board.press_payload("c:assign:PA-2026-000001")
    await board.press("(đề xuất)")
    await board.press("Theo quy định")
    await minh.press_payload("c:answer:PA-2026-000001")
    await minh.say(answer)
    await minh.photo(b"after")
    await minh.press("Gửi trả lời")
    board._new_replies()
    accepted = await board.press_payload("c:approve:PA-2026-000001")
    return [r.text for r in accepted]


async def world(store: MemoryStore, clock: FixedClock) -> dict[str, Person]:
    return {
        "hung": await join(store, clock, "Hùng", Role.BOARD, None),
        "lan": await join(store, clock, "Lan", Role.COLLABORATOR, "bo-de"),
        "mai": await join(store, clock, "Mai", Role.COLLABORATOR, "gia-thuy", "zalo"),
        "minh": await join(store, clock, "Minh", Role.HANDLER, "bo-de"),
        "an": await join(store, clock, "An", Role.RESIDENT, None, "telegram"),
        "binh": await join(store, clock, "Bình", Role.RESIDENT, None, "zalo"),
    }


def text_of(replies: list[Reply]) -> str:
    return "\n".join(r.text for r in replies)


def labels(replies: list[Reply]) -> list[str]:
    return [c.label for r in replies for c in r.choices]


def broadcasts(store: MemoryStore) -> list[Broadcast]:
    return sorted(store.state.broadcasts.values(), key=lambda b: b.id or 0)


def copies(store: MemoryStore, broadcast: Broadcast) -> list[OutboxItem]:
    """The outbox rows of one broadcast's copies."""
    return [
        store.state.outbox[c.outbox_id]
        for c in store.state.copies.values()
        if c.broadcast_id == broadcast.id
    ]


def copy_for(store: MemoryStore, broadcast: Broadcast, person: Person) -> OutboxItem | None:
    found = [i for i in copies(store, broadcast) if i.chat_id == person.user_id]
    assert len(found) <= 1, "nobody gets a broadcast twice"
    return found[0] if found else None


def mark_all_sent(store: MemoryStore) -> None:
    """What the dispatcher does: every pending copy goes out."""
    for item in store.state.outbox.values():
        if item.status is OutboxStatus.PENDING:
            item.status = OutboxStatus.SENT


async def follow(person: Person, wards: list[str], topics: list[str]) -> list[Reply]:
    """A resident's whole `/theodoi`, pressing the labels given."""
    await person.say("/theodoi")
    for ward in wards:
        await person.press(ward)
    await person.press("Xong")
    for topic in topics:
        await person.press(topic)
    return await person.press("Xong")


async def compose(board: Person, text: str = "Tuyên truyền phòng cháy mùa khô") -> list[Reply]:
    """`/dinhhuong`, a text, no photo: the audience question."""
    await board.say("/dinhhuong")
    await board.say(text)
    return await board.press("Bỏ qua")
