"""The dispatcher and broadcast copies: claimed right before their send, opt-outs honoured at
send time, a restart settles what a killed process was sending, blocked people become
unreachable, and conversation replies go first."""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pytest

from bot.dispatcher import OutboxDispatcher
from bot.pacing import ChannelPacer
from domain.clock import FixedClock
from domain.delivery import Blocked
from domain.messages import OutboxItem, OutboxStatus, Priority, Reply
from domain.people import Role
from tests.fakes.memory_uow import MemoryOutbox, MemoryState, MemoryStore, MemoryUnitOfWork
from tests.unit.test_dispatcher import FakeSender, eventually, factory, items, make
from tests.unit.test_pacing import FakeTime

Hook = Callable[[str, str], Awaitable[None] | None]


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


class HookedSender(FakeSender):
    """A FakeSender that calls `hook(chat_id, text)` at the start of every attempt."""

    def __init__(self, hook: Hook | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hook = hook

    async def send(self, chat_id: str, reply: Reply) -> None:
        if self.hook is not None:
            result = self.hook(chat_id, reply.text)
            if result is not None:
                await result
        await super().send(chat_id, reply)


class CountingOutbox(MemoryOutbox):
    """Counts the claims asked of storage; each takes a moment, like a database round trip."""

    def __init__(self, store: CountingStore, *args: Any) -> None:
        super().__init__(*args)
        self._counting = store

    async def claim(self, item_ids: Sequence[int]) -> set[int]:
        self._counting.claims.append(list(item_ids))
        if self._counting.claim_error is not None:
            raise self._counting.claim_error
        await asyncio.sleep(0.001)
        if self._counting.claim_gate is not None:
            await self._counting.claim_gate.wait()
        # The memory unit of work publishes its whole copy on commit: take the copy after the
        # wait, as if the unit of work had started then, so no other commit is overwritten.
        self._s.__dict__.update(copy.deepcopy(self._counting.state).__dict__)
        return await super().claim(item_ids)


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.claims: list[list[int]] = []
        self.claim_error: Exception | None = None
        self.claim_gate: asyncio.Event | None = None

    def __call__(self) -> MemoryUnitOfWork:
        uow = MemoryUnitOfWork(self)
        uow.outbox = CountingOutbox(self, uow._state)
        return uow


class LiveUnitOfWork(MemoryUnitOfWork):
    """Works on the committed state itself (no isolation, nothing to publish): a memory unit of
    work copies the whole state, which is slow with a thousand rows."""

    @classmethod
    def over(cls, store: MemoryStore) -> LiveUnitOfWork:
        live, store.state = store.state, MemoryState()
        try:
            uow = cls(store)
        finally:
            store.state = live
        uow._state = live
        for repository in vars(uow).values():
            if hasattr(repository, "_s"):
                repository._s = live
        return uow

    async def commit(self) -> None:
        self._store.commits += 1


class LiveStore(MemoryStore):
    def __call__(self) -> MemoryUnitOfWork:
        return LiveUnitOfWork.over(self)


async def add_copies(store: MemoryStore, clock: FixedClock, count: int) -> list[OutboxItem]:
    """One broadcast copy each to chats m0, m1, ... in one transaction."""
    async with store() as uow:
        added = [
            await uow.outbox.add("telegram", f"m{n}", Reply(f"news for m{n}"), clock.now(),
                                 Priority.BROADCAST)
            for n in range(count)
        ]
        await uow.commit()
    return added


def statuses(store: MemoryStore) -> dict[str, OutboxStatus]:
    return {text: item.status for text, item in items(store).items()}


async def test_each_copy_is_claimed_then_sent_once(
    clock: FixedClock, fake: FakeTime
) -> None:
    store = CountingStore()
    await add_copies(store, clock, 30)
    sender = FakeSender()
    dispatcher = make(store, clock, fake, {"telegram": sender})

    await dispatcher.run_once()

    assert sorted(sender.delivered) == sorted((f"m{n}", f"news for m{n}") for n in range(30))
    assert set(statuses(store).values()) == {OutboxStatus.SENT}
    claimed = [item_id for batch in store.claims for item_id in batch]
    assert sorted(claimed) == list(range(1, 31))  # each copy claimed once
    assert len(store.claims) < 30  # claims asked together share a unit of work


async def test_a_copy_cancelled_after_the_read_is_skipped_at_send_time(
    store: MemoryStore, clock: FixedClock, fake: FakeTime
) -> None:
    await add_copies(store, clock, 3)

    async def opt_out(chat_id: str, text: str) -> None:
        if chat_id == "m0":  # while m0's copy goes out, the person behind m2 opts out
            async with store() as uow:
                await uow.outbox.cancel([3], clock.now(), "opted out")
                await uow.commit()

    sender = HookedSender(opt_out)
    dispatcher = make(store, clock, fake, {"telegram": sender}, broadcast_concurrency=1)

    assert await dispatcher.run_once() == 3  # all three were read and started
    await dispatcher.run_once()

    assert [chat for chat, _ in sender.attempts] == ["m0", "m1"]
    assert statuses(store) == {
        "news for m0": OutboxStatus.SENT, "news for m1": OutboxStatus.SENT,
        "news for m2": OutboxStatus.CANCELLED,
    }
    assert items(store)["news for m2"].last_error == "opted out"  # nothing written over it


async def test_start_settles_copies_a_killed_process_was_sending(
    store: MemoryStore, clock: FixedClock, fake: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    await add_copies(store, clock, 4)
    async with store() as uow:  # the killed process had claimed two copies
        assert await uow.outbox.claim([1, 2]) == {1, 2}
        await uow.commit()
    sender = FakeSender()
    dispatcher = make(store, clock, fake, {"telegram": sender}, idle_poll_seconds=3600)

    with caplog.at_level(logging.WARNING, logger="bot"):
        runner = asyncio.create_task(dispatcher.run())
        await eventually(lambda: len(sender.delivered) == 2)
        dispatcher.stop()
        await asyncio.wait_for(runner, 5)

    assert sorted(sender.delivered) == [("m2", "news for m2"), ("m3", "news for m3")]
    assert set(statuses(store).values()) == {OutboxStatus.SENT}
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.getMessage().startswith("2 broadcast copies were being sent")


async def test_nothing_to_settle_is_not_logged(
    store: MemoryStore, clock: FixedClock, fake: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    dispatcher = make(store, clock, fake, {"telegram": FakeSender()}, idle_poll_seconds=3600)
    with caplog.at_level(logging.WARNING, logger="bot"):
        runner = asyncio.create_task(dispatcher.run())
        await asyncio.sleep(0.05)
        dispatcher.stop()
        await asyncio.wait_for(runner, 5)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_a_blocked_person_is_marked_unreachable(
    store: MemoryStore, clock: FixedClock, fake: FakeTime
) -> None:
    async with store() as uow:
        for name, chat in (("Lan", "m0"), ("Bảo", "m1")):
            identity = ("telegram", chat, chat)
            await uow.people.add(name, Role.COLLABORATOR, "bo-de", clock.now(), identity)
        await uow.commit()
    await add_copies(store, clock, 2)
    sender = FakeSender({"m0": [Blocked("Forbidden: bot was blocked by the user")]})
    dispatcher = make(store, clock, fake, {"telegram": sender})

    await dispatcher.run_once()

    blocked = items(store)["news for m0"]
    assert blocked.status is OutboxStatus.FAILED
    assert blocked.last_error == "Blocked: Forbidden: bot was blocked by the user"
    assert blocked.id in store.state.blocked
    assert set(store.state.unreachable) == {("telegram", "m0")}
    async with store() as uow:  # the next broadcast's audience leaves her out
        [lan, bao] = await uow.broadcasts.members([Role.COLLABORATOR])
    assert (lan.identities, [i.chat_id for i in bao.identities]) == ((), ["m1"])


async def test_offer_leaves_broadcast_copies_to_a_pass(
    store: MemoryStore, clock: FixedClock, fake: FakeTime
) -> None:
    sender = FakeSender()
    dispatcher = make(store, clock, fake, {"telegram": sender}, idle_poll_seconds=3600)
    runner = asyncio.create_task(dispatcher.run())
    await asyncio.sleep(0.05)  # the first pass found nothing; run() now waits an hour

    copies = await add_copies(store, clock, 5)
    dispatcher.offer(copies)
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("outbox-")]

    await eventually(lambda: len(sender.delivered) == 5)  # a pass was woken for them
    dispatcher.stop()
    await asyncio.wait_for(runner, 5)
    assert set(statuses(store).values()) == {OutboxStatus.SENT}


async def test_a_long_broadcast_runs_a_batch_at_a_time_without_waiting_for_the_idle_poll(
    store: MemoryStore, clock: FixedClock, fake: FakeTime
) -> None:
    await add_copies(store, clock, 120)
    most = 0

    def count_tasks(chat_id: str, text: str) -> None:
        nonlocal most
        running = [t for t in asyncio.all_tasks() if t.get_name().startswith("outbox-")]
        most = max(most, len(running))

    sender = HookedSender(count_tasks)
    dispatcher = make(store, clock, fake, {"telegram": sender}, batch_size=20,
                      idle_poll_seconds=3600)
    runner = asyncio.create_task(dispatcher.run())
    await eventually(lambda: len(sender.delivered) == 120)
    dispatcher.stop()
    await asyncio.wait_for(runner, 5)

    assert sorted(sender.delivered) == sorted((f"m{n}", f"news for m{n}") for n in range(120))
    # A pass starts at most a batch, and runs once fewer than half a batch are in flight.
    assert most <= 20 + 10 + 2  # (+ the claim and outcome flushes)


async def test_a_reply_goes_before_the_next_copies_of_a_long_broadcast(
    clock: FixedClock, fake: FakeTime
) -> None:
    store = LiveStore()
    await add_copies(store, clock, 1000)
    offered_at: list[int] = []
    dispatcher: OutboxDispatcher

    async def reply_in_the_middle() -> None:
        async with store() as uow:
            reply = await uow.outbox.add("telegram", "lan", Reply("your report"), clock.now())
            await uow.commit()
        offered_at.append(len(sender.attempts))
        dispatcher.offer([reply])

    def on_attempt(chat_id: str, text: str) -> None:
        if len(sender.attempts) == 50:
            asyncio.get_running_loop().create_task(reply_in_the_middle())

    sender = HookedSender(on_attempt)
    pacers = {"telegram": ChannelPacer(10.0, 1.0, 1.0, clock=fake.monotonic, sleep=fake.sleep)}
    dispatcher = OutboxDispatcher(
        factory(store), {"telegram": sender}, clock, pacers, idle_poll_seconds=3600,
        broadcast_concurrency=4,
    )
    runner = asyncio.create_task(dispatcher.run())
    await eventually(lambda: ("lan", "your report") in sender.delivered)
    dispatcher.stop()
    await asyncio.wait_for(runner, 5)

    chats = [chat for chat, _ in sender.attempts]
    copies_before_the_reply = chats.index("lan") - offered_at[0]
    # Only the copies that had their token already (one per broadcast slot) may go first;
    # the other ~950 copies being paced do not.
    assert copies_before_the_reply <= 4
    assert len(chats) < 1000  # the broadcast was still being paced


async def test_stopping_leaves_unclaimed_copies_pending_and_none_sending(
    store: MemoryStore, clock: FixedClock
) -> None:
    await add_copies(store, clock, 50)
    sender = FakeSender()
    pacers = {"telegram": ChannelPacer(5.0, 1.0)}  # real time: 10 s for all fifty
    dispatcher = OutboxDispatcher(
        factory(store), {"telegram": sender}, clock, pacers, idle_poll_seconds=3600,
        shutdown_grace_seconds=3600,
    )
    runner = asyncio.create_task(dispatcher.run())
    await eventually(lambda: len(sender.delivered) >= 3)
    dispatcher.stop()
    # Copies waiting for their turn are dropped at once, not after the shutdown grace.
    await asyncio.wait_for(runner, 5)

    found = statuses(store)
    assert OutboxStatus.SENDING not in found.values()
    sent = {text for text, status in found.items() if status is OutboxStatus.SENT}
    assert sent == {text for _, text in sender.delivered}
    assert 3 <= len(sent) < 50
    assert set(found.values()) == {OutboxStatus.SENT, OutboxStatus.PENDING}


async def test_a_copy_whose_claim_failed_stays_pending_and_goes_later(
    clock: FixedClock, fake: FakeTime
) -> None:
    store = CountingStore()
    await add_copies(store, clock, 2)
    store.claim_error = ConnectionError("database went away")
    sender = FakeSender()
    dispatcher = make(store, clock, fake, {"telegram": sender})

    await dispatcher.run_once()
    assert sender.attempts == []
    assert set(statuses(store).values()) == {OutboxStatus.PENDING}

    store.claim_error = None
    await dispatcher.run_once()
    assert sorted(sender.delivered) == [("m0", "news for m0"), ("m1", "news for m1")]
    assert set(statuses(store).values()) == {OutboxStatus.SENT}


async def test_a_reply_to_a_chat_whose_copy_is_being_paced_does_not_wait_for_it(
    store: MemoryStore, clock: FixedClock, fake: FakeTime
) -> None:
    await add_copies(store, clock, 1)
    gate = asyncio.Event()

    async def hold_the_copy(chat_id: str, text: str) -> None:
        if text.startswith("news"):
            await gate.wait()

    sender = HookedSender(hold_the_copy)
    dispatcher = make(store, clock, fake, {"telegram": sender}, idle_poll_seconds=3600)
    runner = asyncio.create_task(dispatcher.run())
    await eventually(lambda: len(sender.attempts) == 0 and bool(
        [t for t in asyncio.all_tasks() if t.get_name().startswith("outbox-")]))

    async with store() as uow:
        reply = await uow.outbox.add("telegram", "m0", Reply("your report"), clock.now())
        await uow.commit()
    dispatcher.offer([reply])
    await eventually(lambda: ("m0", "your report") in sender.delivered)
    gate.set()
    await eventually(lambda: ("m0", "news for m0") in sender.delivered)
    dispatcher.stop()
    await asyncio.wait_for(runner, 5)
    assert [text for _, text in sender.delivered] == ["your report", "news for m0"]


async def test_a_copy_claimed_as_the_dispatcher_stops_is_put_back_not_lost(
    clock: FixedClock, fake: FakeTime
) -> None:
    store = CountingStore()
    await add_copies(store, clock, 1)
    gate = asyncio.Event()
    store.claim_gate = gate  # the claim's commit hangs until the gate opens
    sender = FakeSender()
    dispatcher = make(store, clock, fake, {"telegram": sender}, idle_poll_seconds=3600)
    runner = asyncio.create_task(dispatcher.run())
    await eventually(lambda: bool(store.claims))

    dispatcher.stop()  # the copy's task is cancelled while its claim is being committed
    await asyncio.sleep(0.05)
    gate.set()  # ... and then the claim commits after all
    await asyncio.wait_for(runner, 5)

    assert sender.attempts == []
    [copy_] = store.state.outbox.values()
    assert copy_.status is OutboxStatus.PENDING  # not `sending`: a restart sends it
