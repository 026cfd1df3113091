"""The scheduler leader's database link goes silent (a partition: no reset, no answer)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from scheduler.leader import PostgresLeader
from tests.db_fixtures import postgres_server_url, skip_if_postgres_disabled

pytestmark = pytest.mark.postgres


class SilenceableLink:
    """A TCP relay to the PostgreSQL server that can stop passing bytes, closing nothing."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.silent = False
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        for source, sink in ((reader, upstream_writer), (upstream_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink))
            self._tasks.add(task)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        while data := await source.read(65536):
            while self.silent:
                await asyncio.sleep(0.02)
            sink.write(data)
            await sink.drain()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._server.close()


@pytest.fixture
async def link() -> AsyncIterator[tuple[SilenceableLink, str]]:
    skip_if_postgres_disabled()
    server = make_url(postgres_server_url())
    relay = SilenceableLink(server.host or "127.0.0.1", server.port or 5432)
    port = await relay.start()
    yield relay, server.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    relay.silent = False
    await relay.close()


async def test_a_leader_whose_link_went_silent_stops_leading_within_its_bound(
    link: tuple[SilenceableLink, str],
) -> None:
    relay, url = link
    engine = create_async_engine(url)
    leader = PostgresLeader(engine, "test:silent-link", answer_within_s=0.3)
    try:
        assert await leader.is_leader()
        relay.silent = True
        async with asyncio.timeout(5):  # without the bound: waits for good
            assert not await leader.is_leader()
    finally:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2):
                await engine.dispose()
