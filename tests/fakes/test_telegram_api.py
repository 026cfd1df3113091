"""The fake Telegram server, driven by the real aiogram Bot."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram import Bot, Dispatcher
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)
from aiohttp import web

from tests.fakes.telegram_api import FakeTelegram, InlineButton, ReplyButton

USER_ID = 1001


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    bot = tg.make_bot()
    yield bot
    await bot.session.close()


def yes_no() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text="Có", callback_data="ans:yes"),
        InlineKeyboardButton(text="Không", callback_data="ans:no"),
    ]])


async def test_get_me_and_wrong_token(tg: FakeTelegram, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.username, me.is_bot) == ("dlxh_test_bot", True)
    intruder = Bot("999:wrong-token-abcdefghijklmnopqrstuvw", session=bot.session)
    with pytest.raises(TelegramUnauthorizedError):
        await intruder.get_me()


async def test_raw_http_answers_and_json_bodies(tg: FakeTelegram) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{tg.base_url}/bot{tg.token}/noSuchMethod") as resp:
            assert resp.status == 404
            assert (await resp.json())["ok"] is False
        async with http.get(f"{tg.base_url}/botnope/getMe") as resp:
            assert resp.status == 401
            assert await resp.json() == {"ok": False, "error_code": 401,
                                         "description": "Unauthorized"}
        body = {"chat_id": str(USER_ID), "text": "từ httpx"}
        async with http.post(f"{tg.base_url}/bot{tg.token}/sendMessage", json=body) as resp:
            answer = await resp.json()
    assert answer["ok"] and answer["result"]["chat"]["id"] == USER_ID
    assert tg.texts(USER_ID) == ["từ httpx"]


async def test_send_message_with_inline_keyboard_is_recorded(tg: FakeTelegram, bot: Bot) -> None:
    first = await bot.send_message(USER_ID, "<b>Chào</b> &amp; hỏi?", parse_mode="HTML",
                                   reply_markup=yes_no())
    second = await bot.send_message(USER_ID, "tiếp")
    assert isinstance(first, Message) and first.text == "Chào & hỏi?"
    assert first.reply_markup is not None
    assert second.message_id == first.message_id + 1
    sent = tg.sent(USER_ID)[0]
    assert sent.buttons == [[("Có", "ans:yes"), ("Không", "ans:no")]]
    assert sent.buttons[0][0] == InlineButton("Có", "ans:yes")
    assert (sent.text, sent.plain, sent.parse_mode) == ("<b>Chào</b> &amp; hỏi?", "Chào & hỏi?",
                                                        "HTML")
    assert tg.texts(USER_ID) == ["Chào & hỏi?", "tiếp"]
    assert tg.last(USER_ID).message_id == second.message_id
    # aiogram sends chat_id JSON-encoded ("1001") and the markup as a JSON object string
    assert tg.calls("sendMessage")[0]["chat_id"] == USER_ID
    assert tg.calls("sendMessage")[0]["reply_markup"]["inline_keyboard"][0][0]["text"] == "Có"


async def test_reply_keyboard_with_location_request(tg: FakeTelegram, bot: Bot) -> None:
    markup = ReplyKeyboardMarkup(keyboard=[[
        KeyboardButton(text="📍 Gửi vị trí", request_location=True),
        KeyboardButton(text="Bỏ qua"),
    ]], resize_keyboard=True)
    await bot.send_message(USER_ID, "Ở đâu?", reply_markup=markup)
    assert tg.last(USER_ID).keyboard == [[ReplyButton("📍 Gửi vị trí", request_location=True),
                                          ReplyButton("Bỏ qua")]]
    assert tg.last(USER_ID).button_texts == ["📍 Gửi vị trí", "Bỏ qua"]


async def test_bot_api_validation_errors(tg: FakeTelegram, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(USER_ID, "a < b", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        long_data = "đ" * 33  # 66 bytes
        await bot.send_message(USER_ID, "x", reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="x", callback_data=long_data)]]))
    with pytest.raises(TelegramBadRequest, match="too long"):
        await bot.send_message(USER_ID, "x" * 4097)
    sent = await bot.send_message(USER_ID, "cùng nội dung")
    with pytest.raises(TelegramBadRequest, match="not modified"):
        await bot.edit_message_text("cùng nội dung", chat_id=USER_ID, message_id=sent.message_id)
    assert tg.texts(USER_ID) == ["cùng nội dung"]


async def test_send_photo_upload_file_id_and_album(tg: FakeTelegram, bot: Bot) -> None:
    jpeg = b"\xff\xd8\xffbot-photo"
    msg = await bot.send_photo(USER_ID, BufferedInputFile(jpeg, "a.jpg"), caption="Ảnh",
                               reply_markup=yes_no())
    assert msg.photo is not None and msg.caption == "Ảnh"
    assert str(tg.calls("sendPhoto")[0]["photo"]).startswith("attach://")
    last = tg.last(USER_ID)
    assert (last.method, last.photos, last.text) == ("sendPhoto", 1, "Ảnh")
    assert tg.files[last.file_ids[0]].data == jpeg
    await bot.send_photo(USER_ID, msg.photo[-1].file_id)  # resend by file_id
    assert tg.last(USER_ID).file_ids == last.file_ids
    with pytest.raises(TelegramBadRequest):
        await bot.send_photo(USER_ID, "no-such-file-id")

    album = await bot.send_media_group(USER_ID, media=[
        InputMediaPhoto(media=BufferedInputFile(b"p1", "1.jpg"), caption="Hai ảnh"),
        InputMediaPhoto(media=BufferedInputFile(b"p2", "2.jpg")),
    ])
    assert len(album) == 2 and album[0].media_group_id == album[1].media_group_id
    items = tg.sent(USER_ID)[-2:]
    assert [tg.files[m.file_ids[0]].data for m in items] == [b"p1", b"p2"]
    assert items[0].text == "Hai ảnh" and items[0].media_group_id is not None


async def test_get_updates_long_poll_and_offset(tg: FakeTelegram, bot: Bot) -> None:
    user = tg.user(id=USER_ID, first_name="Lan")
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.05)
    await user.send_text("/start ABC")
    updates = await poll
    assert time.monotonic() - started < 2
    assert len(updates) == 1 and updates[0].message is not None
    message = updates[0].message
    assert message.text == "/start ABC" and message.chat.id == USER_ID
    assert message.from_user is not None and message.from_user.first_name == "Lan"
    # unconfirmed updates come back; an offset above them confirms (drops) them
    assert [u.update_id for u in await bot.get_updates()] == [updates[0].update_id]
    assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=0) == []
    assert tg.pending_updates == []


async def test_user_update_kinds(tg: FakeTelegram, bot: Bot) -> None:
    user = tg.user(id=USER_ID)
    await user.send_location(21.03, 105.85)
    await user.send_voice(b"OggS-voice", duration=4)
    await user.send_sticker()
    await user.send_document()
    await user.in_group(-1009876543210, "Ban").send_text("chào nhóm")
    updates = await bot.get_updates()
    msgs = [u.message for u in updates if u.message is not None]
    assert msgs[0].location is not None and msgs[0].location.latitude == 21.03
    assert msgs[1].voice is not None and msgs[1].voice.duration == 4
    assert msgs[2].sticker is not None and msgs[3].document is not None
    assert (msgs[4].chat.type, msgs[4].chat.id) == ("supergroup", -1009876543210)
    assert [u.update_id for u in updates] == sorted({u.update_id for u in updates})


async def test_callback_press_round_trip(tg: FakeTelegram, bot: Bot) -> None:
    user = tg.user(id=USER_ID)
    sent = await bot.send_message(USER_ID, "Đồng ý?", reply_markup=yes_no())
    await user.press("Không")
    (update,) = await bot.get_updates()
    query = update.callback_query
    assert query is not None and query.data == "ans:no"
    assert query.message is not None and query.message.message_id == sent.message_id
    assert await bot.answer_callback_query(query.id, text="Đã ghi")
    assert tg.callback_answers[query.id]["text"] == "Đã ghi"
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query.id)
    # removing the keyboard makes the button unpressable; forged data still goes through
    await bot.edit_message_reply_markup(chat_id=USER_ID, message_id=sent.message_id)
    with pytest.raises(LookupError):
        await user.press("Có")
    forged = await user.press_data("ans:../../admin", message_id=sent.message_id)
    assert forged["callback_query"]["data"] == "ans:../../admin"


async def test_user_photo_get_file_and_download(tg: FakeTelegram, bot: Bot) -> None:
    data = b"\xff\xd8\xff" + bytes(range(256)) * 40
    await tg.user(id=USER_ID).send_photo(data, caption="cống tắc")
    (update,) = await bot.get_updates()
    assert update.message is not None and update.message.photo is not None
    largest = update.message.photo[-1]
    assert largest.file_size == len(data) and update.message.caption == "cống tắc"
    file = await bot.get_file(largest.file_id)
    assert file.file_path is not None
    downloaded = await bot.download(largest.file_id)
    assert downloaded is not None and downloaded.read() == data
    thumb = await bot.download(update.message.photo[0].file_id)
    assert thumb is not None and thumb.read() != data


async def test_injected_failures(tg: FakeTelegram, bot: Bot) -> None:
    tg.fail_next("sendMessage", status=429, retry_after=3)
    with pytest.raises(TelegramRetryAfter) as retry:
        await bot.send_message(USER_ID, "a")
    assert retry.value.retry_after == 3
    await bot.send_message(USER_ID, "a")  # only the next call failed
    tg.fail_next("sendMessage", status=500, times=2)
    for _ in range(2):
        with pytest.raises(TelegramServerError):
            await bot.send_message(USER_ID, "b")
    tg.fail_next("*", status=502)
    with pytest.raises(TelegramServerError):
        await bot.get_me()
    tg.block(USER_ID)
    with pytest.raises(TelegramForbiddenError, match="blocked"):
        await bot.send_message(USER_ID, "c")
    await bot.send_message(USER_ID + 1, "other chat works")
    tg.unblock(USER_ID)
    await bot.send_message(USER_ID, "d")
    assert tg.texts(USER_ID) == ["a", "d"]
    assert len(tg.calls("sendMessage")) == 7


async def test_delay_and_rate_limit(tg: FakeTelegram, bot: Bot) -> None:
    tg.delay("sendMessage", 0.2)
    started = time.monotonic()
    await bot.send_message(USER_ID, "slow")
    assert time.monotonic() - started >= 0.2
    tg.delay("sendMessage", 0)
    tg.rate_limit(per_second=3)
    for i in range(3):
        await bot.send_message(USER_ID + i, "ok")
    with pytest.raises(TelegramRetryAfter) as retry:
        await bot.send_message(USER_ID, "too fast")
    assert retry.value.retry_after >= 1 and tg.throttled == 1


async def test_webhook_delivery_with_secret_and_redelivery(tg: FakeTelegram, bot: Bot) -> None:
    received: list[tuple[str | None, dict[str, object]]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"),
                         await request.json()))
        return web.Response(status=500 if len(received) == 1 else 200)

    app = web.Application()
    app.router.add_post("/tg", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/tg"
    try:
        assert await bot.set_webhook(url, secret_token="s3cr3t_-x")
        assert (await bot.get_webhook_info()).url == url
        with pytest.raises(TelegramConflictError):
            await bot.get_updates()
        user = tg.user(id=USER_ID)
        update = await user.send_text("xin chào")
        assert user.last_status == 200
        assert [d.status for d in tg.deliveries] == [500, 200]  # redelivered, same update_id
        assert [body["update_id"] for _, body in received] == [update["update_id"]] * 2
        assert received[0][0] == "s3cr3t_-x"
        assert await tg.post_update(update, secret="wrong") == 200  # a duplicate, raw
        assert await bot.delete_webhook()
        assert tg.webhook_url is None
    finally:
        await runner.cleanup()


async def test_dispatcher_polling_and_wait_reply(tg: FakeTelegram, bot: Bot) -> None:
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        await message.answer(f"nhận: {message.text}", reply_markup=yes_no())

    @dp.callback_query()
    async def on_press(query: object) -> None:
        assert hasattr(query, "answer")
        await query.answer("ok")

    polling = asyncio.create_task(dp.start_polling(
        bot, handle_signals=False, close_bot_session=False, polling_timeout=1))
    try:
        user = tg.user(id=USER_ID)
        await user.send_text("một")
        (reply,) = await user.wait_reply()
        assert reply.plain == "nhận: một" and reply.buttons[0][0].text == "Có"
        update = await user.press("Có")
        query_id = update["callback_query"]["id"]
        await tg.wait_for(lambda: query_id in tg.callback_answers)
        with pytest.raises(TimeoutError, match="0/1"):
            await user.wait_reply(timeout=0.1)
    finally:
        await dp.stop_polling()
        await polling


async def test_duplicate_update_in_polling_queue(tg: FakeTelegram, bot: Bot) -> None:
    update = await tg.user(id=USER_ID).send_text("một lần")
    tg.enqueue(update)  # Telegram redelivering the same update_id
    updates = await bot.get_updates()
    assert [u.update_id for u in updates] == [update["update_id"]] * 2


async def test_deliver_to_unreachable_webhook_without_redelivery(tg: FakeTelegram) -> None:
    tg.deliver_to("http://127.0.0.1:9/nothing", "abc", redeliver=False)
    user = tg.user(id=USER_ID)
    await user.send_text("hello")
    assert user.last_status == 0 and len(tg.deliveries) == 1
    tg.deliver_to(None)
    await user.send_text("queued")
    assert [u["message"]["text"] for u in tg.pending_updates] == ["queued"]


async def test_scheduled_failures_by_call_number_are_never_delivered(
    tg: FakeTelegram, bot: Bot
) -> None:
    tg.fail_calls("sendMessage", [2], status=429, retry_after=4)
    tg.fail_every("sendMessage", 3, status=502)  # calls 3, 6, ...
    outcomes: list[str] = []
    for n in range(1, 8):
        try:
            await bot.send_message(USER_ID, f"m{n}")
            outcomes.append("ok")
        except TelegramRetryAfter as error:
            outcomes.append(f"429 after {error.retry_after}")
        except TelegramServerError:
            outcomes.append("5xx")
    assert outcomes == ["ok", "429 after 4", "5xx", "ok", "ok", "5xx", "ok"]
    assert tg.texts(USER_ID) == ["m1", "m4", "m5", "m7"]  # refused calls are not delivered
    assert len(tg.calls("sendMessage")) == 7 and tg.schedule.injected == 3
    tg.clear_faults()
    await bot.send_message(USER_ID, "m9")
    assert tg.sent_counts() == {USER_ID: 5}


async def test_blocked_chats_answer_403_with_their_reason(tg: FakeTelegram, bot: Bot) -> None:
    tg.block(USER_ID + 1, "Forbidden: user is deactivated")
    with pytest.raises(TelegramForbiddenError, match="deactivated"):
        await bot.send_photo(USER_ID + 1, BufferedInputFile(b"\xff\xd8", "a.jpg"), caption="x")
    assert tg.sent(USER_ID + 1) == []


async def test_rate_limit_per_chat_and_overall(tg: FakeTelegram, bot: Bot) -> None:
    tg.rate_limit(per_second=100, per_chat_per_second=1)
    await bot.send_message(USER_ID, "first")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(USER_ID, "second in the same second")
    await bot.send_message(USER_ID + 1, "another chat")
    assert tg.sent_counts() == {USER_ID: 1, USER_ID + 1: 1}
    assert (tg.throttled, tg.limits.passed) == (1, 2)
