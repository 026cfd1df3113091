"""The composition root: every object of the running service is built and wired here, on demand.

Nothing is built at import time; `build_app` is called by the CLI (and by tests with their own
settings, clock and database).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from aiogram import Bot, Dispatcher
from aiogram.client.telegram import TelegramAPIServer

from bot.dispatcher import OutboxDispatcher
from bot.org_loader import load_org_config
from bot.pacing import ChannelPacer
from bot.settings import Settings
from bot.telegram.responses import answer_models
from bot.telegram.router import build_router
from bot.telegram.send_text import BotSession
from bot.telegram.sender import TelegramSender
from bot.telegram.translate import Translator
from bot.zalo.client import ZaloClient
from bot.zalo.media_links import MediaLinks, derive_key
from bot.zalo.sender import ZaloSender
from bot.zalo.translate import ZaloTranslator
from domain.calendar import WorkingCalendar
from domain.clock import Clock, SystemClock
from domain.delivery import Sender
from domain.org import OrgConfig
from handlers.context import Services
from handlers.i18n import Catalog
from handlers.service import ConversationService
from handlers.sweeps import Sweeper, SweepSettings
from scheduler import SweepScheduler, leadership_for
from scheduler.leader import DISPATCH_LEAD
from scheduler.monthly import MonthlyReview
from storage.database import Database
from storage.media import FileMediaStore
from storage.outbox_signal import OutboxSignal

log = logging.getLogger(__name__)


@dataclass
class TelegramChannel:
    bot: Bot
    dispatcher: Dispatcher
    sender: TelegramSender
    answer_models: tuple[type[Any], ...]  # held: see bot/telegram/responses.py


@dataclass
class ZaloChannel:
    client: ZaloClient
    translator: ZaloTranslator
    sender: ZaloSender
    http: httpx.AsyncClient
    links: MediaLinks | None  # None without PUBLIC_URL: no photos to Zalo then


@dataclass
class App:
    settings: Settings
    org: OrgConfig
    database: Database
    media: FileMediaStore
    services: Services
    conversation: ConversationService
    dispatcher: OutboxDispatcher
    telegram: TelegramChannel | None = None
    senders: dict[str, Sender] = field(default_factory=dict)
    zalo: ZaloChannel | None = None
    sweeper: Sweeper | None = None
    scheduler: SweepScheduler | None = None
    # PostgreSQL: processes not leading the outbox tell the leader of their rows.
    outbox_signal: OutboxSignal | None = None

    async def close(self) -> None:
        if self.scheduler is not None:
            await self.scheduler.stop()
        self.dispatcher.stop()
        if self.outbox_signal is not None:
            await self.outbox_signal.close()
        if self.telegram is not None:
            await self.telegram.bot.session.close()
        if self.zalo is not None:
            await self.zalo.client.aclose()
            await self.zalo.http.aclose()
        await self.database.dispose()


def telegram_bot(settings: Settings) -> Bot:
    assert settings.telegram_bot_token is not None
    server = TelegramAPIServer.from_base(settings.telegram_api_base.rstrip("/"))
    return Bot(settings.telegram_bot_token.get_secret_value(), session=BotSession(api=server))


def build_app(
    settings: Settings,
    clock: Clock | None = None,
    extra_senders: Mapping[str, Sender] | None = None,
    background_checkpoints: bool = False,
) -> App:
    """Everything wired; `background_checkpoints`: the caller runs `database.checkpointer`
    (`dlxh serve` does; storage/checkpoints.py)."""
    clock = clock or SystemClock()
    org = load_org_config(settings.org_config)
    database = Database.connect(
        settings.database_url, background_checkpoints=background_checkpoints
    )
    media = FileMediaStore(settings.media_dir, settings.media_max_bytes)
    catalog = Catalog(settings.language)
    board_chat = ("telegram", settings.board_chat_id) if settings.board_chat_id else None
    services = Services(
        org, WorkingCalendar(org.working_time), clock, catalog, board_chat=board_chat
    )
    senders: dict[str, Sender] = dict(extra_senders or {})
    pacers: dict[str, ChannelPacer] = {}
    dispatcher_box: list[OutboxDispatcher] = []
    conversation = ConversationService(
        database.unit_of_work, services, on_commit=lambda items: dispatcher_box[0].offer(items)
    )
    telegram = None
    if settings.telegram_bot_token is not None:
        telegram = _telegram_channel(settings, media, catalog, conversation)
        senders["telegram"] = telegram.sender
        pacers["telegram"] = ChannelPacer(
            settings.telegram_rate,
            settings.telegram_per_chat_rate,
            settings.telegram_per_chat_burst,
        )
    zalo = None
    if settings.zalo_bot_token is not None:
        zalo = zalo_channel(settings, media, catalog)
        senders["zalo"] = zalo.sender
        pacers["zalo"] = ChannelPacer(
            settings.zalo_rate, settings.zalo_per_chat_rate, settings.zalo_per_chat_burst
        )
    services.channels = frozenset(senders)
    signal = OutboxSignal(database.engine) if database.is_postgres else None
    dispatcher = OutboxDispatcher(
        database.unit_of_work, senders, clock, pacers,
        lead=leadership_for(database.engine, DISPATCH_LEAD),
        announce=signal.announce if signal is not None else None,
    )
    dispatcher_box.append(dispatcher)
    sweeper = Sweeper(
        database.unit_of_work, services, sweep_settings(settings, database.is_postgres),
        dispatcher.offer,
        wake=dispatcher.wake,
    )
    monthly = MonthlyReview(database, services, media, dispatcher.offer)
    scheduler = SweepScheduler(
        sweeper, leadership_for(database.engine), settings.sweep_seconds, monthly
    )
    return App(
        settings,
        org,
        database,
        media,
        services,
        conversation,
        dispatcher,
        telegram,
        senders,
        zalo,
        sweeper,
        scheduler,
        signal,
    )


def sweep_settings(settings: Settings, is_postgres: bool) -> SweepSettings:
    return SweepSettings(
        reminder_lookahead=timedelta(days=settings.reminder_lookahead_days),
        draft_remind_after=timedelta(hours=settings.draft_remind_hours),
        draft_discard_after=timedelta(days=settings.draft_discard_days),
        # PostgreSQL's server writes one batch while the next is rendered (docs/escalation.md).
        writers=2 if is_postgres else 1,
    )


def _telegram_channel(
    settings: Settings, media: FileMediaStore, catalog: Catalog, conversation: ConversationService
) -> TelegramChannel:
    bot = telegram_bot(settings)
    translator = Translator(bot, media, settings.media_max_bytes)
    # The conversation's state is our drafts table: aiogram's FSM middleware (run on every
    # update, ~3 % of a step's CPU in bench.ingest) would only look up state nobody keeps.
    dispatcher = Dispatcher(disable_fsm=True)
    dispatcher.include_router(build_router(translator, conversation))
    sender = TelegramSender(bot, media, catalog.t("intake.place.share_location"))
    return TelegramChannel(bot, dispatcher, sender, answer_models())


def media_links(settings: Settings) -> MediaLinks | None:
    """Signed links to stored media under PUBLIC_URL; None when the service has no public URL."""
    if not settings.public_url:
        return None
    key = settings.media_link_key
    token = settings.zalo_bot_token
    return MediaLinks(
        settings.public_url,
        derive_key(
            key.get_secret_value() if key else None, token.get_secret_value() if token else None
        ),
        settings.media_link_ttl_seconds,
    )


def zalo_channel(settings: Settings, media: FileMediaStore, catalog: Catalog) -> ZaloChannel:
    assert settings.zalo_bot_token is not None
    http = httpx.AsyncClient(timeout=httpx.Timeout(15.0, connect=10.0))
    client = ZaloClient(settings.zalo_bot_token.get_secret_value(), settings.zalo_api_base, http)
    translator = ZaloTranslator(media, settings.media_max_bytes, http)
    links = media_links(settings)
    sender = ZaloSender(client, media, catalog, links)
    return ZaloChannel(client, translator, sender, http, links)
