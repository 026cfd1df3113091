"""Which process runs the sweeps: a PostgreSQL session advisory lock elects one leader.

The lock is held by a dedicated connection for as long as the process lives; the others try again
at every sweep interval (hot standby) and take over within one interval once the leader's
connection is gone. SQLite serves one process: it is always the leader.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Protocol

from sqlalchemy import BigInteger, bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

LOCK_NAME = "dlxh:scheduler-leader"
# The process that sends the outbox (bot/dispatch_lead.py); it need not be the sweeper.
DISPATCH_LEAD = "dlxh:outbox-dispatcher"
_TRY_LOCK = text("SELECT pg_try_advisory_lock(:key)").bindparams(
    bindparam("key", type_=BigInteger())
)
_ALIVE = text("SELECT 1")
# A link that went silent (a partition, a dropped NAT entry) answers nothing and raises nothing:
# without a bound the leader's tick, and the service's stop waiting for it, would hang for good.
ANSWER_WITHIN_S = 10.0


def lock_key(name: str = LOCK_NAME) -> int:
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class Leadership(Protocol):
    async def is_leader(self) -> bool:
        """True if this process may sweep now (taking the lead if it is free)."""
        ...

    async def release(self) -> None: ...


class AlwaysLeader:
    async def is_leader(self) -> bool:
        return True

    async def release(self) -> None:
        return None


class PostgresLeader:
    """`pg_try_advisory_lock` on a connection kept open while this process leads."""

    def __init__(
        self, engine: AsyncEngine, name: str = LOCK_NAME, answer_within_s: float = ANSWER_WITHIN_S
    ) -> None:
        self._engine = engine
        self._key = lock_key(name)
        self._name = name
        self._answer_within_s = answer_within_s
        self._connection: AsyncConnection | None = None

    async def is_leader(self) -> bool:
        if self._connection is not None and await self._still_held(self._connection):
            return True
        return await self._try_acquire()

    async def _still_held(self, connection: AsyncConnection) -> bool:
        try:
            async with asyncio.timeout(self._answer_within_s):
                await connection.execute(_ALIVE)
                await connection.commit()
            return True
        except Exception:  # the connection died (or went silent): so did the lock, for us
            log.warning("lost the connection holding %s; trying to lead again", self._name)
            await self._drop()
            return False

    async def _try_acquire(self) -> bool:
        try:
            async with asyncio.timeout(self._answer_within_s):
                connection = await self._engine.connect()
        except Exception:
            log.warning("cannot reach the database to take %s", self._name, exc_info=True)
            return False
        try:
            async with asyncio.timeout(self._answer_within_s):
                won = bool((await connection.execute(_TRY_LOCK, {"key": self._key})).scalar())
                await connection.commit()  # a session lock outlives the transaction
        except Exception:
            await _invalidated(connection)
            raise
        if not won:
            await connection.close()
            return False
        log.info("this process holds %s", self._name)
        self._connection = connection
        return True

    async def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await _invalidated(connection)

    async def release(self) -> None:
        """Closing the session releases its advisory lock (a standby takes over)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.invalidate()  # not back to the pool with the lock held


async def _invalidated(connection: AsyncConnection) -> None:
    """Never back to the pool (it may hold the lock, or be dead); bounded, as the link may be."""
    try:
        async with asyncio.timeout(ANSWER_WITHIN_S):
            await connection.invalidate()
    except Exception:
        log.debug("closing a dead leader connection failed", exc_info=True)


def leadership_for(engine: AsyncEngine, name: str = LOCK_NAME) -> Leadership:
    if engine.dialect.name == "postgresql":
        return PostgresLeader(engine, name)
    return AlwaysLeader()
