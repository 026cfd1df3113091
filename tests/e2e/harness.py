"""Runs the real service (`bot.serve.serve`) against the fake Telegram server."""

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
from domain.people import Role
from handlers.admin import create_invitations
from storage.database import Database
from tests.fakes.telegram_api import FakeTelegram

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
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        media_dir=tmp_path / "media",
        telegram_bot_token=tg.token,  # type: ignore[arg-type]
        telegram_api_base=tg.base_url,
        telegram_mode=mode,  # type: ignore[arg-type]
        telegram_webhook_secret=WEBHOOK_SECRET if mode == "webhook" else None,  # type: ignore[arg-type]
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
