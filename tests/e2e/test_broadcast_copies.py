"""The longest orientation `/dinhhuong` accepts goes to each recipient as ONE API call through the
real senders (aiogram against the fake Bot API, httpx against the fake Zalo server): a Zalo and a
Telegram collaborator, a Telegram and a Zalo resident, with and without a photo. One character
more is refused, and would indeed have taken two calls."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.telegram.sender import TelegramSender
from bot.zalo.client import ZaloClient
from bot.zalo.sender import ZaloSender
from domain.broadcasts import Audience, AudienceKind, Broadcast, BroadcastStatus, Recipient
from domain.clock import FixedClock
from domain.messages import OutboxItem, Reply
from domain.people import Role
from domain.reports import MediaKind
from handlers.broadcasting import copy_budget, copy_overflow, copy_reply
from handlers.i18n import Catalog
from storage.media import FileMediaStore
from tests.conversation_harness import MONDAY_9AM, Person, join, services
from tests.fakes.memory_uow import MemoryStore
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.zalo_api import FakeZalo
from tests.unit.orientation.test_orientation_limits import vietnamese
from tests.unit.orientation.world import broadcasts, copies

PHOTO = b"\xff\xd8orientation poster"


class _FixedLinks:
    def __init__(self, url: str) -> None:
        self._url = url

    def url(self, sha: str) -> str:
        return self._url


async def _send_all(items: list[tuple[str, str, Reply]], media: FileMediaStore
                    ) -> tuple[FakeTelegram, FakeZalo]:
    """Each (channel, chat, copy) through its real sender; the fakes, to count the calls."""
    async with FakeTelegram() as tg, FakeZalo() as zalo:
        zalo.known_chats.update(chat for channel, chat, _ in items if channel == "zalo")
        links = _FixedLinks(zalo.host_file(PHOTO, "image/jpeg"))
        bot = tg.make_bot()
        client = ZaloClient(zalo.token, zalo.base_url)
        try:
            telegram = TelegramSender(bot, media, "📍")
            zalo_sender = ZaloSender(client, media, Catalog("vi"), links)  # type: ignore[arg-type]
            for channel, chat, reply in items:
                if channel == "telegram":
                    await telegram.send(chat, reply)
                else:
                    await zalo_sender.send(chat, reply)
        finally:
            await bot.session.close()
            await client.aclose()
    return tg, zalo


def _calls(tg: FakeTelegram, zalo: FakeZalo, channel: str, chat: str) -> list[str]:
    sent = tg.sent(int(chat)) if channel == "telegram" else zalo.sent(chat)
    return [m.method for m in sent]


@pytest.fixture
async def people(store: MemoryStore, clock: FixedClock) -> dict[str, Person]:
    people = {
        "hung": await join(store, clock, "Hùng", Role.BOARD, None),
        "lan": await join(store, clock, "Lan", Role.COLLABORATOR, "bo-de", "zalo"),
        "mai": await join(store, clock, "Mai", Role.COLLABORATOR, "gia-thuy", "telegram"),
        "an": await join(store, clock, "An", Role.RESIDENT, None, "telegram"),
        "binh": await join(store, clock, "Bình", Role.RESIDENT, None, "zalo"),
    }
    for resident in (people["an"], people["binh"]):
        await resident.say("/theodoi")
        await resident.press("Phường Bồ Đề")
        await resident.press("Xong")
        await resident.press("Xong")
    return people


async def _orient(board: Person, text: str, photo: bool, audience: str) -> list[Reply]:
    """A whole `/dinhhuong`; the replies to «Gửi ngay»."""
    await board.say("/dinhhuong")
    taken = await board.say(text)
    assert "Gửi kèm một ảnh?" in taken[-1].text or "không kèm ảnh được" in taken[-1].text
    if photo:
        await board.photo(PHOTO)
    else:
        await board.press("Bỏ qua")
    if audience == "residents":
        await board.press("Người dân theo dõi")
        await board.press("Phường Bồ Đề")
        await board.press("Xong")
        await board.press("Xong")
    else:
        await board.press("Tất cả cộng tác viên")
    return await board.press("Gửi ngay")


def _numbered(store: MemoryStore) -> list[tuple[str, str, Reply]]:
    """Every copy written so far, each to its own chat of the fakes (Telegram wants numbers)."""
    items: list[OutboxItem] = [i for b in broadcasts(store) for i in copies(store, b)]
    return [(i.channel, str(1000 + n), i.reply) for n, i in enumerate(items)]


@pytest.mark.parametrize("photo", [False, True], ids=["text", "photo"])
async def test_the_longest_accepted_orientation_is_one_call_per_copy(
    store: MemoryStore, clock: FixedClock, people: dict[str, Person], tmp_path: Path,
    photo: bool,
) -> None:
    svc = services(clock)
    budget = copy_budget(svc, photo)
    hung = people["hung"]
    await hung.say("/dinhhuong")
    refused = await hung.say(vietnamese(copy_budget(svc, False) + 1))
    assert "tối đa" in refused[0].text  # one more character than any copy takes: refused
    await hung.say("/huy")

    text = vietnamese(budget)
    for audience in ("collaborators", "residents"):
        sent = await _orient(hung, text, photo, audience)
        assert "Đã gửi định hướng" in sent[-1].text
    media = FileMediaStore(tmp_path, 1 << 20)
    stored = media.put(PHOTO, MediaKind.PHOTO, "image/jpeg")  # what the officer sent
    assert [b.photo for b in broadcasts(store)] == [stored.sha256 if photo else None] * 2
    items = _numbered(store)
    # Lan (Zalo) and Mai (Telegram) relay; An (Telegram) and Bình (Zalo) are residents.
    assert sorted(channel for channel, _, _ in items) == ["telegram", "telegram", "zalo", "zalo"]
    tg, zalo = await _send_all(items, media)
    one = ["sendPhoto"] if photo else ["sendMessage"]
    for channel, chat, reply in items:
        assert _calls(tg, zalo, channel, chat) == one, (channel, reply.text[-80:])
        assert text in reply.text
    resident_copies = [r for _, _, r in items if "/huytheodoi" in r.text]
    assert len(resident_copies) == 2
    relay_copies = [r for c, _, r in items if c == "telegram" and r.choices]
    assert [c.label for r in relay_copies for c in r.choices] == ["✅ Đã phổ biến"]


@pytest.mark.parametrize(
    ("photo", "recipient"),
    [
        (False, Recipient(1, "zalo", "u1", relays=True)),  # the keyword hint: the longest
        (True, Recipient(2, "telegram", "7", relays=False, resident=True)),  # a caption
    ],
    ids=["zalo-collaborator", "telegram-resident-photo"],
)
async def test_one_character_more_would_have_been_two_calls(
    clock: FixedClock, tmp_path: Path, photo: bool, recipient: Recipient
) -> None:
    """The budget is exact: on the channel that binds, one character more splits the copy."""
    svc = services(clock)
    media = FileMediaStore(tmp_path, 1 << 20)
    sha = media.put(PHOTO, MediaKind.PHOTO, "image/jpeg").sha256 if photo else None
    budget = copy_budget(svc, photo)
    items = []
    for chat, length in (("11", budget), ("12", budget + 1)):
        text = vietnamese(length)
        broadcast = Broadcast(
            id=1, code="DH-2026-000001", author_id=9, text=text, photo=sha,
            audience=Audience(AudienceKind.COLLABORATORS), status=BroadcastStatus.SENDING,
            created_at=MONDAY_9AM, send_at=MONDAY_9AM,
        )
        chat_id = f"u{chat}" if recipient.channel == "zalo" else chat
        items.append((recipient.channel, chat_id, copy_reply(svc, broadcast, recipient)))
    assert copy_overflow(svc, vietnamese(budget + 1), photo) == 1
    tg, zalo = await _send_all(items, media)
    (channel, fits, _), (_, over, _) = items
    assert len(_calls(tg, zalo, channel, fits)) == 1
    assert len(_calls(tg, zalo, channel, over)) == 2
