"""Several `dlxh serve` processes on one database: only the one holding the lead sends anything
(the others leave their rows pending and tell it), and taking the lead settles what the
previous holder left being sent."""

from __future__ import annotations

import asyncio

from bot.dispatch_lead import DispatchLead
from domain.clock import FixedClock
from domain.messages import OutboxStatus, Priority, Reply
from tests.fakes.memory_uow import MemoryStore
from tests.unit.test_dispatcher import FakeSender, eventually, items, make
from tests.unit.test_pacing import FakeTime


class SwitchableLead:
    def __init__(self, leading: bool) -> None:
        self.leading = leading
        self.released = 0

    async def is_leader(self) -> bool:
        return self.leading

    async def release(self) -> None:
        self.released += 1


async def queue(store: MemoryStore, clock: FixedClock) -> None:
    async with store() as uow:
        for chat in ("m0", "m1"):
            reply = Reply(f"copy for {chat}")
            await uow.outbox.add("telegram", chat, reply, clock.now(), Priority.BROADCAST)
        await uow.outbox.add("telegram", "r", Reply("reply to r"), clock.now())
        assert await uow.outbox.claim([1]) == {1}  # the previous holder was sending m0's copy
        await uow.commit()


async def test_without_the_lead_nothing_is_sent_settled_or_read_and_new_rows_are_announced(
    clock: FixedClock,
) -> None:
    store = MemoryStore()
    await queue(store, clock)
    lead = SwitchableLead(leading=False)
    sender = FakeSender()
    announced: list[int] = []
    dispatcher = make(store, clock, FakeTime(), {"telegram": sender}, lead=lead,
                      idle_poll_seconds=0.01, announce=lambda: announced.append(1))

    runner = asyncio.create_task(dispatcher.run())
    await asyncio.sleep(0.05)  # several idle polls
    assert announced == []  # polls announce nothing: only this process's own rows do
    async with store() as uow:
        offered = await uow.outbox.add("telegram", "s", Reply("reply to s"), clock.now())
        await uow.commit()
    dispatcher.offer([offered])  # as the conversation does right after its commit
    dispatcher.wake()  # as a sweep does after launching a broadcast
    await asyncio.sleep(0.05)
    dispatcher.stop()
    await asyncio.wait_for(runner, 5)

    assert sender.delivered == []  # the leader sends them: two senders would send twice
    assert len(announced) == 2
    statuses = {text: item.status for text, item in items(store).items()}
    assert statuses["copy for m0"] is OutboxStatus.SENDING  # the leader may be sending it
    assert statuses["copy for m1"] is OutboxStatus.PENDING
    assert statuses["reply to r"] is statuses["reply to s"] is OutboxStatus.PENDING
    assert lead.released == 0  # never held


async def test_taking_the_lead_settles_then_sends_the_copies_once(clock: FixedClock) -> None:
    store = MemoryStore()
    await queue(store, clock)
    lead = SwitchableLead(leading=True)
    sender = FakeSender()
    dispatcher = make(store, clock, FakeTime(), {"telegram": sender}, lead=lead)

    runner = asyncio.create_task(dispatcher.run())
    await eventually(lambda: len(sender.delivered) == 2)
    dispatcher.stop()
    await asyncio.wait_for(runner, 5)

    assert sorted(sender.delivered) == [("m1", "copy for m1"), ("r", "reply to r")]
    assert {item.status for item in items(store).values()} == {OutboxStatus.SENT}
    assert lead.released == 1


async def test_the_lead_is_asked_again_after_a_while_and_settles_on_each_new_term() -> None:
    lead = SwitchableLead(leading=True)
    settled: list[int] = []
    now = [0.0]

    async def settle() -> int:
        settled.append(1)
        return 0

    dispatch_lead = DispatchLead(
        lead, settle, check_seconds=5.0, retry_seconds=1.0, monotonic=lambda: now[0]
    )
    assert await dispatch_lead.holds() and dispatch_lead.sends
    lead.leading = False
    now[0] = 4.0
    assert await dispatch_lead.holds()  # not asked again yet
    now[0] = 9.0
    assert not await dispatch_lead.holds() and not dispatch_lead.sends
    lead.leading = True
    now[0] = 9.5
    assert not await dispatch_lead.holds()  # a standby asks again after a second
    now[0] = 10.0
    assert await dispatch_lead.holds()
    assert len(settled) == 2  # once per term: the other holder may have left copies behind
