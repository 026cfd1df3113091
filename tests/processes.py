"""Running the service as a process of its own, as an operator would (`python -m bot serve`):
for the tests that need a real process (a faked system clock) and for the benchmarks."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp

HOST = "127.0.0.1"
# libfaketime's default build, as the outside check preloads it (.ci/run installs it).
LIBFAKETIME = next(iter(sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))), None)
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


def clean_environ() -> dict[str, str]:
    """This environment without anything the service's Settings would read."""
    from bot.settings import Settings

    names = {n.upper() for n in Settings.model_fields}
    return {k: v for k, v in os.environ.items() if k.upper() not in names}


@asynccontextmanager
async def spawned(
    command: list[str], env: dict[str, str], cwd: Path, log: Path
) -> AsyncIterator[subprocess.Popen[bytes]]:
    """A child process, always stopped at the end (SIGTERM, then SIGKILL after a while),
    without blocking the event loop: fakes served by this process keep answering it."""
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=out,
                                   stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            await asyncio.to_thread(stop_process, process)


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


@asynccontextmanager
async def serving(
    env: dict[str, str], cwd: Path, log: Path, port: int
) -> AsyncIterator[subprocess.Popen[bytes]]:
    """`python -m bot serve` as a process of its own, healthy, until the block ends."""
    async with spawned([sys.executable, "-m", "bot", "serve"], env, cwd, log) as process:
        await wait_healthy(port, process, log)
        yield process
