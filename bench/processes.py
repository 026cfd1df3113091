"""What the benchmarks need of processes: starting and stopping the bot, its CPU and memory,
the machine they run on."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import platform
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import psutil

HOST = "127.0.0.1"
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


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


@contextlib.contextmanager
def spawned(command: list[str], env: dict[str, str], cwd: Path, log: Path
            ) -> Iterator[subprocess.Popen[bytes]]:
    """A child process, always stopped at the end: SIGTERM, then SIGKILL after a while."""
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=out,
                                   stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            stop_process(process)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(STOP_TIMEOUT)


async def wait_healthy(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    url = f"http://{HOST}:{port}/healthz"
    deadline = time.monotonic() + STARTUP_TIMEOUT
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the process exited ({process.returncode}):\n{tail(log)}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.05)
    raise TimeoutError(f"not healthy within {STARTUP_TIMEOUT}s:\n{tail(log)}")


def tail(path: Path, lines: int = 30) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


def clean_environ() -> dict[str, str]:
    """This environment without anything the service's Settings would read."""
    from bot.settings import Settings

    names = {n.upper() for n in Settings.model_fields}
    return {k: v for k, v in os.environ.items() if k.upper() not in names}


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
