"""Zalo updates -> `Incoming`; the poller retries a failed handling before fetching more."""

from __future__ import annotations

import asyncio
import unicodedata
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.zalo.client import ZaloTemporary
from bot.zalo.polling import ZaloPoller
from bot.zalo.translate import ZaloTranslator
from handlers.types import Incoming, Kind
from storage.media import FileMediaStore

IMAGES = {
    "https://cdn.zalo.test/ok.jpg": httpx.Response(
        200, content=b"\xff\xd8img", headers={"content-type": "image/jpeg"}
    ),
    "https://cdn.zalo.test/big.jpg": httpx.Response(200, content=b"x" * 5000),
    "https://cdn.zalo.test/gone.jpg": httpx.Response(404),
    "https://cdn.zalo.test/down.jpg": httpx.Response(503),
    "https://cdn.zalo.test/voice.aac": httpx.Response(
        200, content=b"aac", headers={"content-type": "audio/aac"}
    ),
}


def update(event: str, chat_type: str = "PRIVATE", **content: Any) -> dict[str, Any]:
    return {
        "event_name": event,
        "message": {
            "from": {"id": "f00d", "display_name": "Lan", "is_bot": False},
            "chat": {"id": "c0ffee", "chat_type": chat_type},
            "message_id": "m42",
            "date": 1750316131602,
            **content,
        },
    }


@pytest.fixture
def translator(tmp_path: Path) -> ZaloTranslator:
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: IMAGES[str(r.url)]))
    return ZaloTranslator(FileMediaStore(tmp_path, 1000), 1000, http)


async def test_text_is_nfc_with_a_stable_key(translator: ZaloTranslator) -> None:
    nfd = unicodedata.normalize("NFD", "Trật tự đô thị")
    got = await translator.incoming(update("message.text.received", text=nfd))
    assert got == Incoming("zalo", "message.text.received:m42", "c0ffee", "f00d", "Lan",
                           Kind.TEXT, text="Trật tự đô thị")


@pytest.mark.parametrize("field", ["photo_url", "photo"])
async def test_an_image_is_fetched_into_the_store(translator: ZaloTranslator, field: str) -> None:
    got = await translator.incoming(
        update("message.image.received", caption="Hiện trường",
               **{field: "https://cdn.zalo.test/ok.jpg"})
    )
    assert got is not None and got.kind is Kind.PHOTO and got.text == "Hiện trường"
    assert got.media is not None and got.media.size == 5 and got.media.mime == "image/jpeg"
    assert got.update_key == "message.image.received:m42"


async def test_image_edge_cases(translator: ZaloTranslator) -> None:
    big = await translator.incoming(
        update("message.image.received", photo_url="https://cdn.zalo.test/big.jpg"))
    gone = await translator.incoming(
        update("message.image.received", photo_url="https://cdn.zalo.test/gone.jpg"))
    missing = await translator.incoming(update("message.image.received"))
    assert big is not None and big.kind is Kind.MEDIA_TOO_LARGE
    assert gone is not None and gone.kind is Kind.UNSUPPORTED
    assert missing is not None and missing.kind is Kind.UNSUPPORTED



async def test_a_file_zalo_will_not_give_is_tried_again_then_answered_send_it_again(
    tmp_path: Path,
) -> None:
    """A few tries within seconds, then "Bot không tải được tệp này. Hãy gửi lại.": the update
    is answered, and no broken file holds the channel (polling handles updates one by one)."""
    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        if "html" in str(request.url):
            return httpx.Response(200, text="<html>lỗi</html>",
                                  headers={"content-type": "text/html"})
        if "reset" in str(request.url):
            raise httpx.ReadError("connection reset")
        return httpx.Response(503)

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    translator = ZaloTranslator(FileMediaStore(tmp_path, 1000), 1000, http, (0.0, 0.0))
    for url, tries in (("https://cdn.zalo.test/down.jpg", 3),
                       ("https://cdn.zalo.test/reset.jpg", 3),
                       ("https://cdn.zalo.test/html.jpg", 1), ("http://[::1", 0)):
        asked.clear()
        got = await translator.incoming(update("message.image.received", photo_url=url))
        assert got is not None and got.kind is Kind.MEDIA_FAILED, url
        assert len(asked) == tries, url
    assert not list(tmp_path.rglob("*.*"))  # nothing stored


async def test_voice_sticker_and_withheld_content(translator: ZaloTranslator) -> None:
    voice = await translator.incoming(
        update("message.voice.received", voice_url="https://cdn.zalo.test/voice.aac"))
    assert voice is not None and voice.kind is Kind.VOICE and voice.media is not None
    for event in ("message.voice.received", "message.sticker.received",
                  "message.unsupported.received"):
        got = await translator.incoming(update(event))
        assert got is not None and got.kind is Kind.UNSUPPORTED


