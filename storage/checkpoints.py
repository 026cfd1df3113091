"""SQLite's write-ahead log copied into the database file on a thread of its own.

By default SQLite copies the log (a checkpoint) inside whichever commit takes it past 1,000
pages, with an fsync of the database file. Our units of work commit on the event loop's thread
(decision 0007), so that commit froze every chat of the process for the copy: 10–20 ms at a
time during a load of reports, ~180 ms of a sweep in which a thousand cases fall due
(`bench.sweep`). The service's connections leave the copying to `WalCheckpointer`, which runs
a PASSIVE checkpoint (it never blocks a reader or a writer) every second on its own thread;
they copy the log themselves only past `COMMIT_CHECKPOINT_PAGES`, in case the checkpointer
stopped. What is committed is as safe either way: it is in the log, and read from there.
See decision 0009.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

log = logging.getLogger(__name__)

CHECKPOINT_EVERY_S = 1.0
# ~40 MB of log with 4 KiB pages: more than a sweep or a broadcast launch writes in a second.
COMMIT_CHECKPOINT_PAGES = 10_000
_BUSY_TIMEOUT_S = 5.0


class Checkpoint(NamedTuple):
    """What `PRAGMA wal_checkpoint` answers: the log's frames, and how many of them are now
    in the database file (a reader still using older frames keeps the rest for later)."""

    busy: bool
    log_frames: int
    copied_frames: int


class WalCheckpointer:
    """Copies the log of the SQLite file `path` every `every_s` seconds while `run` runs."""

    def __init__(self, path: Path, every_s: float = CHECKPOINT_EVERY_S) -> None:
        self._path = path
        self._every_s = every_s
        self._connection: sqlite3.Connection | None = None
        self._failing = False

    async def run(self) -> None:
        # One thread per run, so that the connection is never used by two at once.
        thread = ThreadPoolExecutor(1, thread_name_prefix="wal-checkpoint")
        loop = asyncio.get_running_loop()
        try:
            while True:
                await asyncio.sleep(self._every_s)
                await loop.run_in_executor(thread, self._checkpoint_or_log)
        finally:
            # After a checkpoint still running on the thread, never beside it.
            await asyncio.shield(loop.run_in_executor(thread, self.close))
            thread.shutdown(wait=False)

    def checkpoint(self) -> Checkpoint:
        """One PASSIVE checkpoint, now, on the calling thread (not while `run` runs)."""
        if self._connection is None:
            # mode=rw: a missing file is an error, not a new empty database.
            self._connection = sqlite3.connect(
                f"{self._path.resolve().as_uri()}?mode=rw", uri=True,
                timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False,
            )
        busy, frames, copied = self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return Checkpoint(bool(busy), frames, copied)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _checkpoint_or_log(self) -> None:
        """A failure is logged once (the commits' own checkpoints take over) and the
        connection opened afresh at the next tick."""
        try:
            done = self.checkpoint()
        except sqlite3.Error as error:
            self.close()
            if not self._failing:
                log.warning("WAL checkpoints of %s fail: %s", self._path.name, error)
            self._failing = True
            return
        if done.log_frames < 0 and not self._failing:  # the file is not in WAL mode
            log.warning("%s is not in WAL mode: nothing to checkpoint", self._path.name)
        self._failing = done.log_frames < 0
