"""Runs the real service (`bot.serve.serve`) against the fake Telegram and Zalo servers."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.org_loader import load_org_config
from bot.serve import serve
from bot.settings import Settings
from domain.clock import Clock, SystemClock
from domain.messages import OutboxItem
from domain.people import Role
from handlers.admin import create_invitations
from storage.database import Database
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.zalo_api import FakeZalo

WEBHOOK_SECRET = "hook-secret_123"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def service_settings(
    database_url: str, tmp_path: Path, tg: FakeTelegram, mode: str = "polling"
) -> Settings:
    return Settings(
        _env_file=None,
        database_url=database_url,
        media_dir=tmp_path / "media",
        telegram_bot_token=tg.token,
        telegram_api_base=tg.base_url,
        telegram_mode=mode,
        telegram_webhook_secret=WEBHOOK_SECRET if mode == "webhook" else None,
        http_port=free_port(),
    )


@asynccontextmanager
async def running(
    settings: Settings, tg: FakeTelegram, clock: Clock | None = None
) -> AsyncIterator[str]:
    """The service running until the block ends; yields its base URL."""
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, stop, clock or SystemClock()))
    base = f"http://{settings.http_host}:{settings.http_port}"
    await _wait_healthy(base, task)
    if settings.telegram_mode == "webhook":
        tg.deliver_to(base + "/webhooks/telegram", WEBHOOK_SECRET)
    try:
        yield base
    finally:
        stop.set()
        done, _ = await asyncio.wait({task}, timeout=15)
        if not done:
            for other in asyncio.all_tasks():
                other.print_stack(limit=8)
            task.cancel()
            raise TimeoutError("serve() did not stop within 15 s")
        task.result()
        tg.deliver_to(None)


async def _wait_healthy(base: str, task: asyncio.Task[None]) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            if task.done():
                task.result()  # raises what made serve() stop
            try:
                async with session.get(base + "/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise TimeoutError("service did not become healthy")


async def invitation(
    database_url: str, role: Role = Role.COLLABORATOR, unit: str | None = "bo-de"
) -> str:
    database = Database.connect(database_url)
    try:
        async with database.unit_of_work() as uow:
            [invite] = await create_invitations(
                uow, load_org_config(), role, unit, 1, SystemClock().now()
            )
            await uow.commit()
        return invite.code
    finally:
        await database.dispose()


async def stored_reports(database_url: str) -> list[dict[str, object]]:
    from handlers.admin import report_row

    database = Database.connect(database_url)
    try:
        async with database.unit_of_work() as uow:
            return [report_row(r) for r in await uow.reports.all()]
    finally:
        await database.dispose()


# ---- Zalo -------------------------------------------------------------------------------------

ZALO_WEBHOOK_SECRET = "zalo-hook-secret_123"


def zalo_settings(
    database_url: str,
    tmp_path: Path,
    zalo: FakeZalo,
    mode: str = "polling",
    *,
    public_url: bool = True,
) -> Settings:
    """Only the Zalo channel, pointed at the fake; PUBLIC_URL is the service itself."""
    port = free_port()
    return Settings(
        _env_file=None,
        database_url=database_url,
        media_dir=tmp_path / "media",
        zalo_bot_token=zalo.token,
        zalo_api_base=zalo.base_url,
        zalo_mode=mode,
        zalo_webhook_secret=ZALO_WEBHOOK_SECRET if mode == "webhook" else None,
        zalo_per_chat_rate=20.0,
        public_url=f"http://127.0.0.1:{port}" if public_url else None,
        http_port=port,
    )


@asynccontextmanager
async def running_zalo(
    settings: Settings, zalo: FakeZalo, clock: Clock | None = None
) -> AsyncIterator[str]:
    """The service running with the Zalo channel until the block ends; yields its base URL.

    In webhook mode the block starts once the service registered its webhook with the fake.
    """
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, stop, clock or SystemClock()))
    base = f"http://{settings.http_host}:{settings.http_port}"
    await _wait_healthy(base, task)
    if settings.zalo_mode == "webhook":
        await zalo.wait_for(lambda: zalo.webhook_url is not None, what="setWebhook")
    else:
        await zalo.wait_for(lambda: bool(zalo.calls("getUpdates")), what="getUpdates")
    try:
        yield base
    finally:
        stop.set()
        done, _ = await asyncio.wait({task}, timeout=15)
        if not done:
            task.cancel()
            raise TimeoutError("serve() did not stop within 15 s")
        task.result()


async def outbox_items(database_url: str) -> list[OutboxItem]:
    database = Database.connect(database_url)
    try:
        async with database.unit_of_work() as uow:
            return await uow.outbox.all()
    finally:
        await database.dispose()


async def has_identity(database_url: str, channel: str, external_id: str) -> bool:
    database = Database.connect(database_url)
    try:
        async with database.unit_of_work() as uow:
            return await uow.people.by_identity(channel, external_id) is not None
    finally:
        await database.dispose()
