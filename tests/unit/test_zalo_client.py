"""The Zalo client: every answer checked for `ok`, failures classified, the token kept out."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from bot.zalo.client import (
    ZaloClient,
    ZaloPermanent,
    ZaloRetryAfter,
    ZaloTemporary,
    unwrap_update,
)

TOKEN = "2718281828459:zaloSECRETpart-abcdefgh"
UPDATE = {
    "event_name": "message.text.received",
    "message": {"from": {"id": "u1"}, "chat": {"id": "u1"}, "text": "hi", "message_id": "m1"},
}
Respond = Callable[[httpx.Request], httpx.Response]


def client(respond: Respond) -> ZaloClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(respond))
    return ZaloClient(TOKEN, "https://zalo.test/", http)


def answer(status: int, body: Any) -> Respond:
    return lambda request: httpx.Response(status, json=body)


async def test_calls_post_json_to_the_method_url() -> None:
    seen: list[httpx.Request] = []

    def respond(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True, "result": {"message_id": "x"}})

    result = await client(respond).send_message("u1", "Xin chào")
    assert result == {"message_id": "x"}
    [request] = seen
    assert request.method == "POST"
    assert str(request.url) == f"https://zalo.test/bot{TOKEN}/sendMessage"
    assert json.loads(request.content) == {"chat_id": "u1", "text": "Xin chào"}


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (429, {"ok": False, "error_code": 429, "description": "quota"}, ZaloRetryAfter),
        (200, {"ok": False, "error_code": 429, "description": "quota"}, ZaloRetryAfter),
        (500, {"ok": False, "error_code": 500, "description": "oops"}, ZaloTemporary),
        (200, {"ok": False, "error_code": 500, "description": "oops"}, ZaloTemporary),
        (502, "<html>bad gateway</html>", ZaloTemporary),
        (200, "not json", ZaloTemporary),
        (200, {"result": {"message_id": "x"}}, ZaloTemporary),  # no `ok`: not a success
        (400, {"ok": False, "error_code": 400, "description": "bad"}, ZaloPermanent),
        (401, {"ok": False, "error_code": 401, "description": "Unauthorized"}, ZaloPermanent),
        (200, {"ok": False, "error_code": 403, "description": "blocked"}, ZaloPermanent),
        (200, {"ok": False, "error_code": 404, "description": "no chat"}, ZaloPermanent),
        (200, {"ok": False, "description": "mystery"}, ZaloPermanent),
        (200, {"ok": False, "error_code": -201, "description": "invalid"}, ZaloPermanent),
    ],
)
async def test_failures_are_classified(status: int, body: Any, expected: type[Exception]) -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(status, text=body)
        return httpx.Response(status, json=body)

    with pytest.raises(expected) as caught:
        await client(respond).send_message("u1", "x")
    assert TOKEN not in str(caught.value)


async def test_retry_after_is_read_when_given() -> None:
    body = {"ok": False, "error_code": 429, "parameters": {"retry_after": 7}}
    with pytest.raises(ZaloRetryAfter) as caught:
        await client(answer(429, body)).send_message("u1", "x")
    assert caught.value.retry_after == 7.0


@pytest.mark.parametrize(
    "error", [httpx.ConnectError, httpx.ReadTimeout, httpx.RemoteProtocolError]
)
async def test_network_errors_are_temporary_and_never_show_the_url(
    error: type[httpx.TransportError],
) -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        raise error(f"failed for {request.url}", request=request)

    with pytest.raises(ZaloTemporary) as caught:
        await client(respond).get_me()
    assert TOKEN not in str(caught.value) and TOKEN.split(":")[1] not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


@pytest.mark.parametrize(
    ("status", "body"),
    [(408, {"ok": False, "error_code": 408, "description": "Request timeout"}),
     (200, {"ok": False, "error_code": 408, "description": "Request timeout"}),
     (408, None),
     (200, {"ok": True, "result": None})],
)
async def test_get_updates_without_an_update_is_none(status: int, body: Any) -> None:
    respond = answer(status, body) if body is not None else (lambda r: httpx.Response(408))
    assert await client(respond).get_updates(timeout=1) is None


@pytest.mark.parametrize(
    "body", [{"ok": True, "result": UPDATE}, UPDATE, {"ok": True, "result": [UPDATE]}]
)
async def test_get_updates_wrapped_or_flat(body: Any) -> None:
    assert await client(answer(200, body)).get_updates(timeout=1) == UPDATE


async def test_408_outside_get_updates_is_temporary() -> None:
    with pytest.raises(ZaloTemporary):
        await client(answer(408, {"ok": False, "error_code": 408})).send_message("u1", "x")


def test_unwrap_update_tolerates_both_shapes() -> None:
    assert unwrap_update({"ok": True, "result": UPDATE}) == UPDATE
    assert unwrap_update(UPDATE) == UPDATE
    assert unwrap_update({"ok": False, "result": UPDATE}) is None
    assert unwrap_update({"hello": 1}) is None
    assert unwrap_update("text") is None


async def test_send_photo_sends_the_url_and_caption() -> None:
    seen: list[dict[str, Any]] = []

    def respond(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(200, json={"ok": True, "result": {}})

    await client(respond).send_photo("u1", "https://x/media/a", "Ảnh")
    assert seen == [{"chat_id": "u1", "photo": "https://x/media/a", "caption": "Ảnh"}]


def test_httpx_request_lines_are_not_logged_at_info() -> None:
    logging.getLogger("httpx").setLevel(logging.NOTSET)
    client(answer(200, {}))
    assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
