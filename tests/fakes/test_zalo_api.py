"""The fake Zalo Bot API behaves like the documented one (so the Zalo tests mean something)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp import web

from tests.fakes.zalo_api import SECRET_HEADER, FakeZalo


@pytest.fixture
async def zalo() -> AsyncIterator[FakeZalo]:
    async with FakeZalo() as server:
        yield server


async def call(zalo: FakeZalo, method: str, token: str | None = None, **params: Any
               ) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as http:
        url = f"{zalo.base_url}/bot{token or zalo.token}/{method}"
        return await http.post(url, json=params)


async def test_get_updates_hands_out_one_update_per_call_then_408(zalo: FakeZalo) -> None:
    lan = zalo.user("u1", "Lan")
    await lan.send_text("một")
    await lan.send_text("hai")
    first = (await call(zalo, "getUpdates", timeout=1)).json()
    second = (await call(zalo, "getUpdates", timeout=1)).json()
    assert first["ok"] and first["result"]["message"]["text"] == "một"
    assert first["result"]["event_name"] == "message.text.received"
    assert second["result"]["message"]["text"] == "hai"
    empty = await call(zalo, "getUpdates", timeout=0.2)
    assert empty.status_code == 408 and empty.json()["error_code"] == 408


async def test_long_poll_returns_as_soon_as_a_message_arrives(zalo: FakeZalo) -> None:
    pending = asyncio.create_task(call(zalo, "getUpdates", timeout=5))
    await asyncio.sleep(0.1)
    await zalo.user("u2", "Bảo").send_text("chào")
    answer = await asyncio.wait_for(pending, 2)
    assert answer.json()["result"]["message"]["chat"]["id"] == "u2"


async def test_flat_bodies(zalo: FakeZalo) -> None:
    zalo.flat = True
    await zalo.user("u3", "Lan").send_text("phẳng")
    body = (await call(zalo, "getUpdates", timeout=1)).json()
    assert "ok" not in body and body["message"]["text"] == "phẳng"


async def test_send_message_limits_and_known_chats(zalo: FakeZalo) -> None:
    assert (await call(zalo, "sendMessage", chat_id="nobody", text="hi")).json()["ok"] is False
    lan = zalo.user("u4", "Lan")
    await lan.send_text("xin chào")
    ok = await call(zalo, "sendMessage", chat_id="u4", text="x" * 2000)
    assert ok.json()["ok"] is True and zalo.texts("u4") == ["x" * 2000]
    for text in ("", "   ", "x" * 2001):
        refused = await call(zalo, "sendMessage", chat_id="u4", text=text)
        assert refused.status_code == 400 and refused.json()["ok"] is False


async def test_wrong_token_is_401(zalo: FakeZalo) -> None:
    answer = await call(zalo, "getMe", token="1:wrong")
    assert answer.status_code == 401 and answer.json()["error_code"] == 401


async def test_fault_injection_with_http_200(zalo: FakeZalo) -> None:
    await zalo.user("u5", "Lan").send_text("hi")
    zalo.fail_next("sendMessage", error_code=500, http_status=200, times=2)
    for _ in range(2):
        failed = await call(zalo, "sendMessage", chat_id="u5", text="a")
        assert failed.status_code == 200 and failed.json() == {
            "ok": False, "error_code": 500, "description": "Internal Server Error"}
    assert (await call(zalo, "sendMessage", chat_id="u5", text="a")).json()["ok"] is True
    assert zalo.texts("u5") == ["a"]


async def test_send_photo_fetches_the_url(zalo: FakeZalo) -> None:
    await zalo.user("u6", "Lan").send_text("hi")
    url = zalo.host_file(b"\xff\xd8pic", "image/jpeg")
    ok = await call(zalo, "sendPhoto", chat_id="u6", photo=url, caption="ảnh")
    assert ok.json()["ok"] is True
    [sent] = zalo.sent("u6")
    assert sent.photo == b"\xff\xd8pic" and sent.text == "ảnh"
    bad = await call(zalo, "sendPhoto", chat_id="u6", photo=zalo.base_url + "/files/nope")
    assert bad.json()["ok"] is False and len(zalo.sent("u6")) == 1


async def test_webhook_delivery_with_the_secret_header(zalo: FakeZalo) -> None:
    received: list[tuple[str | None, Any]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((request.headers.get(SECRET_HEADER), await request.json()))
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        short = await call(zalo, "setWebhook", url=url, secret_token="short")
        assert short.json()["ok"] is False
        assert (await call(zalo, "setWebhook", url=url, secret_token="s3cret-hook")).json()["ok"]
        assert (await call(zalo, "getWebhookInfo")).json()["result"]["url"] == url
        refused = await call(zalo, "getUpdates", timeout=0)
        assert refused.json()["ok"] is False
        await zalo.user("u7", "Lan").send_text("qua webhook")
        [(secret, body)] = received
        assert secret == "s3cret-hook" and body["result"]["message"]["text"] == "qua webhook"
        assert (await call(zalo, "deleteWebhook")).json()["ok"] is True
        assert zalo.webhook_url is None
    finally:
        await runner.cleanup()


async def test_scheduled_failures_blocked_chats_and_the_rate_limit(zalo: FakeZalo) -> None:
    for chat in ("u8", "u9"):
        await zalo.user(chat, "Lan").send_text("hi")
    zalo.fail_calls("sendMessage", [2], error_code=429, retry_after=3)
    zalo.fail_every("sendMessage", 3, error_code=500)
    answers = [(await call(zalo, "sendMessage", chat_id="u8", text=f"m{n}")).json()
               for n in range(1, 5)]
    assert [a["ok"] for a in answers] == [True, False, False, True]
    assert answers[1]["error_code"] == 429 and answers[1]["parameters"] == {"retry_after": 3}
    assert answers[2]["error_code"] == 500
    assert zalo.texts("u8") == ["m1", "m4"]  # refused calls are not delivered
    zalo.clear_faults()

    zalo.block("u9")
    blocked = await call(zalo, "sendMessage", chat_id="u9", text="x")
    assert blocked.status_code == 403 and blocked.json()["error_code"] == 403
    assert zalo.sent("u9") == []
    zalo.unblock("u9")

    zalo.rate_limit(per_second=2)
    assert (await call(zalo, "sendMessage", chat_id="u9", text="a")).json()["ok"]
    assert (await call(zalo, "sendMessage", chat_id="u8", text="b")).json()["ok"]
    throttled = await call(zalo, "sendMessage", chat_id="u9", text="c")
    assert throttled.status_code == 429
    assert throttled.json()["parameters"]["retry_after"] >= 1
    assert zalo.throttled == 1 and zalo.sent_counts() == {"u8": 3, "u9": 1}
