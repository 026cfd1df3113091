"""Every copy of an orientation is one API call: the text's limit, the photo, the pre-filled
answer, the re-checks; the resident's "how to stop" line; the delivery report's next step; the
configured board named. (Through the real senders: tests/e2e/test_broadcast_copies.py.)"""

from __future__ import annotations

import unicodedata
from dataclasses import replace

import pytest

from domain.broadcasts import (
    Audience,
    AudienceKind,
    Broadcast,
    BroadcastStatus,
    DeliveryCounts,
    Recipient,
)
from domain.clock import FixedClock
from domain.org import UnitKind
from domain.reports import MediaKind, StoredMedia
from handlers.broadcasting import (
    TELEGRAM_CAPTION_LIMIT,
    ZALO_TEXT_LIMIT,
    copy_budget,
    copy_overflow,
    copy_reply,
    delivery_report,
)
from handlers.context import Services
from handlers.types import Kind
from tests.conversation_harness import MONDAY_9AM, Person, services, small_org
from tests.fakes.memory_uow import MemoryStore
from tests.unit.orientation.world import accept_answer, broadcasts, copies, labels

WORDS = "Tuyên truyền phòng cháy chữa cháy mùa khô, nhắc bà con kiểm tra đường điện trong nhà. "


def vietnamese(length: int) -> str:
    """Vietnamese with diacritics, NFC, exactly `length` characters, no space at either end."""
    text = (WORDS * (length // len(WORDS) + 1))[:length]
    return text[:-1] + "." if text.endswith(" ") else text


@pytest.fixture
def svc(clock: FixedClock) -> Services:
    return services(clock)


def _broadcast(text: str, photo: str | None = None) -> Broadcast:
    return Broadcast(
        id=7, code="DH-2026-000007", author_id=1, text=text, photo=photo,
        audience=Audience(AudienceKind.COLLABORATORS), status=BroadcastStatus.SENDING,
        created_at=MONDAY_9AM, send_at=MONDAY_9AM,
    )


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# ---- the budget ------------------------------------------------------------------------------


def test_the_budget_is_the_longest_text_whose_worst_copy_fits_each_channel(svc: Services) -> None:
    plain, with_photo = copy_budget(svc, False), copy_budget(svc, True)
    assert 1800 < plain < ZALO_TEXT_LIMIT and 900 < with_photo < TELEGRAM_CAPTION_LIMIT
    longest = vietnamese(plain)
    assert copy_overflow(svc, longest, False) == 0
    assert copy_overflow(svc, vietnamese(plain + 1), False) == 1
    # The Zalo collaborator's copy (the keyword hint) is the longest: exactly Zalo's limit.
    zalo_collaborator = copy_reply(svc, _broadcast(longest), Recipient(3, "zalo", "z", True))
    assert len(zalo_collaborator.text) == ZALO_TEXT_LIMIT
    # With a photo, the Telegram caption (UTF-16) binds: the resident's copy fills it exactly.
    longest = vietnamese(with_photo)
    assert copy_overflow(svc, longest, True) == 0
    assert copy_overflow(svc, vietnamese(with_photo + 1), True) == 1
    resident = Recipient(4, "telegram", "9", relays=False, resident=True)
    assert utf16(copy_reply(svc, _broadcast(longest, "p" * 64), resident).text) == 1024


def test_emoji_count_twice_in_a_telegram_caption_and_nfd_counts_as_nfc(svc: Services) -> None:
    budget = copy_budget(svc, True)
    assert copy_overflow(svc, "🔥" + vietnamese(budget - 1), True) == 1
    decomposed = unicodedata.normalize("NFD", vietnamese(copy_budget(svc, False)))
    assert len(decomposed) > copy_budget(svc, False)
    assert copy_overflow(svc, decomposed, False) == 0


def test_only_the_channels_delivered_on_count(svc: Services) -> None:
    telegram_only = replace(svc, channels=frozenset({"telegram", "console"}))
    assert copy_budget(telegram_only, False) == telegram_only.settings.max_text_chars
    assert copy_budget(telegram_only, True) == copy_budget(svc, True)


# ---- /dinhhuong ------------------------------------------------------------------------------


async def test_the_longest_text_is_taken_and_one_more_character_refused(
    store: MemoryStore, people: dict[str, Person], svc: Services
) -> None:
    hung, budget = people["hung"], copy_budget(svc, False)
    asked = await hung.say("/dinhhuong")
    assert f"tối đa {budget} ký tự" in asked[-1].text
    refused = await hung.say(vietnamese(budget + 1))
    assert f"dài {budget + 1} ký tự, tối đa {budget} ký tự" in refused[0].text
    assert "rút gọn" in refused[0].text
    photo = await hung.say(vietnamese(budget))
    # Too long for a caption: no photo can go with it; «Bỏ qua» or shorten.
    assert f"tối đa {copy_budget(svc, True)} ký tự" in photo[-1].text
    assert "Bỏ qua" in photo[-1].text and "Quay lại" in photo[-1].text
    refused = await hung.photo(b"poster")
    assert "Chưa kèm được ảnh" in refused[0].text
    await hung.press("Bỏ qua")
    await hung.press("Tất cả cộng tác viên")
    await hung.press("Gửi ngay")
    [broadcast] = broadcasts(store)
    assert broadcast.text == vietnamese(budget) and broadcast.photo is None
    zalo = [i.reply.text for i in copies(store, broadcast) if i.channel == "zalo"]
    assert zalo and all(len(text) <= ZALO_TEXT_LIMIT for text in zalo)


async def test_a_photo_is_taken_with_the_longest_caption_text(
    store: MemoryStore, people: dict[str, Person], svc: Services
) -> None:
    hung, budget = people["hung"], copy_budget(svc, True)
    await hung.say("/dinhhuong")
    await hung.say(vietnamese(budget))
    audience = await hung.photo(b"poster")
    assert "Gửi tới ai?" in audience[-1].text
    await hung.press("Tất cả cộng tác viên")
    await hung.press("Gửi ngay")
    [broadcast] = broadcasts(store)
    assert broadcast.photo is not None


async def test_a_caption_too_long_for_a_photo_is_refused(
    store: MemoryStore, people: dict[str, Person], svc: Services
) -> None:
    hung = people["hung"]
    await hung.say("/dinhhuong")
    photo = StoredMedia("a" * 64, MediaKind.PHOTO, "image/jpeg", 4)
    text = vietnamese(copy_budget(svc, True) + 5)
    refused = await hung.deliver(hung._incoming(Kind.PHOTO, media=photo, text=text))
    assert "Chú thích ảnh dài" in refused[0].text
    assert f"tối đa {copy_budget(svc, False)} ký tự" in refused[0].text
    assert store.state.drafts[1].step == "text" and "photo" not in store.state.drafts[1].data


async def test_editing_the_text_with_a_photo_kept_checks_the_caption_limit(
    store: MemoryStore, people: dict[str, Person], svc: Services
) -> None:
    hung = people["hung"]
    await hung.say("/dinhhuong")
    await hung.say("Lịch tiêm chủng tháng 12")
    await hung.photo(b"poster")
    await hung.press("Tất cả cộng tác viên")
    await hung.press("Sửa")
    asked = await hung.press("Nội dung")
    assert f"tối đa {copy_budget(svc, True)} ký tự" in asked[-1].text
    refused = await hung.say(vietnamese(copy_budget(svc, True) + 10))
    assert "Đang kèm ảnh" in refused[0].text and "Bỏ ảnh" in refused[0].text
    preview = await hung.say(vietnamese(copy_budget(svc, True)))
    assert "Gửi ngay" in labels(preview)[0]


async def test_a_long_prefilled_answer_must_be_cut_or_rewritten(
    store: MemoryStore, people: dict[str, Person], svc: Services
) -> None:
    hung = people["hung"]
    answer = vietnamese(1990)
    await accept_answer(people, hung, answer)
    budget = copy_budget(svc, False)

    prefilled = await hung.say("/dinhhuong PA-2026-000001")
    assert f"Câu trả lời dài 1990 ký tự, định hướng tối đa {budget} ký tự" in prefilled[-1].text
    assert labels(prefilled)[0] == f"✂️ Cắt còn {budget} ký tự"
    assert "Dùng nội dung này" not in " ".join(labels(prefilled))
    cut = await hung.press("Cắt còn")
    assert "Đã cắt nội dung còn" in cut[0].text
    draft = store.state.drafts[1]
    assert draft.data["text"].endswith("…") and answer.startswith(draft.data["text"][:-1])
    assert len(draft.data["text"]) <= budget and copy_overflow(svc, draft.data["text"], False) == 0
    await hung.press("Bỏ qua")
    await hung.press("Gửi ngay")
    [broadcast] = broadcasts(store)
    assert broadcast.text == draft.data["text"]

    # Rewritten instead: a new text replaces it, checked like any other.
    again = await hung.say("/dinhhuong PA-2026-000001")
    assert "Câu trả lời dài" in again[-1].text
    refused = await hung.say(vietnamese(budget + 1))
    assert f"tối đa {budget} ký tự" in refused[0].text
    photo = await hung.say("Phường đã xử lý xong việc xây lấn vỉa hè.")
    assert "Gửi kèm một ảnh?" in photo[-1].text


async def test_the_preview_and_the_store_check_again(
    store: MemoryStore, people: dict[str, Person], svc: Services
) -> None:
    hung = people["hung"]
    await hung.say("/dinhhuong")
    await hung.say("Thông báo ngắn")
    await hung.press("Bỏ qua")
    await hung.press("Tất cả cộng tác viên")
    # The text no longer fits (say the board's name or the catalog grew meanwhile).
    store.state.drafts[1].data["text"] = vietnamese(copy_budget(svc, False) + 3)
    refused = await hung.press("Gửi ngay")
    assert "Chưa gửi được vì nội dung dài" in refused[-1].text
    assert labels(refused)[0] == "✏️ Sửa" and "📨 Gửi ngay" not in labels(refused)
    assert broadcasts(store) == [] and store.state.drafts[1].step == "summary"
    await hung.press("Sửa")
    await hung.press("Nội dung")
    await hung.say("Thông báo ngắn")
    await hung.press("Gửi ngay")
    assert len(broadcasts(store)) == 1


async def test_the_confirmation_of_a_schedule_checks_again(
    store: MemoryStore, people: dict[str, Person], svc: Services
) -> None:
    hung = people["hung"]
    await hung.say("/dinhhuong")
    await hung.say("Thông báo ngắn")
    await hung.press("Bỏ qua")
    await hung.press("Tất cả cộng tác viên")
    await hung.press("Hẹn giờ")
    await hung.say("28/12 08:00")
    store.state.drafts[1].data["text"] = vietnamese(copy_budget(svc, False) + 3)
    refused = await hung.press("Xác nhận hẹn giờ")
    assert "Chưa gửi được vì nội dung dài" in refused[-1].text
    assert broadcasts(store) == []


# ---- what the copies and the report say ------------------------------------------------------


async def test_residents_copies_say_how_to_stop_and_staff_copies_do_not(
    store: MemoryStore, people: dict[str, Person]
) -> None:
    hung, an = people["hung"], people["an"]
    await an.say("/theodoi")
    await an.press("Phường Bồ Đề")
    await an.press("Xong")
    await an.press("Xong")
    await hung.say("/dinhhuong")
    await hung.say("Lịch cắt điện")
    await hung.press("Bỏ qua")
    await hung.press("Người dân theo dõi")
    await hung.press("Phường Bồ Đề")
    await hung.press("Xong")
    await hung.press("Xong")
    await hung.press("Gửi ngay")
    await hung.say("/dinhhuong")
    await hung.say("Lịch cắt điện")
    await hung.press("Bỏ qua")
    await hung.press("Theo cấp")
    await hung.press("Cấp phường")
    await hung.press("Gửi ngay")
    to_residents, to_staff = broadcasts(store)
    [resident] = copies(store, to_residents)
    assert resident.reply.text.endswith("Không muốn nhận nữa? Gõ /huytheodoi")
    staff = copies(store, to_staff)
    assert staff and all("/huytheodoi" not in i.reply.text for i in staff)


def test_the_report_says_what_to_do_next(svc: Services) -> None:
    broadcast = _broadcast("x")
    clean = delivery_report(svc, broadcast, DeliveryCounts(recipients=3, delivered=3))
    assert "Mọi người đều đã nhận được. Soạn định hướng mới: /dinhhuong" in clean
    assert clean.endswith(f"/ketqua {broadcast.code}")  # where the relays are seen later
    assert "/guiloi" not in clean
    failed = delivery_report(svc, broadcast, DeliveryCounts(recipients=3, delivered=2, failed=1))
    assert "/guiloi" in failed and "chặn bot sẽ" not in failed
    blocked = delivery_report(svc, broadcast, DeliveryCounts(recipients=3, delivered=2, blocked=1))
    assert "Người đã chặn bot sẽ tự được bỏ qua ở lần gửi sau." in blocked
    assert "/guiloi" in blocked


def test_the_copy_is_signed_by_the_configured_board(clock: FixedClock) -> None:
    org = small_org()
    renamed = replace(org, units=tuple(
        replace(u, name="Ban Tuyên giáo và Dân vận", short_name="Ban TG-DV")
        if u.kind is UnitKind.BOARD else u
        for u in org.units
    ))
    svc = services(clock, renamed)
    copy = copy_reply(svc, _broadcast("Nội dung"), Recipient(1, "telegram", "1", False))
    assert copy.text.endswith("— Ban TG-DV")


async def test_a_resident_is_refused_naming_the_board(people: dict[str, Person]) -> None:
    refused = await people["an"].say("/dinhhuong")
    assert "Chỉ cán bộ Ban Tuyên giáo mới soạn" in refused[-1].text  # small_org's board
