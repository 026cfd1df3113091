from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection
from datetime import timedelta
from typing import Any, cast

import pytest

from bot.dispatcher import OutboxDispatcher
from bot.pacing import ChannelPacer
from domain.clock import FixedClock
from domain.delivery import PermanentFailure, RetryAfter, TemporaryFailure
from domain.messages import OutboxItem, OutboxStatus, Priority, Reply
from domain.ports import UnitOfWorkFactory
from tests.conversation_harness import MONDAY_9AM
from tests.fakes.memory_uow import MemoryOutbox, MemoryState, MemoryStore, MemoryUnitOfWork
from tests.unit.test_pacing import FakeTime


class FakeSender:
    """Records every attempt; `script[chat]` lists exceptions to raise on that chat's next sends."""

    def __init__(self, script: dict[str, list[Exception]] | None = None) -> None:
        self.script = script or {}
        self.attempts: list[tuple[str, str]] = []
        self.delivered: list[tuple[str, str]] = []

    async def send(self, chat_id: str, reply: Reply) -> None:
        self.attempts.append((chat_id, reply.text))
        await asyncio.sleep(0)
        queued = self.script.get(chat_id)
        if queued:
            raise queued.pop(0)
        self.delivered.append((chat_id, reply.text))


class BrokenCommitUnitOfWork(MemoryUnitOfWork):
    async def commit(self) -> None:
        raise ConnectionError("database went away")


class FlakyStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.broken = False

    def __call__(self) -> MemoryUnitOfWork:
        return BrokenCommitUnitOfWork(self) if self.broken else MemoryUnitOfWork(self)


class BlockingSender(FakeSender):
    """Holds every send until `release` is set, like a slow platform."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def send(self, chat_id: str, reply: Reply) -> None:
        self.attempts.append((chat_id, reply.text))
        await self.release.wait()
        self.delivered.append((chat_id, reply.text))


class GatedOutbox(MemoryOutbox):
    def __init__(self, state: MemoryState, gate: asyncio.Event) -> None:
        super().__init__(state)
        self._gate = gate

    async def pending(
        self, limit: int, channels: Collection[str] | None = None
    ) -> list[OutboxItem]:
        await self._gate.wait()
        return await super().pending(limit, channels)


class SlowReadStore(MemoryStore):
    """Its units of work read a snapshot taken when they start, but only return it on `gate`."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.gate.set()

    def __call__(self) -> MemoryUnitOfWork:
        uow = MemoryUnitOfWork(self)
        uow.outbox = GatedOutbox(uow._state, self.gate)
        return uow


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


def factory(store: MemoryStore) -> UnitOfWorkFactory:
    # MemoryUnitOfWork's repositories are typed as their concrete classes, which mypy does not
    # accept for the protocol's settable attributes; the fake does satisfy the port at runtime.
    return cast(UnitOfWorkFactory, store)


def make(
    store: MemoryStore, clock: FixedClock, fake: FakeTime, senders: dict[str, FakeSender],
    **options: Any,
) -> OutboxDispatcher:
    pacers = {
        channel: ChannelPacer(30.0, 1.0, 1.0, clock=fake.monotonic, sleep=fake.sleep)
        for channel in senders
    }
    return OutboxDispatcher(
        factory(store), senders, clock, pacers, jitter=lambda: 1.0, **options
    )


async def enqueue(
    store: MemoryStore, clock: FixedClock, channel: str, chat_id: str, text: str,
    priority: int = Priority.CONVERSATION,
) -> None:
    async with store() as uow:
        await uow.outbox.add(channel, chat_id, Reply(text), clock.now(), priority)
        await uow.commit()


def items(store: MemoryStore) -> dict[str, OutboxItem]:
    return {item.reply.text: item for item in store.state.outbox.values()}


async def drain(dispatcher: OutboxDispatcher) -> int:
    passes = 0
    while await dispatcher.run_once():
        passes += 1
    return passes


def advance(clock: FixedClock, seconds: float) -> None:
    clock.set(clock.now() + timedelta(seconds=seconds))


