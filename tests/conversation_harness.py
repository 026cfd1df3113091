"""Plays people against the conversation core, with no channel in between."""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime

from domain.calendar import WorkingCalendar
from domain.clock import FixedClock
from domain.messages import Reply
from domain.org import Category, OrgConfig, Unit, UnitKind
from domain.people import Role
from domain.ports import UnitOfWorkFactory
from domain.reports import Location, MediaKind, StoredMedia
from handlers.admin import create_invitations
from handlers.context import Services
from handlers.i18n import Catalog
from handlers.service import ConversationService
from handlers.types import Incoming, Kind
from tests.fakes.memory_uow import MemoryStore

# Monday 30 Nov 2026, 09:00 in Hà Nội.
MONDAY_9AM = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


def small_org() -> OrgConfig:
    return OrgConfig(
        name="Thử nghiệm",
        units=(
            Unit("quan", "Quận Thử", UnitKind.DISTRICT),
            Unit("btg", "Ban Tuyên giáo", UnitKind.BOARD, "quan"),
            Unit("bo-de", "UBND phường Bồ Đề", UnitKind.WARD, "quan", "Phường Bồ Đề"),
            Unit("gia-thuy", "UBND phường Gia Thụy", UnitKind.WARD, "quan", "Phường Gia Thụy"),
            Unit("viet-hung", "UBND phường Việt Hưng", UnitKind.WARD, "quan", "Phường Việt Hưng"),
        ),
        categories=(
            Category("trat-tu-xay-dung", "Trật tự xây dựng"),
            Category("trat-tu-do-thi", "Trật tự đô thị"),
            Category("khac", "Khác"),
        ),
    )


def services(clock: FixedClock, org: OrgConfig | None = None) -> Services:
    org = org or small_org()
    return Services(org, WorkingCalendar(org.working_time), clock, Catalog("vi"))


_update_ids = itertools.count(1)


@dataclass
class Person:
    """One person in one chat; every action returns the replies the bot committed for it."""

    service: ConversationService
    store: MemoryStore
    user_id: str
    name: str
    channel: str = "console"
    seen: int = 0
    last: list[Reply] = field(default_factory=list)

    def _incoming(self, kind: Kind, **fields: object) -> Incoming:
        return Incoming(
            channel=self.channel, update_key=str(next(_update_ids)), chat_id=self.user_id,
            user_id=self.user_id, display_name=self.name, kind=kind, **fields,  # type: ignore[arg-type]
        )

    async def deliver(self, incoming: Incoming) -> list[Reply]:
        await self.service.handle(incoming)
        return self._new_replies()

    async def say(self, text: str) -> list[Reply]:
        return await self.deliver(self._incoming(Kind.TEXT, text=text))

    async def press(self, label: str) -> list[Reply]:
        self._new_replies()  # notifications that reached this chat since its last action
        for reply in reversed(self.last):
            for choice in reply.choices:
                if choice.label == label or label in choice.label:
                    return await self.press_payload(choice.payload)
        raise AssertionError(f"no button {label!r} in {[r.text for r in self.last]}")

    async def press_payload(self, payload: str) -> list[Reply]:
        return await self.deliver(self._incoming(Kind.CHOICE, payload=payload))

    async def photo(self, content: bytes = b"jpeg", album: str | None = None) -> list[Reply]:
        media = StoredMedia(hashlib.sha256(content).hexdigest(), MediaKind.PHOTO, "image/jpeg", 4)
        return await self.deliver(self._incoming(Kind.PHOTO, media=media, album_id=album))

    async def voice(self) -> list[Reply]:
        media = StoredMedia(hashlib.sha256(b"ogg").hexdigest(), MediaKind.VOICE, "audio/ogg", 3)
        return await self.deliver(self._incoming(Kind.VOICE, media=media))

    async def location(self, latitude: float, longitude: float) -> list[Reply]:
        where = Location(latitude, longitude)
        return await self.deliver(self._incoming(Kind.LOCATION, location=where))

    async def sticker(self) -> list[Reply]:
        return await self.deliver(self._incoming(Kind.UNSUPPORTED))

    def _new_replies(self) -> list[Reply]:
        items = [
            i for i in sorted(self.store.state.outbox.values(), key=lambda i: i.id)
            if i.chat_id == self.user_id and i.channel == self.channel
        ]
        fresh = [i.reply for i in items[self.seen:]]
        self.seen = len(items)
        self.last = fresh or self.last
        return fresh


async def file_report(reporter: Person, photo: bytes | None = None) -> None:
    """A construction-order report in the reporter's own ward, normal urgency, sent
    (PA-2026-000001 if it is the first); with `photo`, that one photo."""
    await reporter.say("/phananh")
    await reporter.press("Trật tự xây dựng")
    await reporter.press("Đúng")
    await reporter.say("Số 5 ngõ 12")
    await reporter.say("Xây lấn vỉa hè")
    if photo is not None:
        await reporter.photo(photo)
    await reporter.press("Xong")
    await reporter.press("Bình thường")
    await reporter.press("Gửi")


def make_service(store: UnitOfWorkFactory, clock: FixedClock) -> ConversationService:
    return ConversationService(store, services(clock))


async def join(store: MemoryStore, clock: FixedClock, name: str, role: Role,
               unit: str | None, channel: str = "console", user_id: str | None = None) -> Person:
    """A person who opened an invitation for `role` in `unit` (a resident just says /start),
    in their own chat `user_id` (default "u-<name>")."""
    person = Person(make_service(store, clock), store, user_id=user_id or f"u-{name}",
                    name=name, channel=channel)
    if role is Role.RESIDENT:
        await person.say("/start")
        return person
    async with store() as uow:
        [invitation] = await create_invitations(uow, small_org(), role, unit, 1, clock.now())
        await uow.commit()
    await person.say(f"/start {invitation.code}")
    return person
