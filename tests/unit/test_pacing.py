from __future__ import annotations

import asyncio

import pytest

from bot.pacing import ChannelPacer, TokenBucket


class FakeTime:
    """Monotonic time that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


async def test_rate_is_respected(fake: FakeTime) -> None:
    bucket = TokenBucket(2.0, 1.0, fake.monotonic, sleep=fake.sleep)
    for _ in range(11):
        await bucket.acquire()
    assert fake.now - 1000.0 == pytest.approx(5.0)  # first is free, then one every 0.5 s


async def test_burst_is_respected(fake: FakeTime) -> None:
    bucket = TokenBucket(1.0, 3.0, fake.monotonic, sleep=fake.sleep)
    for _ in range(3):
        await bucket.acquire()
    assert fake.sleeps == []
    assert bucket.delay() == pytest.approx(1.0)
    await bucket.acquire()
    assert fake.sleeps == [pytest.approx(1.0)]


async def test_burst_refills_only_up_to_its_size(fake: FakeTime) -> None:
    bucket = TokenBucket(1.0, 2.0, fake.monotonic, sleep=fake.sleep)
    fake.now += 3600
    for _ in range(2):
        await bucket.acquire()
    assert fake.sleeps == []
    await bucket.acquire()
    assert fake.sleeps == [pytest.approx(1.0)]


async def test_concurrent_callers_are_spaced_out(fake: FakeTime) -> None:
    bucket = TokenBucket(1.0, 1.0, fake.monotonic, sleep=fake.sleep)
    await asyncio.gather(*(bucket.acquire() for _ in range(5)))
    assert fake.now - 1000.0 == pytest.approx(4.0)


async def test_cancelled_waiter_gives_its_token_back() -> None:
    clock = FakeTime()
    bucket = TokenBucket(1.0, 1.0, clock.monotonic)  # real sleep: the waiter really waits
    await bucket.acquire()
    waiter = asyncio.create_task(bucket.acquire())
    await asyncio.sleep(0)
    assert bucket.delay() == pytest.approx(2.0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert bucket.delay() == pytest.approx(1.0)


def test_invalid_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        TokenBucket(0.0, 1.0)
    with pytest.raises(ValueError):
        TokenBucket(1.0, 0.5)


async def test_pacer_applies_per_chat_and_overall_limits(fake: FakeTime) -> None:
    pacer = ChannelPacer(10.0, 1.0, 1.0, clock=fake.monotonic, sleep=fake.sleep)
    await pacer.acquire("a")
    await pacer.acquire("b")  # another chat: only the overall spacing of 0.1 s
    assert fake.now - 1000.0 == pytest.approx(0.1)
    await pacer.acquire("a")  # same chat again: a second after its first message
    assert fake.now - 1000.0 == pytest.approx(1.0)


async def test_pause_holds_every_chat_of_the_channel(fake: FakeTime) -> None:
    pacer = ChannelPacer(30.0, 1.0, clock=fake.monotonic, sleep=fake.sleep)
    pacer.pause_for(30.0)
    pacer.pause_until(fake.now + 5.0)  # a shorter pause does not cut the longer one
    assert pacer.paused_for() == pytest.approx(30.0)
    await pacer.acquire("someone-else")
    assert fake.now - 1000.0 >= 30.0
    assert pacer.paused_for() == 0.0


async def test_idle_chat_buckets_are_dropped(fake: FakeTime) -> None:
    pacer = ChannelPacer(1000.0, 1.0, clock=fake.monotonic, sleep=fake.sleep, sweep_seconds=10)
    for n in range(100):
        await pacer.acquire(f"chat-{n}")
    assert pacer.tracked_chats == 100
    fake.now += 11
    await pacer.acquire("latest")
    assert pacer.tracked_chats == 1


async def test_busy_chat_bucket_is_kept(fake: FakeTime) -> None:
    pacer = ChannelPacer(1000.0, 0.01, clock=fake.monotonic, sleep=fake.sleep, sweep_seconds=10)
    await pacer.acquire("slow")
    fake.now += 11
    await pacer.acquire("other")
    assert pacer.tracked_chats == 2  # "slow" has not refilled yet at 1 message per 100 s


async def test_unlimited_pacer_never_waits_but_can_pause(fake: FakeTime) -> None:
    pacer = ChannelPacer.unlimited(clock=fake.monotonic, sleep=fake.sleep)
    for _ in range(50):
        await pacer.acquire("a")
    assert fake.sleeps == []
    pacer.pause_for(2.0)
    await pacer.acquire("a")
    assert fake.sleeps == [pytest.approx(2.0)]