async def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def test_each_item_is_delivered_once_in_order_per_chat(
    store: MemoryStore, clock: FixedClock, fake: FakeTime
) -> None:
    for text in ("a1", "a2", "a3"):
        await enqueue(store, clock, "telegram", "a", text, Priority.NOTIFICATION)
    for text in ("b1", "b2"):
        await enqueue(store, clock, "telegram", "b", text, Priority.NOTIFICATION)
    sender = FakeSender()
    dispatcher = make(store, clock, fake, {"telegram": sender})

    assert await dispatcher.run_once() == 2  # one head per chat
    await drain(dispatcher)

    assert sorted(sender.attempts) == sorted(sender.delivered)
    assert [t for c, t in sender.delivered if c == "a"] == ["a1", "a2", "a3"]
    assert [t for c, t in sender.delivered if c == "b"] == ["b1", "b2"]
    assert all(
        i.status is OutboxStatus.SENT and i.sent_at == MONDAY_9AM for i in items(store).values()
    )
    assert fake.now - 1000.0 >= 2.0  # chat "a" got 3 messages at 1 per second


async def test_conversation_replies_are_not_held_back_by_the_per_chat_rate(
    store: MemoryStore, clock: FixedClock, fake: FakeTime
) -> None:
    for text in ("r1", "r2", "r3"):
        await enqueue(store, clock, "telegram", "a", text)
    sender = FakeSender()
    dispatcher = make(store, clock, fake, {"telegram": sender})
    await dispatcher.run_once()
    await drain(dispatcher)
    assert [t for _, t in sender.delivered] == ["r1", "r2", "r3"]
    assert fake.now - 1000.0 < 1.0  # only the overall rate applies to replies


async def test_429_delays_the_chat_and_pauses_the_channel_then_delivers_once(
    store: MemoryStore, clock: FixedClock, fake: FakeTime
) -> None:
    await enqueue(store, clock, "telegram", "a", "hello")
    sender = FakeSender({"a": [RetryAfter(5)]})
    dispatcher = make(store, clock, fake, {"telegram": sender}, max_attempts=1)

    assert await dispatcher.run_once() == 1
    item = items(store)["hello"]
    assert item.status is OutboxStatus.PENDING
    assert item.attempts == 0  # the platform's wait is not a failed attempt
    assert item.next_attempt_at == MONDAY_9AM + timedelta(seconds=5)
    assert item.last_error is not None and "RetryAfter" in item.last_error

    assert await dispatcher.run_once() == 0  # not due yet
    await enqueue(store, clock, "telegram", "b", "other chat")
    paused_at = fake.now
    await dispatcher.run_once()
    assert fake.now - paused_at >= 4.9  # another chat on the channel waited for the pause too

    advance(clock, 5)
    await drain(dispatcher)
    assert sender.delivered == [("b", "other chat"), ("a", "hello")]
    assert items(store)["hello"].status is OutboxStatus.SENT


async def test_temporary_failure_is_retried_with_backoff_then_sent(
    store: MemoryStore, clock: FixedClock, fake: FakeTime
) -> None:
    await enqueue(store, clock, "zalo", "z", "report received")
    sender = FakeSender({"z": [TemporaryFailure("502 Bad Gateway"), TemporaryFailure("timeout")]})
    dispatcher = make(store, clock, fake, {"zalo": sender}, backoff_base=2.0)

    await dispatcher.run_once()
    item = items(store)["report received"]
    assert (item.attempts, item.next_attempt_at) == (1, MONDAY_9AM + timedelta(seconds=2))
    assert item.last_error == "TemporaryFailure: 502 Bad Gateway"

    advance(clock, 1)
    assert await dispatcher.run_once() == 0
    advance(clock, 1)
    await dispatcher.run_once()
    item = items(store)["report received"]
    assert (item.attempts, item.next_attempt_at) == (2, clock.now() + timedelta(seconds=4))

    advance(clock, 4)
    await dispatcher.run_once()
    assert items(store)["report received"].status is OutboxStatus.SENT
    assert sender.delivered == [("z", "report received")]
    assert len(sender.attempts) == 3