async def test_unknown_events_groups_and_bots_are_ignored(translator: ZaloTranslator) -> None:
    assert await translator.incoming(update("message.reaction.received")) is None
    assert await translator.incoming({"nothing": "here"}) is None
    assert await translator.incoming(update("message.text.received", "GROUP", text="x")) is None
    from_bot = update("message.text.received", text="x")
    from_bot["message"]["from"]["is_bot"] = True
    assert await translator.incoming(from_bot) is None


class FlakyConversation:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.handled: list[Incoming] = []

    async def handle(self, incoming: Incoming) -> bool:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("database is down")
        self.handled.append(incoming)
        return True


async def test_the_poller_retries_a_failed_handling(translator: ZaloTranslator) -> None:
    naps: list[float] = []

    async def sleep(seconds: float) -> None:
        naps.append(seconds)

    conversation = FlakyConversation(failures=3)
    poller = ZaloPoller(None, translator, conversation, sleep=sleep)  # type: ignore[arg-type]
    await poller.handle(update("message.text.received", text="xin chào"))
    assert [i.text for i in conversation.handled] == ["xin chào"]
    assert naps == [1.0, 2.0, 4.0]


async def test_the_poller_gives_up_on_a_poisoned_update(translator: ZaloTranslator) -> None:
    async def sleep(seconds: float) -> None:
        return None

    conversation = FlakyConversation(failures=100)
    poller = ZaloPoller(None, translator, conversation, sleep=sleep)  # type: ignore[arg-type]
    await poller.handle(update("message.text.received", text="x"))
    assert conversation.handled == [] and conversation.failures == 100 - 8


class FailingUpdates:
    """A Zalo client whose getUpdates fails; each failure takes `took[i]` seconds."""

    def __init__(self, took: list[float], now: list[float]) -> None:
        self.took, self.now = took, now

    async def delete_webhook(self) -> None:
        return None

    async def get_updates(self, timeout: int) -> None:
        if not self.took:
            raise asyncio.CancelledError  # the test is over
        self.now[0] += self.took.pop(0)
        raise ZaloTemporary("getUpdates", 0, "timed out")


async def test_the_poller_doubles_pauses_only_after_quick_failures(
    translator: ZaloTranslator,
) -> None:
    now, naps = [0.0], []

    async def sleep(seconds: float) -> None:
        naps.append(seconds)

    # Two quick failures, three cut off after a long poll's length, two quick ones again.
    client = FailingUpdates([0.1, 0.1, 30.0, 400_000.0, 30.0, 0.1, 0.1], now)
    poller = ZaloPoller(client, translator, FlakyConversation(0), timeout=30,  # type: ignore[arg-type]
                        sleep=sleep, clock=lambda: now[0])
    with pytest.raises(asyncio.CancelledError):
        await poller.run()
    assert naps == [1.0, 2.0, 1.0, 1.0, 1.0, 1.0, 2.0]


class SlowConversation:
    """Handles an update only when `release` is set (a slow database, a photo to fetch)."""

    def __init__(self) -> None:
        self.started, self.release = asyncio.Event(), asyncio.Event()
        self.handled: list[Incoming] = []

    async def handle(self, incoming: Incoming) -> bool:
        self.started.set()
        await self.release.wait()
        self.handled.append(incoming)
        return True


class OneUpdate:
    """A Zalo client with one update to give, then a long poll with nothing."""

    def __init__(self, pending: dict[str, Any]) -> None:
        self.pending = [pending]

    async def delete_webhook(self) -> None:
        return None

    async def get_updates(self, timeout: int) -> dict[str, Any]:
        if self.pending:
            return self.pending.pop()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def test_a_stop_lets_the_update_in_hand_finish(translator: ZaloTranslator) -> None:
    """Zalo no longer holds an update it handed over: cancelled halfway, it would be lost."""
    conversation = SlowConversation()
    client = OneUpdate(update("message.text.received", text="xin chào"))
    poller = ZaloPoller(client, translator, conversation)  # type: ignore[arg-type]
    polling = asyncio.create_task(poller.run())
    await conversation.started.wait()
    polling.cancel()  # the service stops
    await asyncio.sleep(0.01)
    assert not polling.done()
    conversation.release.set()
    with pytest.raises(asyncio.CancelledError):
        await polling
    assert [i.text for i in conversation.handled] == ["xin chào"]


async def test_a_stop_waits_for_the_update_in_hand_only_so_long(
    translator: ZaloTranslator, caplog: pytest.LogCaptureFixture
) -> None:
    conversation = SlowConversation()  # never released
    client = OneUpdate(update("message.text.received", text="xin chào"))
    poller = ZaloPoller(client, translator, conversation, stop_grace=0.05)  # type: ignore[arg-type]
    polling = asyncio.create_task(poller.run())
    await conversation.started.wait()
    polling.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(polling, 5)
    assert conversation.handled == [] and "it is lost" in caplog.text
