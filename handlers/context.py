"""What a handler gets for one incoming event: the person, storage, the org, time, texts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from domain.calendar import WorkingCalendar, answer_deadline
from domain.clock import Clock
from domain.messages import Choice, Priority, Reply
from domain.org import OrgConfig
from domain.people import ChannelIdentity, Person
from domain.ports import UnitOfWork
from domain.reports import Urgency
from handlers.i18n import Catalog
from handlers.types import Incoming


@dataclass(frozen=True)
class ConversationSettings:
    max_photos: int = 5
    max_text_chars: int = 2000
    max_address_chars: int = 500
    # A draft untouched this long is offered back ("continue or discard?") before going on.
    resume_after: timedelta = timedelta(minutes=30)


@dataclass
class Services:
    """Everything a conversation needs that lives longer than one event."""

    org: OrgConfig
    calendar: WorkingCalendar
    clock: Clock
    catalog: Catalog
    settings: ConversationSettings = field(default_factory=ConversationSettings)
    # (channel, chat id) of a group where board officers also get new-report cards.
    board_chat: tuple[str, str] | None = None
    # The channels this deployment delivers on; broadcasts reach people only there (a copy on
    # a channel nobody sends would keep its broadcast open forever). None: every channel.
    channels: frozenset[str] | None = None


@dataclass(frozen=True)
class Outgoing:
    """A message to someone else than the person who wrote (a notification)."""

    channel: str
    chat_id: str
    reply: Reply
    priority: int


@dataclass
class Context:
    incoming: Incoming
    person: Person
    uow: UnitOfWork
    services: Services
    now: datetime
    replies: list[Reply] = field(default_factory=list)
    outgoing: list[Outgoing] = field(default_factory=list)
    # Where each notified person is reached, looked up once per transaction (a sweep notifies
    # the same officers about many cases).
    _reach: dict[int, list[ChannelIdentity]] = field(default_factory=dict, repr=False)

    @property
    def org(self) -> OrgConfig:
        return self.services.org

    @property
    def settings(self) -> ConversationSettings:
        return self.services.settings

    def t(self, key: str, **values: object) -> str:
        return self.services.catalog.t(key, **values)

    def say(
        self, text: str, choices: tuple[Choice, ...] = (), request_location: bool = False,
        hide_keyboard: bool = False,
    ) -> None:
        self.replies.append(Reply(text=text, choices=choices, request_location=request_location,
                                  hide_keyboard=hide_keyboard))

    async def notify(self, person_id: int, reply: Reply) -> None:
        """Send to the chats through which a person wants to hear from us (all, by default)."""
        for identity in await self._chats_of(person_id):
            self.send_to(identity.channel, identity.chat_id, reply)

    async def _chats_of(self, person_id: int) -> list[ChannelIdentity]:
        found = self._reach.get(person_id)
        if found is None:
            found = self._reach[person_id] = await notified_chats(self.uow, person_id)
        return found

    def send_to(
        self, channel: str, chat_id: str, reply: Reply, priority: int = Priority.NOTIFICATION
    ) -> None:
        if (channel, chat_id) == (self.incoming.channel, self.incoming.chat_id):
            self.replies.append(reply)  # the person acting sees it in order with the answer
            return
        self.outgoing.append(Outgoing(channel, chat_id, reply, priority))

    def local_time(self, moment: datetime) -> str:
        """'15:30 28/11/2026' in the organisation's time zone."""
        return _local_time(moment, self.org.working_time.timezone)

    def unit_label(self, code: str | None) -> str:
        unit = self.org.unit(code) if code else None
        return unit.label if unit else (code or "—")

    def category_label(self, code: str) -> str:
        category = self.org.category(code)
        return category.name if category else code

    def fresh_answer_deadline(self, category_code: str, urgency: Urgency) -> datetime:
        """When a case of this category and urgency handed to someone now must be answered."""
        category = self.org.category(category_code)
        return answer_deadline(self.now, urgency, bool(category and category.complex),
                               self.org.deadlines, self.services.calendar)


async def notified_chats(uow: UnitOfWork, person_id: int) -> list[ChannelIdentity]:
    """Where a person hears from us: the channel they chose with /thongbao, else every one."""
    person = await uow.people.get(person_id)
    identities = await uow.people.identities(person_id)
    preferred = [i for i in identities if person and i.channel == person.notify_channel]
    return preferred or identities


@lru_cache(maxsize=4096)
def _local_time(moment: datetime, timezone: str) -> str:
    # A sweep shows each case's deadline in its heading and again in its card.
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{local.hour:02d}:{local.minute:02d} {local.day:02d}/{local.month:02d}/{local.year}"