async def test_backoff_is_capped_and_jittered(
    store: MemoryStore, clock: FixedClock, fake: FakeTime
) -> None:
    await enqueue(store, clock, "zalo", "z", "x")
    sender = FakeSender({"z": [TemporaryFailure("down")] * 3})
    pacers = {"zalo": ChannelPacer.unlimited(clock=fake.monotonic, sleep=fake.sleep)}
    dispatcher = OutboxDispatcher(
        factory(store), {"zalo": sender}, clock, pacers,
        backoff_base=10, backoff_cap=15, jitter=lambda: 0.0,
    )
    delays = []
    for _ in range(3):
        await dispatcher.run_once()
        delays.append((items(store)["x"].next_attempt_at - clock.now()).total_seconds())
        advance(clock, 15)
    assert delays == [5.0, 7.5, 7.5]  # half of min(cap, base * 2**n) when the jitter draws 0


async def test_unexpected_error_is_retried_and_logged_without_the_text(
    store: MemoryStore, clock: FixedClock, fake: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    await enqueue(store, clock, "telegram", "a", "secret complaint about the ward chief")
    sender = FakeSender({"a": [RuntimeError("boom")]})
    dispatcher = make(store, clock, fake, {"telegram": sender})

    with caplog.at_level(logging.DEBUG, logger="bot"):
        await dispatcher.run_once()

    item = items(store)["secret complaint about the ward chief"]
    assert (item.status, item.attempts) == (OutboxStatus.PENDING, 1)
    assert any(r.levelno == logging.ERROR and r.exc_info for r in caplog.records)
    loud = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert loud and not any("secret" in message for message in loud)
    assert any("secret" in r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG)


async def test_permanent_failure_is_recorded_and_not_retried(
    store: MemoryStore, clock: FixedClock, fake: FakeTime
) -> None:
    await enqueue(store, clock, "telegram", "a", "welcome")
    await enqueue(store, clock, "telegram", "a", "next")
    sender = FakeSender({"a": [PermanentFailure("Forbidden: bot was blocked by the user")]})
    dispatcher = make(store, clock, fake, {"telegram": sender})

    await drain(dispatcher)
    advance(clock, 3600)
    await drain(dispatcher)

    item = items(store)["welcome"]
    assert item.status is OutboxStatus.FAILED
    assert item.last_error == "PermanentFailure: Forbidden: bot was blocked by the user"
    assert sender.attempts == [("a", "welcome"), ("a", "next")]  # the chat is not stuck behind it


async def test_item_fails_after_max_attempts_and_a_day(
    store: MemoryStore, clock: FixedClock, fake: FakeTime
) -> None:
    await enqueue(store, clock, "zalo", "z", "x")
    sender = FakeSender({"z": [TemporaryFailure("503")] * 10})
    dispatcher = make(store, clock, fake, {"zalo": sender}, max_attempts=3)

    for _ in range(5):  # an outage of 25 minutes: retried, never given up
        await dispatcher.run_once()
        advance(clock, 300)
    item = items(store)["x"]
    assert item.status is OutboxStatus.PENDING and item.attempts == 5

    advance(clock, 24 * 3600)  # still failing a day after it was written: given up
    await dispatcher.run_once()
    item = items(store)["x"]
    assert item.status is OutboxStatus.FAILED
    assert item.last_error == "TemporaryFailure: 503 (gave up after 6 attempts)"
    assert len(sender.attempts) == 6


async def test_later_message_waits_behind_one_waiting_for_retry(
    store: MemoryStore, clock: FixedClock, fake: FakeTime
) -> None:
    await enqueue(store, clock, "telegram", "a", "first")
    await enqueue(store, clock, "telegram", "a", "second")
    sender = FakeSender({"a": [TemporaryFailure("timeout")]})
    dispatcher = make(store, clock, fake, {"telegram": sender})

    await drain(dispatcher)
    assert sender.delivered == []
    assert items(store)["second"].status is OutboxStatus.PENDING

    advance(clock, 1)
    await drain(dispatcher)
    assert sender.delivered == [("a", "first"), ("a", "second")]


async def test_conversation_reply_goes_before_older_broadcasts(
    store: MemoryStore, clock: FixedClock, fake: FakeTime
) -> None:
    for n in range(3):
        await enqueue(store, clock, "telegram", f"member-{n}", f"news {n}", Priority.BROADCAST)
    await enqueue(store, clock, "telegram", "member-1", "older news", Priority.BROADCAST)
    await enqueue(store, clock, "telegram", "reporter", "your report", Priority.CONVERSATION)
    await enqueue(store, clock, "telegram", "member-1", "reply to member", Priority.CONVERSATION)
    sender = FakeSender()
    dispatcher = make(store, clock, fake, {"telegram": sender}, concurrency=1)

    await drain(dispatcher)

    texts = [text for _, text in sender.delivered]
    assert texts[:2] == ["your report", "reply to member"]
    assert texts.index("news 1") < texts.index("older news")  # same priority keeps its order
    assert len(texts) == 6


async def test_channel_without_sender_stays_pending(
    store: MemoryStore, clock: FixedClock, fake: FakeTime
) -> None:
    await enqueue(store, clock, "console", "local", "hi")
    dispatcher = make(store, clock, fake, {"telegram": FakeSender()})
    assert await dispatcher.run_once() == 0
    assert await dispatcher.run_once() == 0
    assert items(store)["hi"].status is OutboxStatus.PENDING


async def test_item_stays_pending_when_recording_the_outcome_fails(
    clock: FixedClock, fake: FakeTime
) -> None:
    store = FlakyStore()
    await enqueue(store, clock, "telegram", "a", "hello")
    sender = FakeSender()
    dispatcher = make(store, clock, fake, {"telegram": sender})

    store.broken = True
    assert await dispatcher.run_once() == 1
    assert items(store)["hello"].status is OutboxStatus.PENDING

    store.broken = False
    await dispatcher.run_once()
    assert items(store)["hello"].status is OutboxStatus.SENT
    assert sender.delivered == [("a", "hello"), ("a", "hello")]  # at least once


async def test_429_on_one_channel_does_not_stall_another(
    store: MemoryStore, clock: FixedClock
) -> None:
    await enqueue(store, clock, "telegram", "a", "throttled")
    await enqueue(store, clock, "telegram", "c", "same channel")
    for n in range(3):
        await enqueue(store, clock, "zalo", "z", f"zalo {n}")
    telegram = FakeSender({"a": [RetryAfter(3600)]})
    zalo = FakeSender()
    dispatcher = OutboxDispatcher(
        factory(store), {"telegram": telegram, "zalo": zalo}, clock,
        {"telegram": ChannelPacer(30.0, 1.0)},  # real time: the pause really lasts an hour
        idle_poll_seconds=3600, shutdown_grace_seconds=0.1,
    )
    runner = asyncio.create_task(dispatcher.run())

    await eventually(lambda: len(zalo.delivered) == 3)
    assert zalo.delivered == [("z", "zalo 0"), ("z", "zalo 1"), ("z", "zalo 2")]
    assert telegram.delivered == []  # chat "c" waits for the channel's pause

    dispatcher.stop()
    await asyncio.wait_for(runner, 5)
    assert items(store)["same channel"].status is OutboxStatus.PENDING


async def test_wake_makes_a_waiting_run_send_promptly(
    store: MemoryStore, clock: FixedClock, fake: FakeTime
) -> None:
    sender = FakeSender()
    dispatcher = make(store, clock, fake, {"telegram": sender}, idle_poll_seconds=3600)
    runner = asyncio.create_task(dispatcher.run())
    await asyncio.sleep(0.05)  # the first pass found nothing; run() now waits an hour

    for text in ("one", "two", "three"):
        await enqueue(store, clock, "telegram", "a", text)
    dispatcher.wake()

    await eventually(lambda: len(sender.delivered) == 3)
    assert sender.delivered == [("a", "one"), ("a", "two"), ("a", "three")]
    dispatcher.stop()
    await asyncio.wait_for(runner, 5)


async def test_item_in_flight_is_not_started_again(
    store: MemoryStore, clock: FixedClock, fake: FakeTime
) -> None:
    await enqueue(store, clock, "telegram", "a", "slow")
    sender = BlockingSender()
    dispatcher = make(store, clock, fake, {"telegram": sender})
    first = asyncio.create_task(dispatcher.run_once())
    await eventually(lambda: len(sender.attempts) == 1)

    assert await asyncio.wait_for(dispatcher.run_once(), 2) == 0

    sender.release.set()
    assert await first == 1
    assert sender.attempts == [("a", "slow")]


async def test_pass_reading_before_an_outcome_was_committed_skips_that_chat(
    clock: FixedClock, fake: FakeTime
) -> None:
    store = SlowReadStore()
    await enqueue(store, clock, "telegram", "a", "first")
    await enqueue(store, clock, "telegram", "a", "second")
    sender = BlockingSender()
    dispatcher = make(store, clock, fake, {"telegram": sender})
    first = asyncio.create_task(dispatcher.run_once())
    await eventually(lambda: len(sender.attempts) == 1)

    store.gate.clear()
    stale = asyncio.create_task(dispatcher.run_once())  # its snapshot still shows "first" pending
    await asyncio.sleep(0.01)
    sender.release.set()
    await first
    store.gate.set()

    assert await stale == 0
    await drain(dispatcher)
    assert sender.attempts == [("a", "first"), ("a", "second")]


# ---- offer(): the fast path, and outcomes recorded in batches -----------------------------
class CountingOutbox(MemoryOutbox):
    def __init__(self, state: MemoryState, store: CountingStore) -> None:
        super().__init__(state)
        self._store = store

    async def pending(
        self, limit: int, channels: Collection[str] | None = None
    ) -> list[OutboxItem]:
        self._store.reads += 1
        return await super().pending(limit, channels)


class CountingStore(MemoryStore):
    """Counts reads of the pending rows, the query the fast path is there to avoid."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def __call__(self) -> MemoryUnitOfWork:
        uow = MemoryUnitOfWork(self)
        uow.outbox = CountingOutbox(uow._state, self)
        return uow


class SlowCommitUnitOfWork(MemoryUnitOfWork):
    async def commit(self) -> None:
        await asyncio.sleep(0.01)  # like a real database round trip
        await super().commit()


class SlowCommitStore(MemoryStore):
    def __call__(self) -> MemoryUnitOfWork:
        return SlowCommitUnitOfWork(self)


class WatchfulSender(FakeSender):
    """Takes `delays[text]` seconds for a text, and notes two sends to one chat at once."""

    def __init__(self, delays: dict[str, float] | None = None) -> None:
        super().__init__()
        self.delays = delays or {}
        self.busy: set[str] = set()
        self.overlapped = False

    async def send(self, chat_id: str, reply: Reply) -> None:
        self.overlapped = self.overlapped or chat_id in self.busy
        self.busy.add(chat_id)
        try:
            await asyncio.sleep(self.delays.get(reply.text, 0))
            await super().send(chat_id, reply)
        finally:
            self.busy.discard(chat_id)


async def add(
    store: MemoryStore, clock: FixedClock, channel: str, chat_id: str, *texts: str,
    priority: int = Priority.CONVERSATION,
) -> list[OutboxItem]:
    """Commit `texts` in one unit of work, as the conversation service does; the stored items."""
    async with store() as uow:
        added = [
            await uow.outbox.add(channel, chat_id, Reply(text), clock.now(), priority)
            for text in texts
        ]
        await uow.commit()
    return added


def settled(store: MemoryStore) -> bool:
    return all(i.status is not OutboxStatus.PENDING for i in store.state.outbox.values())


async def test_offered_items_are_sent_in_order_without_reading_the_outbox(
    clock: FixedClock, fake: FakeTime
) -> None:
    store = CountingStore()
    sender = WatchfulSender({"a1": 0.05})
    dispatcher = make(store, clock, fake, {"telegram": sender})
    await dispatcher.run_once()  # the first pass: nothing pending, so nothing goes first
    reads = store.reads

    dispatcher.offer(await add(store, clock, "telegram", "a", "a1", "a2"))
    dispatcher.offer(await add(store, clock, "telegram", "b", "b1"))
    dispatcher.offer(await add(store, clock, "telegram", "a", "a3"))
    await eventually(lambda: settled(store))

    assert store.reads == reads
    assert [t for c, t in sender.attempts if c == "a"] == ["a1", "a2", "a3"]
    assert sorted(sender.attempts) == sorted(sender.delivered)
    assert len(sender.attempts) == 4 and not sender.overlapped
    assert all(i.status is OutboxStatus.SENT for i in items(store).values())


async def test_offer_before_the_first_pass_leaves_the_item_to_a_pass(
    store: MemoryStore, clock: FixedClock, fake: FakeTime
) -> None:
    await enqueue(store, clock, "telegram", "a", "left from before a restart")
    sender = FakeSender()
    dispatcher = make(store, clock, fake, {"telegram": sender})

    dispatcher.offer(await add(store, clock, "telegram", "a", "new"))
    await asyncio.sleep(0.01)
    assert sender.attempts == []

    await drain(dispatcher)
    assert sender.delivered == [("a", "left from before a restart"), ("a", "new")]


async def test_item_offered_during_the_first_read_is_not_overtaken(
    clock: FixedClock, fake: FakeTime
) -> None:
    store = SlowReadStore()
    sender = FakeSender()
    dispatcher = make(store, clock, fake, {"telegram": sender})
    store.gate.clear()
    reading = asyncio.create_task(dispatcher.run_once())  # its snapshot has nothing for "a"
    await asyncio.sleep(0.01)
    dispatcher.offer(await add(store, clock, "telegram", "a", "first"))
    store.gate.set()
    assert await reading == 0

    dispatcher.offer(await add(store, clock, "telegram", "a", "second"))
    await asyncio.sleep(0.01)
    assert sender.attempts == []
    await drain(dispatcher)
    assert sender.delivered == [("a", "first"), ("a", "second")]


async def test_offered_item_does_not_overtake_what_a_pass_saw_behind_the_item_in_flight(
    store: MemoryStore, clock: FixedClock, fake: FakeTime
) -> None:
    await enqueue(store, clock, "telegram", "a", "first")
    await enqueue(store, clock, "telegram", "a", "second")
    sender = BlockingSender()
    dispatcher = make(store, clock, fake, {"telegram": sender})
    passing = asyncio.create_task(dispatcher.run_once())
    await eventually(lambda: len(sender.attempts) == 1)
    assert await dispatcher.run_once() == 0  # sees "first" in flight and "second" behind it

    dispatcher.offer(await add(store, clock, "telegram", "a", "third"))
    sender.release.set()
    await passing
    await drain(dispatcher)
    assert sender.delivered == [("a", "first"), ("a", "second"), ("a", "third")]


async def test_offered_item_waits_behind_an_item_waiting_for_retry(
    store: MemoryStore, clock: FixedClock, fake: FakeTime
) -> None:
    sender = FakeSender({"a": [TemporaryFailure("timeout")]})
    dispatcher = make(store, clock, fake, {"telegram": sender})
    await dispatcher.run_once()

    dispatcher.offer(await add(store, clock, "telegram", "a", "first", "second"))
    await dispatcher.run_once()  # also waits for the offered sends
    dispatcher.offer(await add(store, clock, "telegram", "a", "third"))
    await dispatcher.run_once()
    assert sender.attempts == [("a", "first")]
    assert {t: i.status for t, i in items(store).items()} == dict.fromkeys(
        ("first", "second", "third"), OutboxStatus.PENDING
    )

    advance(clock, 1)
    await drain(dispatcher)
    assert sender.delivered == [("a", "first"), ("a", "second"), ("a", "third")]


async def test_unoffered_rows_announced_by_wake_go_before_later_offered_ones(
    store: MemoryStore, clock: FixedClock, fake: FakeTime
) -> None:
    sender = FakeSender()
    dispatcher = make(store, clock, fake, {"telegram": sender})
    await dispatcher.run_once()

    await enqueue(store, clock, "telegram", "a", "written elsewhere")
    dispatcher.wake()
    dispatcher.offer(await add(store, clock, "telegram", "a", "offered"))
    await asyncio.sleep(0.01)
    assert sender.attempts == []

    await drain(dispatcher)
    assert sender.delivered == [("a", "written elsewhere"), ("a", "offered")]


async def test_offered_item_waits_for_rows_a_truncated_read_did_not_show(
    store: MemoryStore, clock: FixedClock, fake: FakeTime
) -> None:
    for text in ("b1", "b2"):
        await enqueue(store, clock, "telegram", "b", text, Priority.NOTIFICATION)
    await enqueue(store, clock, "telegram", "a", "a1", Priority.NOTIFICATION)
    sender = FakeSender()
    dispatcher = make(store, clock, fake, {"telegram": sender}, batch_size=2)
    await dispatcher.run_once()  # read b1 and b2 only
    assert sender.attempts == [("b", "b1")]

    dispatcher.offer(await add(store, clock, "telegram", "a", "a2", priority=Priority.NOTIFICATION))
    await asyncio.sleep(0.01)
    assert ("a", "a2") not in sender.attempts

    await drain(dispatcher)
    assert [t for c, t in sender.delivered if c == "a"] == ["a1", "a2"]


async def test_item_offered_while_a_pass_is_reading_is_sent_once(
    clock: FixedClock, fake: FakeTime
) -> None:
    store = SlowReadStore()
    sender = FakeSender()
    dispatcher = make(store, clock, fake, {"telegram": sender})
    await dispatcher.run_once()

    added = await add(store, clock, "telegram", "a", "hello")
    store.gate.clear()
    reading = asyncio.create_task(dispatcher.run_once())  # its snapshot shows "hello" pending
    await asyncio.sleep(0.01)
    dispatcher.offer(added)
    await eventually(lambda: settled(store))
    store.gate.set()

    assert await reading == 0
    await drain(dispatcher)
    assert sender.attempts == [("a", "hello")]


async def test_item_a_pass_started_before_it_was_offered_is_sent_once(
    clock: FixedClock, fake: FakeTime
) -> None:
    store = CountingStore()
    sender = BlockingSender()
    dispatcher = make(store, clock, fake, {"telegram": sender})
    await dispatcher.run_once()
    early = await add(store, clock, "telegram", "a", "in flight")
    late = await add(store, clock, "telegram", "b", "already sent")
    passing = asyncio.create_task(dispatcher.run_once())  # a pass reads them before offer()
    await eventually(lambda: len(sender.attempts) == 2)

    dispatcher.offer(early)  # still in flight
    sender.release.set()
    assert await passing == 2
    dispatcher.offer(late)  # sent and recorded already
    await dispatcher.run_once()  # reads again, as offer() asked: chat "b" is clear
    reads = store.reads
    dispatcher.offer(await add(store, clock, "telegram", "a", "next"))
    dispatcher.offer(await add(store, clock, "telegram", "b", "next"))
    await eventually(lambda: settled(store))
    await asyncio.sleep(0.01)

    assert sorted(sender.attempts) == [
        ("a", "in flight"), ("a", "next"), ("b", "already sent"), ("b", "next")
    ]
    assert store.reads == reads


async def test_offered_item_follows_the_chats_item_in_flight_without_a_read(
    clock: FixedClock, fake: FakeTime
) -> None:
    store = CountingStore()
    await enqueue(store, clock, "telegram", "a", "first")
    sender = BlockingSender()
    dispatcher = make(store, clock, fake, {"telegram": sender})
    passing = asyncio.create_task(dispatcher.run_once())
    await eventually(lambda: len(sender.attempts) == 1)

    dispatcher.offer(await add(store, clock, "telegram", "a", "second", "third"))
    await asyncio.sleep(0.01)
    assert sender.attempts == [("a", "first")]
    sender.release.set()

    assert await passing == 1  # and it waited for the items queued behind its own
    assert sender.delivered == [("a", "first"), ("a", "second"), ("a", "third")]
    assert settled(store) and store.reads == 1


async def test_outcomes_of_concurrent_sends_share_units_of_work(
    clock: FixedClock, fake: FakeTime
) -> None:
    store = SlowCommitStore()
    sender = FakeSender()
    dispatcher = make(store, clock, fake, {"telegram": sender})
    await dispatcher.run_once()
    offered = [item for n in range(6) for item in await add(store, clock, "telegram", f"c{n}", "x")]
    commits = store.commits

    dispatcher.offer(offered)
    await dispatcher.run_once()

    assert settled(store) and len(sender.delivered) == 6
    assert store.commits - commits <= 2  # the first outcome at once, the rest together


async def test_failed_outcome_flush_leaves_items_pending_and_keeps_the_order(
    clock: FixedClock, fake: FakeTime
) -> None:
    store = FlakyStore()
    sender = FakeSender()
    dispatcher = make(store, clock, fake, {"telegram": sender})
    await dispatcher.run_once()
    offered = [
        *await add(store, clock, "telegram", "a", "a1", "a2"),
        *await add(store, clock, "telegram", "b", "b1"),
    ]

    store.broken = True
    dispatcher.offer(offered)
    await dispatcher.run_once()
    assert sorted(sender.attempts) == [("a", "a1"), ("b", "b1")]
    assert all(i.status is OutboxStatus.PENDING for i in items(store).values())

    store.broken = False
    dispatcher.offer(await add(store, clock, "telegram", "a", "a3"))
    await asyncio.sleep(0.01)
    assert len(sender.attempts) == 2  # a3 does not overtake a1 and a2
    await drain(dispatcher)
    assert [t for c, t in sender.delivered if c == "a"] == ["a1", "a1", "a2", "a3"]  # at least once
    assert [t for c, t in sender.delivered if c == "b"] == ["b1", "b1"]
    assert settled(store)


async def test_rows_no_sender_here_can_send_never_hide_the_others(
    store: MemoryStore, clock: FixedClock, fake: FakeTime
) -> None:
    for n in range(30):
        await enqueue(store, clock, "console", f"c{n}", "local only")
    await enqueue(store, clock, "telegram", "a", "to telegram")
    sender = FakeSender()
    dispatcher = make(store, clock, fake, {"telegram": sender}, batch_size=10)
    await drain(dispatcher)
    assert sender.delivered == [("a", "to telegram")]


async def test_a_channel_waiting_on_its_rows_does_not_hide_the_other_channels(
    store: MemoryStore, clock: FixedClock, fake: FakeTime
) -> None:
    """Telegram rows that wait for a retry fill a whole batch: Zalo's row after them is read
    and sent all the same (each channel is read in its own batch)."""
    for n in range(5):
        await enqueue(store, clock, "telegram", f"t{n}", f"tg {n}", Priority.NOTIFICATION)
    await enqueue(store, clock, "zalo", "z", "zalo notification", Priority.NOTIFICATION)
    telegram = FakeSender({f"t{n}": [TemporaryFailure("502")] * 10 for n in range(5)})
    zalo = FakeSender()
    dispatcher = make(store, clock, fake, {"telegram": telegram, "zalo": zalo}, batch_size=3)
    for _ in range(3):
        await dispatcher.run_once()
    assert zalo.delivered == [("z", "zalo notification")]
    assert items(store)["tg 4"].status is OutboxStatus.PENDING  # Telegram's own wait goes on
