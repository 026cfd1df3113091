"""`dlxh serve`: migrations first, then channels, HTTP server and outbox dispatcher together."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal

from aiogram.exceptions import TelegramAPIError
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from bot.app import App, build_app
from bot.http import WEBHOOK_PATH_TELEGRAM, WEBHOOK_PATH_ZALO, build_web_app, channel_states
from bot.poll_backoff import PollBackoff
from bot.prestart import prestart
from bot.settings import Settings
from bot.telegram.polling import ALLOWED_UPDATES, poll
from bot.zalo.client import ZaloClient, ZaloError, ZaloPermanent
from bot.zalo.polling import ZaloPoller
from domain.clock import Clock

log = logging.getLogger(__name__)


class PathOnlyAccessLogger(AbstractAccessLogger):
    """Access lines without query strings: a signed media link must not end up in a log."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            '%s "%s %s" %s %.1fms', request.remote, request.method, request.path,
            response.status, time * 1000,
        )


async def serve(
    settings: Settings, stop: asyncio.Event | None = None, clock: Clock | None = None
) -> None:
    await prestart(settings)
    app = build_app(settings, clock, background_checkpoints=True)
    stop = stop or _stop_on_signals()
    runner = web.AppRunner(build_web_app(app), access_log_class=PathOnlyAccessLogger)
    await runner.setup()
    site = web.TCPSite(runner, settings.http_host, settings.http_port)
    await site.start()
    tasks = [asyncio.create_task(app.dispatcher.run(), name="outbox-dispatcher")]
    if app.database.checkpointer is not None:
        tasks.append(asyncio.create_task(app.database.checkpointer.run(), name="wal-checkpoint"))
    if app.scheduler is not None:
        app.scheduler.start()
    failed: list[BaseException] = []
    try:
        if app.outbox_signal is not None:
            await app.outbox_signal.listen(app.dispatcher.rows_committed_elsewhere)
        tasks += await _start_telegram(app)
        tasks += _start_zalo(app)
        for task in tasks:
            task.add_done_callback(lambda t: _watch(t, stop, failed))
        _announce(app)
        keep_start_up_out_of_collections()
        await stop.wait()
    finally:
        if app.scheduler is not None:
            await app.scheduler.stop()  # no sweep writes while the rest stops
        app.dispatcher.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await runner.cleanup()
        await app.close()
    if failed:
        raise RuntimeError("a part of the service stopped unexpectedly") from failed[0]


def keep_start_up_out_of_collections() -> None:
    """What start-up built (modules, aiogram's and pydantic's models, SQLAlchemy's tables, the
    org configuration, holiday tables) lives as long as the process; frozen, the collector's full
    passes stop walking it again and again (`bench.ingest`: 0.8 s of a 3.5 s load went to six
    such passes, each a pause of every chat)."""
    gc.collect()
    gc.freeze()


def _watch(task: asyncio.Task[None], stop: asyncio.Event, failed: list[BaseException]) -> None:
    """A part of the service crashed: stop the whole service, loudly, so that the process
    supervisor restarts it instead of it running on half-dead. (One-shot tasks, like
    registering a webhook, may simply finish.)"""
    if task.cancelled() or stop.is_set() or task.exception() is None:
        return
    error = task.exception()
    assert error is not None
    log.error("%s stopped unexpectedly; stopping the service", task.get_name(), exc_info=error)
    failed.append(error)
    stop.set()


async def _start_telegram(app: App) -> list[asyncio.Task[None]]:
    telegram = app.telegram
    if telegram is None:
        return []
    if app.settings.telegram_mode == "polling":
        return [asyncio.create_task(poll(telegram.dispatcher, telegram.bot), name="telegram-poll")]
    if app.settings.public_url:
        secret = app.settings.telegram_webhook_secret
        assert secret is not None
        try:
            await telegram.bot.set_webhook(
                url=app.settings.public_url.rstrip("/") + WEBHOOK_PATH_TELEGRAM,
                secret_token=secret.get_secret_value(),
                allowed_updates=ALLOWED_UPDATES,
            )
        except TelegramAPIError as error:
            # The HTTP server runs anyway: a webhook set before (or by hand) still delivers.
            log.error("setWebhook failed (%s); serving the webhook path anyway", error.message)
    else:
        log.warning("TELEGRAM_MODE=webhook without PUBLIC_URL: the webhook must be set elsewhere")
    return []


_OFF_HINTS = {"telegram": "set TELEGRAM_BOT_TOKEN", "zalo": "set ZALO_BOT_TOKEN"}


def _announce(app: App) -> None:
    states = channel_states(app)
    for channel, state in states.items():
        if state == "off":
            log.info("channel %s is off (%s)", channel, _OFF_HINTS.get(channel, "not available"))
        else:
            log.info("channel %s is on (%s)", channel, state)
    if app.zalo is not None and app.zalo.links is None:
        log.warning("PUBLIC_URL is not set: photos cannot be sent to Zalo (texts are)")
    log.info(
        "serving on http://%s:%s (GET /healthz)", app.settings.http_host, app.settings.http_port
    )


def _start_zalo(app: App) -> list[asyncio.Task[None]]:
    zalo = app.zalo
    if zalo is None:
        return []
    if app.settings.zalo_mode == "polling":
        poller = ZaloPoller(zalo.client, zalo.translator, app.conversation)
        return [asyncio.create_task(poller.run(), name="zalo-poll")]
    if not app.settings.public_url:
        log.warning("ZALO_MODE=webhook without PUBLIC_URL: the webhook must be set elsewhere")
        return []
    secret = app.settings.zalo_webhook_secret
    assert secret is not None  # Settings refuses webhook mode without one
    url = app.settings.public_url.rstrip("/") + WEBHOOK_PATH_ZALO
    task = _set_zalo_webhook(zalo.client, url, secret.get_secret_value())
    return [asyncio.create_task(task, name="zalo-set-webhook")]


async def _set_zalo_webhook(client: ZaloClient, url: str, secret: str) -> None:
    """Register the webhook, retrying while Zalo is unreachable (Telegram keeps running)."""
    backoff = PollBackoff()
    while True:
        try:
            await client.set_webhook(url, secret)
            log.info("Zalo webhook set to %s", url)
            return
        except ZaloPermanent as error:
            log.error("Zalo refused the webhook %s: %s", url, error)
            return
        except ZaloError as error:
            pause = backoff.failed()
            log.warning("setWebhook failed (%s); retrying in %.0fs", error, pause)
            await asyncio.sleep(pause)


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop
