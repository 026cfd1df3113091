"""The SQL unit of work: one connection and one transaction, repositories bound to it."""

from __future__ import annotations

import asyncio
import hashlib
from types import TracebackType
from typing import TYPE_CHECKING, Self

from sqlalchemy import BigInteger, Engine, bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.ports import (
    BroadcastRepository,
    DraftRepository,
    EscalationRepository,
    InvitationRepository,
    JobRuns,
    LinkCodeRepository,
    OutboxRepository,
    PeopleRepository,
    ProcessedUpdates,
    ReportRepository,
    SubscriptionRepository,
    UnitOfWork,
)
from storage.inline_sqlite import InlineConnection, OpenConnection
from storage.repositories import (
    SqlBroadcasts,
    SqlDrafts,
    SqlEscalations,
    SqlInvitations,
    SqlJobRuns,
    SqlLinkCodes,
    SqlOutbox,
    SqlPeople,
    SqlProcessedUpdates,
    SqlReports,
    SqlSubscriptions,
)

_ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(:key)").bindparams(
    bindparam("key", type_=BigInteger())
)


def advisory_key(chat_key: str) -> int:
    """A stable signed 64-bit number for a chat key (Python's `hash()` changes per process)."""
    digest = hashlib.blake2b(chat_key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class SqlUnitOfWork:
    """`async with uow:` opens a connection; `commit()` commits; leaving otherwise rolls back.

    On SQLite the database's write lock is held from entering to leaving, so units of work of
    one process run one after another (SQLite has one writer), each on a synchronous connection
    of `inline` (storage/inline_sqlite.py). Do not nest them on SQLite.
    """

    def __init__(
        self, engine: AsyncEngine, write_lock: asyncio.Lock | None, *, is_postgres: bool,
        inline: Engine | None = None, patience_s: float = 30.0,
    ) -> None:
        self._engine = engine
        self._inline = inline
        self._patience_s = patience_s
        self._write_lock = write_lock
        self.is_postgres = is_postgres
        self._connection: OpenConnection | None = None
        # Annotated with the port types: the ports declare plain (invariant) attributes.
        self.people: PeopleRepository = SqlPeople(self)
        self.invitations: InvitationRepository = SqlInvitations(self)
        self.reports: ReportRepository = SqlReports(self)
        self.drafts: DraftRepository = SqlDrafts(self)
        self.updates: ProcessedUpdates = SqlProcessedUpdates(self)
        self.outbox: OutboxRepository = SqlOutbox(self)
        self.link_codes: LinkCodeRepository = SqlLinkCodes(self)
        self.job_runs: JobRuns = SqlJobRuns(self)
        self.escalations: EscalationRepository = SqlEscalations(self)
        self.subscriptions: SubscriptionRepository = SqlSubscriptions(self)
        self.broadcasts: BroadcastRepository = SqlBroadcasts(self)

    @property
    def connection(self) -> OpenConnection:
        if self._connection is None:
            raise RuntimeError("the unit of work is not open: use it as `async with uow:`")
        return self._connection

    async def __aenter__(self) -> Self:
        if self._connection is not None:
            raise RuntimeError("this unit of work is already open")
        if self._write_lock is not None:
            await self._write_lock.acquire()
        try:
            if self._inline is not None:
                self._connection = InlineConnection(self._inline.connect(), self._patience_s)
            else:
                self._connection = await self._engine.connect()
        except BaseException:
            self._release()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        connection, self._connection = self._connection, None
        try:
            if connection is not None:
                await connection.close()  # rolls back whatever was not committed
        finally:
            self._release()

    def _release(self) -> None:
        if self._write_lock is not None:
            self._write_lock.release()

    async def lock_chat(self, chat_key: str) -> None:
        """Hold an advisory lock on the chat until the transaction ends (no-op on SQLite)."""
        if self.is_postgres:
            await self.connection.execute(_ADVISORY_LOCK, {"key": advisory_key(chat_key)})

    async def commit(self) -> None:
        await self.connection.commit()

    async def rollback(self) -> None:
        await self.connection.rollback()


if TYPE_CHECKING:  # mypy proves that the class fulfils the port

    def _fulfils_port(uow: SqlUnitOfWork) -> UnitOfWork:
        return uow
