"""What the benchmarks measure of processes: CPU, peak memory, the machine they run on.
(Starting and stopping the service: tests/processes.py.)"""

from __future__ import annotations

import contextlib
import gc
import os
import platform
import threading
from collections.abc import Iterator
from pathlib import Path

import psutil


class RssSampler(threading.Thread):
    """Peak resident memory of one process, sampled every 50 ms until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True, name="rss-sampler")
        self._process = psutil.Process(pid)
        self._halt = threading.Event()
        self.peak = 0

    def run(self) -> None:
        while not self._halt.is_set():
            with contextlib.suppress(psutil.Error):
                self.peak = max(self.peak, self._process.memory_info().rss)
            self._halt.wait(0.05)

    def stop(self) -> int:
        self._halt.set()
        self.join(timeout=2)
        return self.peak


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


@contextlib.contextmanager
def no_collections_here() -> Iterator[None]:
    """The benchmark's own garbage collector off during a load: a full collection of this
    process (users, fake server, recorded stamps) took ~200 ms and was counted as the latency
    of whichever bot it happened to hit. The bot processes are left as they are."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def machine() -> str:
    model = ""
    with contextlib.suppress(OSError):
        model = next((line.split(":", 1)[1].strip() for line in
                      Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), "")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"machine: {os.cpu_count()} logical cores ({psutil.cpu_count(logical=False)} "
            f"physical) {model}; {psutil.virtual_memory().total / 2**30:.1f} GiB RAM; "
            f"load avg {load}; Python {platform.python_version()} on {platform.system()}")
