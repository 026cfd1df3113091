"""A channel's token bucket shared by replies (foreground) and broadcast copies (background):
replies never queue behind the copies, and the channel's average rate still holds."""

from __future__ import annotations

import asyncio

import pytest

from bot.pacing import ChannelPacer, TokenBucket


class ManualTime:
    """Monotonic time that moves only when the test says so; sleepers wake when it has."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + seconds, future))
        await future

    async def advance_to(self, moment: float, step: float = 0.25) -> None:
        await self._let_run()
        while self.now < moment:
            self.now = min(moment, self.now + step)
            due = [(t, f) for t, f in self._sleepers if t <= self.now + 1e-9]
            self._sleepers = [s for s in self._sleepers if s not in due]
            for _, future in due:
                future.set_result(None)
            await self._let_run()

    @staticmethod
    async def _let_run() -> None:
        for _ in range(10):
            await asyncio.sleep(0)


async def test_a_reply_does_not_queue_behind_waiting_broadcast_copies() -> None:
    time = ManualTime()
    pacer = ChannelPacer(1.0, 100.0, clock=time.monotonic, sleep=time.sleep)
    done: list[tuple[str, float]] = []

    async def send(name: str, background: bool) -> None:
        await pacer.wait_channel(background=background)
        done.append((name, time.now))

    copies = [asyncio.create_task(send(f"copy {n}", True)) for n in range(1, 4)]
    await time.advance_to(0.5)
    reply = asyncio.create_task(send("reply", False))
    await time.advance_to(4.0)
    await asyncio.gather(*copies, reply)

    # One token per second overall; the reply takes the next one, the copies the rest.
    assert done == [("copy 1", 0.0), ("reply", 1.0), ("copy 2", 2.0), ("copy 3", 3.0)]


async def test_spare_tokens_keep_the_average_rate() -> None:
    time = ManualTime()
    bucket = TokenBucket(4.0, 1.0, time.monotonic, sleep=time.sleep)
    taken: list[float] = []

    async def take(spare: bool) -> None:
        await (bucket.acquire_spare() if spare else bucket.acquire())
        taken.append(time.now)

    lock = asyncio.Lock()

    async def take_spare() -> None:
        async with lock:  # one spare-token caller at a time, as ChannelPacer does
            await take(True)

    tasks = [asyncio.create_task(take_spare()) for _ in range(8)]
    tasks += [asyncio.create_task(take(False)) for _ in range(4)]
    await time.advance_to(5.0, step=0.05)
    await asyncio.gather(*tasks)

    assert len(taken) == 12
    assert taken[-1] == pytest.approx(11 / 4, abs=0.06)  # 12 tokens at 4/s: the last at 2.75 s


async def test_a_pause_holds_broadcast_copies_too() -> None:
    time = ManualTime()
    pacer = ChannelPacer(100.0, 100.0, clock=time.monotonic, sleep=time.sleep)
    pacer.pause_for(3.0)
    waiter = asyncio.create_task(pacer.wait_channel(background=True))
    await time.advance_to(2.5)
    assert not waiter.done()
    await time.advance_to(3.5)
    assert waiter.done()


async def test_an_unlimited_channel_never_makes_copies_wait() -> None:
    time = ManualTime()
    pacer = ChannelPacer.unlimited(clock=time.monotonic, sleep=time.sleep)
    for _ in range(100):
        await asyncio.wait_for(pacer.wait_channel(background=True), 1)
