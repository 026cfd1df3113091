"""`dlxh serve`: migrations first, then channels, HTTP server and outbox dispatcher together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from aiohttp import web

from bot.app import App, build_app
from bot.http import WEBHOOK_PATH_TELEGRAM, build_web_app, channel_states
from bot.settings import Settings
from bot.telegram.polling import ALLOWED_UPDATES, poll
from domain.clock import Clock
from storage.migrate import upgrade_to_head

log = logging.getLogger(__name__)


async def prestart(settings: Settings) -> None:
    """Apply migrations before anything serves (the database is the source of truth)."""
    await upgrade_to_head(settings.database_url)


async def serve(
    settings: Settings, stop: asyncio.Event | None = None, clock: Clock | None = None
) -> None:
    await prestart(settings)
    app = build_app(settings, clock)
    stop = stop or _stop_on_signals()
    runner = web.AppRunner(build_web_app(app))
    await runner.setup()
    site = web.TCPSite(runner, settings.http_host, settings.http_port)
    await site.start()
    tasks = [asyncio.create_task(app.dispatcher.run(), name="outbox-dispatcher")]
    try:
        tasks += await _start_telegram(app)
        _announce(app)
        await stop.wait()
    finally:
        app.dispatcher.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await runner.cleanup()
        await app.close()


async def _start_telegram(app: App) -> list[asyncio.Task[None]]:
    telegram = app.telegram
    if telegram is None:
        return []
    if app.settings.telegram_mode == "polling":
        return [asyncio.create_task(poll(telegram.dispatcher, telegram.bot), name="telegram-poll")]
    if app.settings.public_url:
        secret = app.settings.telegram_webhook_secret
        assert secret is not None
        await telegram.bot.set_webhook(
            url=app.settings.public_url.rstrip("/") + WEBHOOK_PATH_TELEGRAM,
            secret_token=secret.get_secret_value(),
            allowed_updates=ALLOWED_UPDATES,
        )
    else:
        log.warning("TELEGRAM_MODE=webhook without PUBLIC_URL: the webhook must be set elsewhere")
    return []


def _announce(app: App) -> None:
    states = channel_states(app)
    for channel, state in states.items():
        if state == "off":
            hint = "set TELEGRAM_BOT_TOKEN" if channel == "telegram" else "not available yet"
            log.info("channel %s is off (%s)", channel, hint)
        else:
            log.info("channel %s is on (%s)", channel, state)
    log.info(
        "serving on http://%s:%s (GET /healthz)", app.settings.http_host, app.settings.http_port
    )


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop
