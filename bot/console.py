"""`dlxh chat --user NAME`: the very same conversation in a terminal, choices shown numbered.

Besides typing, `/anh PATH` sends a photo file and `/vitri LAT LON` a location, so every step
can be tried without a phone. `/thoat` (or Ctrl-D) leaves.
"""

from __future__ import annotations

import asyncio
import mimetypes
import uuid
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from bot.app import build_app
from bot.prestart import prestart
from bot.settings import Settings
from domain.clock import Clock
from domain.messages import Reply
from domain.ports import MediaStore
from domain.reports import Location, MediaKind
from handlers.i18n import Catalog
from handlers.render import numbered_text
from handlers.types import Incoming, Kind

CHANNEL = "console"


class ConsoleSender:
    def __init__(self, out: TextIO, catalog: Catalog) -> None:
        self._out = out
        self._catalog = catalog

    async def send(self, chat_id: str, reply: Reply) -> None:
        for sha in reply.photos:
            self._out.write(f"[ảnh {sha[:12]}]\n")
        self._out.write(numbered_text(reply, self._catalog) + "\n\n")
        self._out.flush()


def console_incoming(line: str, user: str, media: MediaStore) -> Incoming | None:
    text = line.strip()
    base = Incoming(CHANNEL, uuid.uuid4().hex, user, user, user, Kind.TEXT, text=text)
    if not text:
        return None
    command, _, rest = text.partition(" ")
    if command == "/anh" and rest:
        path = Path(rest.strip()).expanduser()
        mime = mimetypes.guess_type(path.name)[0] or "image/jpeg"
        stored = media.put(path.read_bytes(), MediaKind.PHOTO, mime)
        return replace(base, kind=Kind.PHOTO, text="", media=stored)
    if command == "/vitri" and rest:
        latitude, longitude = (float(v) for v in rest.replace(",", " ").split())
        where = Location(latitude, longitude)
        return replace(base, kind=Kind.LOCATION, text="", location=where)
    return base


async def chat(
    settings: Settings, user: str, stdin: TextIO, out: TextIO, clock: Clock | None = None
) -> None:
    await prestart(settings)
    # The terminal is its only channel: with the bots' tokens it would become a second
    # dispatcher beside `dlxh serve`, sending the service's Telegram and Zalo messages.
    local = settings.model_copy(update={"telegram_bot_token": None, "zalo_bot_token": None})
    catalog = Catalog(settings.language)
    app = build_app(local, clock, extra_senders={CHANNEL: ConsoleSender(out, catalog)})
    try:
        out.write(catalog.t("console.welcome", user=user) + "\n\n")
        while True:
            line = await asyncio.to_thread(stdin.readline)
            if not line or line.strip() in ("/thoat", "/exit", "/quit"):
                break
            try:
                incoming = console_incoming(line, user, app.media)
            except (OSError, ValueError) as error:
                out.write(catalog.t("console.bad_input", error=error) + "\n")
                continue
            if incoming is None:
                continue
            await app.conversation.handle(incoming)
            while await app.dispatcher.run_once():
                pass
    finally:
        await app.close()
