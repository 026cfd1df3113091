"""`/dinhhuong` through the core: each audience, the preview's counts, sending, refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.broadcasts import AudienceKind, BroadcastStatus, Tier
from domain.clock import FixedClock
from domain.messages import Priority
from domain.people import Role
from domain.reports import MediaKind, StoredMedia
from handlers.types import Kind
from tests.conversation_harness import MONDAY_9AM, Person, join
from tests.fakes.memory_uow import MemoryStore
from tests.unit.orientation.world import (
    broadcasts,
    compose,
    copies,
    copy_for,
    follow,
    labels,
    text_of,
)


def channel_counts(store: MemoryStore) -> dict[str, int]:
    [broadcast] = broadcasts(store)
    counts: dict[str, int] = {}
    for item in copies(store, broadcast):
        counts[item.channel] = counts.get(item.channel, 0) + 1
    return counts


async def test_all_collaborators_now_preview_counts_match_the_copies(
    store: MemoryStore, people: dict[str, Person]
) -> None:
    hung, lan, mai = people["hung"], people["lan"], people["mai"]
    audience = await compose(hung, "Tuyên truyền phòng cháy mùa khô")
    assert "Gửi tới ai?" in audience[-1].text
    preview = await hung.press("Tất cả cộng tác viên")
    text = preview[-1].text
    assert "📢 THÔNG TIN ĐỊNH HƯỚNG" in text and "Tuyên truyền phòng cháy mùa khô" in text
    assert "Gửi tới: Tất cả cộng tác viên" in text
    assert "Số người nhận: 2 (Thử nghiệm: 1 · Zalo: 1)" in text
    assert {"📨 Gửi ngay", "⏰ Hẹn giờ", "✏️ Sửa", "❌ Hủy"} <= set(labels(preview))
    assert broadcasts(store) == []  # nothing stored before «Gửi ngay»

    sent = await hung.press("Gửi ngay")
    assert "Đã gửi định hướng DH-2026-000001 tới 2 người" in sent[-1].text
    assert "báo kết quả" in sent[-1].text
    [broadcast] = broadcasts(store)
    assert broadcast.status is BroadcastStatus.SENDING
    assert broadcast.audience.kind is AudienceKind.COLLABORATORS
    assert broadcast.author_id == 1 and broadcast.text == "Tuyên truyền phòng cháy mùa khô"
    assert channel_counts(store) == {"console": 1, "zalo": 1}  # exactly the preview's numbers
    for person in (lan, mai):
        item = copy_for(store, broadcast, person)
        assert item is not None and item.priority == Priority.BROADCAST
        assert "Tuyên truyền phòng cháy mùa khô" in item.reply.text
    for name in ("minh", "an", "binh"):
        assert copy_for(store, broadcast, people[name]) is None
    assert store.state.drafts == {}


async def test_by_level_reaches_that_tier_only(
    store: MemoryStore, people: dict[str, Person]
) -> None:
    hung = people["hung"]
    await compose(hung)
    tiers = await hung.press("Theo cấp")
    assert labels(tiers)[:3] == ["Cấp quận", "Cấp phường", "Mặt trận, đoàn thể"]
    preview = await hung.press("Cấp phường")
    assert "Cộng tác viên và cán bộ: Cấp phường" in preview[-1].text
    assert "Số người nhận: 3" in preview[-1].text
    await hung.press("Gửi ngay")
    [broadcast] = broadcasts(store)
    assert broadcast.audience.tier is Tier.WARD
    reached = {i.chat_id for i in copies(store, broadcast)}
    assert reached == {"u-Lan", "u-Mai", "u-Minh"}


async def test_by_ward_multi_select_toggles_and_needs_one(
    store: MemoryStore, people: dict[str, Person]
) -> None:
    hung = people["hung"]
    await compose(hung)
    await hung.press("Theo phường")
    none = await hung.press("Xong")
    assert "Hãy chọn ít nhất một phường" in none[-1].text
    chosen = await hung.press("Phường Bồ Đề")
    assert "✅ Phường Bồ Đề" in labels(chosen) and "Phường Gia Thụy" in labels(chosen)
    await hung.press("Phường Gia Thụy")
    again = await hung.press("✅ Phường Gia Thụy")  # pressed twice: unselected
    assert "✅ Phường Gia Thụy" not in labels(again) and "Phường Gia Thụy" in labels(again)
    preview = await hung.press("Xong")
    assert "Cộng tác viên và cán bộ: Phường Bồ Đề" in preview[-1].text
    assert "Số người nhận: 2 (Thử nghiệm: 2)" in preview[-1].text
    await hung.press("Gửi ngay")
    [broadcast] = broadcasts(store)
    assert broadcast.audience.wards == ("bo-de",)
    assert {i.chat_id for i in copies(store, broadcast)} == {"u-Lan", "u-Minh"}


async def test_residents_following_wards_or_topics(
    store: MemoryStore, people: dict[str, Person]
) -> None:
    hung, an, binh = people["hung"], people["an"], people["binh"]
    await follow(an, ["Phường Bồ Đề"], [])
    await follow(binh, [], ["Trật tự đô thị"])
    await compose(hung)
    await hung.press("Người dân theo dõi")
    await hung.press("Xong")
    nothing = await hung.press("Xong")
    assert "Hãy chọn ít nhất một phường hoặc một chủ đề" in nothing[-1].text
    await hung.press("Quay lại")
    await hung.press("Phường Bồ Đề")
    await hung.press("Xong")
    await hung.press("Trật tự đô thị")
    preview = await hung.press("Xong")
    text = preview[-1].text
    assert "Người dân theo dõi Phường Bồ Đề hoặc chủ đề Trật tự đô thị" in text
    assert "Số người nhận: 2 (Telegram: 1 · Zalo: 1)" in text
    await hung.press("Gửi ngay")
    [broadcast] = broadcasts(store)
    assert broadcast.audience.kind is AudienceKind.RESIDENTS
    assert channel_counts(store) == {"telegram": 1, "zalo": 1}
    for name in ("lan", "mai", "minh"):
        assert copy_for(store, broadcast, people[name]) is None
    # Residents relay nothing: their copies carry no «Đã phổ biến».
    assert all(not i.reply.choices for i in copies(store, broadcast))


async def test_zero_recipients_says_so_and_offers_another_audience(
    store: MemoryStore, people: dict[str, Person]
) -> None:
    hung = people["hung"]
    await compose(hung)
    await hung.press("Người dân theo dõi")
    await hung.press("Phường Việt Hưng")  # nobody follows it
    await hung.press("Xong")
    preview = await hung.press("Xong")
    assert "Số người nhận: 0 (không có ai)" in preview[-1].text
    assert "Không có ai nhận" in preview[-1].text
    assert "📨 Gửi ngay" not in labels(preview) and "⏰ Hẹn giờ" not in labels(preview)
    forged = preview[-1].choices[0].payload.rsplit(":", 1)[0] + ":send"
    refused = await hung.press_payload(forged)
    assert "Lựa chọn không hợp lệ" in refused[-1].text
    assert broadcasts(store) == []
    again = await hung.press("Đổi người nhận")
    assert "Gửi tới ai?" in again[-1].text
    preview = await hung.press("Tất cả cộng tác viên")
    assert "Số người nhận: 2" in preview[-1].text


async def test_about_one_case_needs_an_existing_code(
    store: MemoryStore, people: dict[str, Person]
) -> None:
    hung, lan = people["hung"], people["lan"]
    await lan.press("Gửi phản ánh")
    for label in ("Trật tự xây dựng", "Đúng"):
        await lan.press(label)
    await lan.say("Số 5 ngõ 12")
    await lan.say("Xây lấn vỉa hè")
    await lan.press("Xong")
    await lan.press("Bình thường")
    await lan.press("Gửi")
    await compose(hung)
    await hung.press("Liên quan một vụ việc")
    bad = await hung.say("vụ hôm qua")
    assert "PA-2026-000123" in bad[-1].text
    unknown = await hung.say("PA-2026-99")
    assert "Không có vụ việc PA-2026-000099" in unknown[-1].text
    preview = await hung.say("pa-2026-1")
    text = preview[-1].text
    assert "Những người liên quan đến vụ việc PA-2026-000001" in text
    assert "Lan" not in text  # the reporter is never named
    assert "Số người nhận: 1" in text  # the reporter; no unit yet, nobody follows
    await hung.press("Gửi ngay")
    [broadcast] = broadcasts(store)
    assert broadcast.case_code == "PA-2026-000001"
    assert broadcast.audience.case_code == "PA-2026-000001"
    assert {i.chat_id for i in copies(store, broadcast)} == {"u-Lan"}


async def test_a_photo_with_a_caption_is_text_and_photo(
    store: MemoryStore, people: dict[str, Person]
) -> None:
    hung = people["hung"]
    await hung.say("/dinhhuong")
    refused = await hung.photo(b"no-caption")
    assert "chưa có chú thích" in refused[-1].text
    photo = StoredMedia("a" * 64, MediaKind.PHOTO, "image/jpeg", 4)
    captioned = await hung.deliver(
        hung._incoming(Kind.PHOTO, media=photo, text="Lịch cắt điện tuần này")
    )
    assert "Gửi tới ai?" in captioned[-1].text  # no photo question: it came with the text
    preview = await hung.press("Tất cả cộng tác viên")
    assert any(r.photos == ("a" * 64,) for r in preview)  # the photo, above the preview
    assert "Kèm 1 ảnh" in preview[-1].text
    await hung.press("Gửi ngay")
    [broadcast] = broadcasts(store)
    assert broadcast.text == "Lịch cắt điện tuần này" and broadcast.photo == "a" * 64
    assert all(i.reply.photos == ("a" * 64,) for i in copies(store, broadcast))


async def test_the_photo_step_takes_one_photo_and_can_drop_it(
    store: MemoryStore, people: dict[str, Person]
) -> None:
    hung = people["hung"]
    await hung.say("/dinhhuong")
    asked = await hung.say("Thông báo tiêm chủng")
    assert "Bỏ qua" in " ".join(labels(asked))
    audience = await hung.photo(b"poster")
    assert "Gửi tới ai?" in audience[-1].text
    back = await hung.press("Quay lại")
    assert "Đã có một ảnh" in back[-1].text
    await hung.press("Bỏ ảnh")
    preview = await hung.press("Tất cả cộng tác viên")
    assert "Kèm 1 ảnh" not in preview[-1].text


async def test_zalo_officer_types_numbers_and_labels(
    store: MemoryStore, clock: FixedClock, people: dict[str, Person]
) -> None:
    zalo = await join(store, clock, "Tuấn", Role.BOARD, None, "zalo")
    await zalo.say("/dinhhuong")
    await zalo.say("Khuyến cáo an toàn giao thông")
    await zalo.say("1")  # Bỏ qua
    wards = await zalo.say("3")  # Theo phường
    assert labels(wards)[:4] == ["Phường Bồ Đề", "Phường Gia Thụy", "Phường Việt Hưng", "➡️ Xong"]
    await zalo.say("1")
    toggled = await zalo.say("phuong gia thuy")
    assert labels(toggled)[:2] == ["✅ Phường Bồ Đề", "✅ Phường Gia Thụy"]
    preview = await zalo.say("4")  # Xong
    assert "Phường Bồ Đề, Phường Gia Thụy" in preview[-1].text
    assert "Số người nhận: 3 (Thử nghiệm: 2 · Zalo: 1)" in preview[-1].text
    sent = await zalo.say("gui ngay")
    assert "tới 3 người" in sent[-1].text
    [broadcast] = broadcasts(store)
    # The other officer (board, no ward) is not in a ward audience, nor are residents.
    assert {i.chat_id for i in copies(store, broadcast)} == {"u-Lan", "u-Mai", "u-Minh"}


async def test_edit_changes_the_text_and_returns_to_the_preview(
    store: MemoryStore, people: dict[str, Person]
) -> None:
    hung = people["hung"]
    await compose(hung, "Bản nháp")
    await hung.press("Tất cả cộng tác viên")
    await hung.press("Sửa")
    await hung.press("Nội dung")
    preview = await hung.say("Bản chính thức")
    assert "Bản chính thức" in preview[-1].text and "Bản nháp" not in preview[-1].text
    await hung.press("Sửa")
    await hung.press("Người nhận")
    await hung.press("Theo phường")
    await hung.press("Phường Gia Thụy")
    preview = await hung.press("Xong")
    assert "Số người nhận: 1 (Zalo: 1)" in preview[-1].text


async def test_cancel_and_huy_send_nothing(store: MemoryStore, people: dict[str, Person]) -> None:
    hung = people["hung"]
    await compose(hung)
    await hung.press("Tất cả cộng tác viên")
    cancelled = await hung.press("Hủy")
    assert "Đã hủy định hướng đang soạn" in cancelled[-1].text
    await compose(hung)
    cancelled = await hung.say("/huy")
    assert "Đã hủy định hướng đang soạn" in cancelled[-1].text
    assert broadcasts(store) == [] and store.state.drafts == {}


async def test_a_draft_is_kept_for_a_while_then_dropped_with_a_word(
    store: MemoryStore, clock: FixedClock, people: dict[str, Person]
) -> None:
    hung = people["hung"]
    await hung.say("/dinhhuong")
    clock.set(clock.now() + timedelta(hours=2))  # written elsewhere, pasted later
    kept = await hung.say("Văn bản dài soạn ở nơi khác")
    assert "Gửi kèm một ảnh?" in kept[-1].text
    again = await hung.say("/dinhhuong")
    assert "đang soạn dở" in again[-1].text and "Gửi kèm một ảnh?" in again[-1].text
    clock.set(clock.now() + timedelta(hours=25))
    dropped = await hung.press("Bỏ qua")
    assert "đã quá lâu" in text_of(dropped)
    assert store.state.drafts == {}


@pytest.mark.parametrize("who", ["lan", "minh", "an", "binh"])
async def test_only_board_officers_write_orientation(
    store: MemoryStore, people: dict[str, Person], who: str
) -> None:
    person = people[who]
    for attempt in ("/dinhhuong", "/dinhhuong PA-2026-1", "/lich", "/huylich DH-2026-000001"):
        refused = await person.say(attempt)
        assert "Chỉ cán bộ Ban Tuyên giáo" in refused[-1].text
    await person.press_payload("m:orient")
    assert "Chỉ cán bộ Ban Tuyên giáo" in person.last[-1].text
    assert store.state.drafts == {}


async def test_a_forged_step_payload_sends_nothing(
    store: MemoryStore, people: dict[str, Person]
) -> None:
    hung, lan = people["hung"], people["lan"]
    await compose(hung)
    preview = await hung.press("Tất cả cộng tác viên")
    send = next(c.payload for c in preview[-1].choices if "Gửi ngay" in c.label)
    refused = await lan.press_payload(send)  # her own chat has no such draft
    assert "tin nhắn cũ" in refused[-1].text
    assert broadcasts(store) == []
    assert 1 in store.state.drafts  # the officer's draft is untouched


async def test_board_menu_and_help_show_orientation(people: dict[str, Person]) -> None:
    hung = people["hung"]
    menu = await hung.say("/trogiup")
    assert "/dinhhuong" in menu[-1].text and "/lich" in menu[-1].text
    assert "📢 Định hướng" in labels(menu)
    started = await hung.press("Định hướng")
    assert "Soạn thông tin định hướng" in started[-1].text
    lan_help = await people["lan"].say("/trogiup")
    assert "Đã phổ biến" in lan_help[-1].text and "/dinhhuong" not in lan_help[-1].text


@pytest.mark.parametrize("first_words", ["/start", "chào anh"])
async def test_writing_again_makes_a_blocked_person_reachable(
    store: MemoryStore, people: dict[str, Person], first_words: str
) -> None:
    hung, mai = people["hung"], people["mai"]
    store.state.unreachable[("zalo", "u-Mai")] = MONDAY_9AM
    await compose(hung)
    preview = await hung.press("Tất cả cộng tác viên")
    assert "Số người nhận: 1 (Thử nghiệm: 1)" in preview[-1].text
    await hung.press("Hủy")
    await mai.say(first_words)  # on Zalo people rarely type /start: any message counts
    assert ("zalo", "u-Mai") not in store.state.unreachable
    await compose(hung)
    preview = await hung.press("Tất cả cộng tác viên")
    assert "Số người nhận: 2 (Thử nghiệm: 1 · Zalo: 1)" in preview[-1].text
