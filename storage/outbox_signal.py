"""PostgreSQL LISTEN/NOTIFY on `dlxh_outbox`: "new outbox rows", from any process to the leader.

A process that does not send the outbox (another holds the lead, `bot/dispatch_lead.py`)
commits its rows and announces them; the leading dispatcher listens and reads them at once
instead of at its next idle poll. The signal only saves time: a lost notification (the
listening connection dropped, a process killed between its commit and the NOTIFY) is made up
by that poll, so nothing depends on it arriving.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)
CHANNEL = "dlxh_outbox"
_NOTIFY = text(f"NOTIFY {CHANNEL}")
REOPEN_SECONDS = 2.0


class OutboxSignal:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._listening: AsyncConnection | None = None
        self._on_signal: Callable[[], None] = lambda: None
        self._reopening: asyncio.Task[None] | None = None
        self._closing = False
        self._sending: asyncio.Task[None] | None = None
        self._again = False

    async def listen(self, on_signal: Callable[[], None]) -> None:
        """Call `on_signal` (in this event loop) at every notification, until `close()`; a
        listening connection that goes (the database restarted) is opened again."""
        self._on_signal = on_signal
        await self._open()

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()

        def received(connection: Any, pid: int, channel: str, payload: str) -> None:
            self._on_signal()

        def terminated(connection: Any) -> None:
            if not self._closing and (self._reopening is None or self._reopening.done()):
                self._reopening = loop.create_task(self._reopen())

        connection = await self._engine.connect()
        try:
            driver = (await connection.get_raw_connection()).driver_connection
            assert driver is not None
            await driver.add_listener(CHANNEL, received)
            driver.add_termination_listener(terminated)
        except Exception:
            await connection.close()
            raise
        self._listening = connection

    async def _reopen(self) -> None:
        log.warning("lost the connection listening for outbox notifications; opening another "
                    "(meanwhile the dispatcher reads the outbox every second)")
        lost, self._listening = self._listening, None
        if lost is not None:
            with contextlib.suppress(Exception):
                await lost.invalidate()
        while not self._closing:
            try:
                await self._open()
            except Exception:
                await asyncio.sleep(REOPEN_SECONDS)
                continue
            log.info("listening to outbox notifications again")
            self._on_signal()  # rows committed while nobody listened
            return

    def announce(self) -> None:
        """Notify the listeners soon; calls while one is being sent make one more, not many."""
        if self._sending is not None and not self._sending.done():
            self._again = True
            return
        self._sending = asyncio.get_running_loop().create_task(self._send())

    async def _send(self) -> None:
        self._again = True
        while self._again:
            self._again = False
            try:
                async with self._engine.connect() as connection:
                    await connection.execute(_NOTIFY)
                    await connection.commit()
            except Exception:
                # The leader still finds the rows at its next poll.
                log.warning("could not notify the outbox's leader", exc_info=True)
                return

    async def close(self) -> None:
        self._closing = True
        if self._reopening is not None:
            self._reopening.cancel()
            await asyncio.gather(self._reopening, return_exceptions=True)
        if self._sending is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._sending, timeout=5)
        connection, self._listening = self._listening, None
        if connection is not None:
            # Not back to the pool with a listener on it.
            await connection.invalidate()
