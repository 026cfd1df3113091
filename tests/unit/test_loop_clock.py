"""The event loop's clock under a preloaded libfaketime (bot/loop_clock.py, decision 0010)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.loop_clock import KernelClockLoop, kernel_monotonic_reader, new_event_loop
from tests.processes import LIBFAKETIME

ROOT = Path(__file__).resolve().parents[2]

# Two threads read the wall clock without a pause while the loop sleeps forty times 50 ms.
TIMERS_WHILE_THREADS_READ_THE_CLOCK = """
import asyncio, sys, threading, time
from bot.loop_clock import new_event_loop

def read_the_clock(stop):
    while not stop.is_set():
        time.time()

async def sleeps():
    for _ in range(40):
        await asyncio.sleep(0.05)

stop = threading.Event()
readers = [threading.Thread(target=read_the_clock, args=(stop,)) for _ in range(2)]
for reader in readers:
    reader.start()
try:
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        runner.run(sleeps())
        print(type(runner.get_loop()).__name__)
finally:
    stop.set()
"""


def test_the_kernel_clock_reads_what_the_c_library_reads_without_a_preload() -> None:
    kernel = kernel_monotonic_reader()
    assert kernel is not None  # Linux on x86_64 or aarch64, as CI and deployments are
    before, read, after = time.monotonic(), kernel(), time.monotonic()
    assert before - 0.01 <= read <= after + 0.01


def test_the_loop_measures_with_the_kernel_clock_only_under_a_preload(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LD_PRELOAD", raising=False)
    stock = new_event_loop()
    monkeypatch.setenv("LD_PRELOAD", "/usr/lib/libwhatever.so")
    kernel = new_event_loop()
    try:
        assert not isinstance(stock, KernelClockLoop)
        assert isinstance(kernel, KernelClockLoop)
        assert kernel.run_until_complete(asyncio.sleep(0.01, result="woke")) == "woke"
        assert abs(kernel.time() - time.monotonic()) < 0.01
    finally:
        stock.close()
        kernel.close()


@pytest.mark.skipif(LIBFAKETIME is None, reason="no libfaketime (.ci/run installs it)")
def test_timers_come_due_under_libfaketime_while_other_threads_read_the_clock(
    tmp_path: Path,
) -> None:
    """libfaketime's default build, re-reading its file at every call, sends the faked monotonic
    clock back to the file's moment when threads read it at once; the stock loop's timers then
    stall for seconds to minutes (20 s and more seen), the kernel clock's do not."""
    assert LIBFAKETIME is not None
    (tmp_path / "faketime").write_text("@2026-11-30 02:00:00\n")
    env = {
        "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "TZ": "UTC",
        "LD_PRELOAD": LIBFAKETIME, "FAKETIME_TIMESTAMP_FILE": str(tmp_path / "faketime"),
        "FAKETIME_NO_CACHE": "1",
    }
    done = subprocess.run(
        [sys.executable, "-c", TIMERS_WHILE_THREADS_READ_THE_CLOCK],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["KernelClockLoop"]
