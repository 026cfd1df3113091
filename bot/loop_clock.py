"""The event loop's clock: elapsed time from the kernel, whatever a preload does to the C library.

libfaketime, with which the outside check shifts the system clock, moves CLOCK_MONOTONIC too. Its
default (single-threaded) build, re-reading its timestamp file at every call
(`FAKETIME_NO_CACHE=1`), is not safe against two threads reading the clock at once — and Python's
own lock hand-over between threads reads it — so in a threaded process the faked monotonic clock
keeps falling back to the file's moment (or to the real time): the loop's timers stop coming due
and the service stops answering (decision 0010). Under a preloaded library the loop therefore
reads CLOCK_MONOTONIC with a direct system call, which libfaketime as distributions build it does
not intercept; the domain clock (`SystemClock`) still reads the shifted wall clock, and the sweep
scheduler looks at it every second (`scheduler/runner.py`).
Without a preload the stock loop and its vDSO clock are kept: the system call costs ~2 µs a read.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import platform
import time
from collections.abc import Callable

_CLOCK_MONOTONIC = 1
_SYS_CLOCK_GETTIME = {"x86_64": 228, "aarch64": 113}  # Linux system call numbers


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def kernel_monotonic_reader() -> Callable[[], float] | None:
    """CLOCK_MONOTONIC in seconds read by `syscall(2)`, or None where we know no call number."""
    number = _SYS_CLOCK_GETTIME.get(platform.machine())
    if number is None or platform.system() != "Linux":
        return None
    syscall = ctypes.CDLL(None, use_errno=True).syscall
    syscall.restype = ctypes.c_long

    def read() -> float:
        moment = _Timespec()
        if syscall(number, _CLOCK_MONOTONIC, ctypes.byref(moment)) != 0:
            raise OSError(ctypes.get_errno(), "clock_gettime(CLOCK_MONOTONIC) failed")
        return float(moment.tv_sec + moment.tv_nsec * 1e-9)

    return read


def clock_may_be_intercepted(kernel: Callable[[], float]) -> bool:
    """A preloaded library may replace the C library's clock; one that already differs from the
    kernel's by a second is replaced."""
    return bool(os.environ.get("LD_PRELOAD")) or abs(time.monotonic() - kernel()) > 1.0


class KernelClockLoop(asyncio.SelectorEventLoop):
    """The stock selector loop, its timers measured by the kernel's monotonic clock."""

    def __init__(self, kernel: Callable[[], float]) -> None:
        self._kernel = kernel
        super().__init__()

    def time(self) -> float:
        return self._kernel()


def new_event_loop() -> asyncio.AbstractEventLoop:
    """The loop the command line runs on (`asyncio.Runner(loop_factory=new_event_loop)`)."""
    kernel = kernel_monotonic_reader()
    if kernel is not None and clock_may_be_intercepted(kernel):
        return KernelClockLoop(kernel)
    return asyncio.new_event_loop()


def loop_time() -> float:
    """The running loop's clock, which its timers and sleeps go by: pacing measures with it."""
    return asyncio.get_running_loop().time()
