"""A fake Zalo Bot Platform API server on 127.0.0.1, for tests (see reference/messaging-platforms).

``async with FakeZalo() as zalo:`` serves ``POST {zalo.base_url}/bot{TOKEN}/{method}`` (JSON
bodies). Every call is recorded (``zalo.requests``, ``zalo.calls(method)``); what the bot sent is
kept per chat (``zalo.sent(chat_id)``, ``zalo.texts(chat_id)``); ``zalo.user(id, name)`` plays a
person (``zalo_users.py``). Like Zalo:

- answers are ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code", "description"}``;
- ``getUpdates`` hands out **one** update per call (no offset) and, after ``timeout`` seconds
  without one, answers 408 (``no_update_status`` sets the HTTP status: 408, or 200 as seen live);
  it is refused while a webhook is set;
- ``sendMessage`` wants 1–2000 characters (counted as given: NFD text is longer) and only to a
  chat that wrote to the bot first; ``sendPhoto`` fetches the photo URL itself, so a bad or
  expired link fails as it would on Zalo;
- ``setWebhook`` wants a URL and an 8–256 character secret, then POSTs every update to the URL
  with ``X-Bot-Api-Secret-Token`` (retrying a non-2xx answer ``webhook_attempts`` times).

Faults: ``fail_next(method, error_code, times, http_status)`` (e.g. 429, 500, 403; HTTP 200 with
``ok: false`` via ``http_status=200``), ``fail_calls`` / ``fail_every`` (chosen calls by number:
the N-th, every N-th), ``block(chat_id)`` (the chat answers 403), ``rate_limit(per_second,
per_chat_per_second)`` (429 with ``retry_after`` beyond a rate per sliding second, on sends),
``delay(method, seconds)``. A call answered with a fault is recorded in ``requests`` but never
delivered (``sent``). ``flat=True`` sends updates without the ``{ok, result}`` wrapper, as live
traffic has been seen to.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Self

from aiohttp import ClientError, ClientSession, ClientTimeout, web

from tests.fakes.limits import Fault, FaultSchedule, RateLimit
from tests.fakes.zalo_users import FakeZaloUser

DEFAULT_TOKEN = "3141592653589793238:zaloTEST-abcdefghijklmnopqrstuv"
SECRET_HEADER = "X-Bot-Api-Secret-Token"
TEXT_LIMIT = 2000
Params = dict[str, Any]


class ApiCall(NamedTuple):
    method: str
    params: Params


@dataclass
class ZaloSent:
    """One message the bot sent: a text, or a photo (fetched from its URL) with a caption."""

    method: str
    chat_id: str
    message_id: str
    text: str | None
    photo_url: str | None = None
    photo: bytes | None = None
    params: Params = field(default_factory=dict)


@dataclass
class Delivery:
    url: str
    status: int  # 0 when the webhook could not be reached
    attempt: int


class ApiError(Exception):
    def __init__(self, error_code: int, description: str, http_status: int | None = None,
                 retry_after: int | None = None) -> None:
        super().__init__(description)
        self.error_code, self.description = error_code, description
        self.http_status = http_status if http_status is not None else error_code
        self.retry_after = retry_after

    def response(self) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": self.error_code,
                                "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return web.json_response(body, status=self.http_status)


@dataclass
class _Fault:
    error_code: int
    http_status: int
    description: str
    remaining: int
    retry_after: int | None = None


_DESCRIPTIONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
                 429: "Quota exceeded", 500: "Internal Server Error", 502: "Bad Gateway"}
_SEND_METHODS = frozenset({"sendmessage", "sendphoto", "sendsticker", "sendvoice"})
_CHAT_METHODS = _SEND_METHODS | {"sendchataction"}
BLOCKED = "Forbidden: the user has blocked the bot"


class FakeZalo:
    def __init__(self, token: str = DEFAULT_TOKEN, *, flat: bool = False,
                 no_update_status: int = 408, webhook_attempts: int = 3) -> None:
        self.token = token
        self.flat = flat
        self.no_update_status = no_update_status
        self.webhook_attempts = webhook_attempts
        self.base_url = ""
        self.requests: list[ApiCall] = []
        self.deliveries: list[Delivery] = []
        self.known_chats: set[str] = set()  # chats that wrote to the bot: it may answer them
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self._sent: dict[str, list[ZaloSent]] = {}
        self._queue: deque[dict[str, Any]] = deque()
        self._cond = asyncio.Condition()
        self._changed = asyncio.Event()
        self._faults: dict[str, deque[_Fault]] = {}
        self._delays: dict[str, float] = {}
        self._files: dict[str, tuple[bytes, str]] = {}
        self.file_delay = 0.0  # seconds before a hosted file is served (a slow CDN)
        self.file_requests = 0
        self._blocked: dict[str, str] = {}
        self.limits = RateLimit()  # rate_limit() sets it
        self.schedule = FaultSchedule()  # fail_calls() / fail_every() add to it
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._client: ClientSession | None = None

    # ---- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self._handle_api)
        app.router.add_get("/files/{name}", self._handle_file)
        # No access log: it is Zalo's, not ours, and its lines carry the token in the URL.
        self._runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        self._client = ClientSession(timeout=ClientTimeout(total=15))

    async def stop(self) -> None:
        self._closing = True
        async with self._cond:
            self._cond.notify_all()
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---- people and their messages ---------------------------------------------------------
    def user(self, id: str | None = None, display_name: str = "Người dùng") -> FakeZaloUser:
        return FakeZaloUser(self, id or secrets.token_hex(10), display_name)

    def host_file(self, data: bytes, content_type: str) -> str:
        """Serve ``data`` at a URL of the fake (as Zalo's CDN serves what users send)."""
        name = secrets.token_hex(8)
        self._files[name] = (data, content_type)
        return f"{self.base_url}/files/{name}"

    async def deliver(self, update: dict[str, Any]) -> None:
        """To the webhook when one is set, else into the getUpdates queue."""
        if self.webhook_url is None:
            async with self._cond:
                self._queue.append(update)
                self._cond.notify_all()
            return
        for attempt in range(1, self.webhook_attempts + 1):
            status = await self.post_update(update)
            self.deliveries.append(Delivery(self.webhook_url, status, attempt))
            if 200 <= status < 300:
                return
            await asyncio.sleep(0.05 * attempt)

    async def post_update(self, update: dict[str, Any], *, secret: str | None = None,
                          url: str | None = None) -> int:
        """POST one update as Zalo would (its secret header unless ``secret`` is given)."""
        assert self._client is not None
        target = url or self.webhook_url
        assert target is not None, "no webhook set"
        key = secret if secret is not None else self.webhook_secret
        headers = {SECRET_HEADER: key} if key else {}
        try:
            async with self._client.post(target, json=self.wrap(update), headers=headers) as resp:
                return resp.status
        except (ClientError, TimeoutError):
            return 0

    def wrap(self, update: dict[str, Any]) -> dict[str, Any]:
        return update if self.flat else {"ok": True, "result": update}

    # ---- recording -------------------------------------------------------------------------
    def calls(self, method: str) -> list[Params]:
        return [c.params for c in self.requests if c.method.lower() == method.lower()]

    def sent(self, chat_id: str) -> list[ZaloSent]:
        return self._sent.setdefault(str(chat_id), [])

    def sent_counts(self) -> dict[str, int]:
        """How many messages each chat received."""
        return {chat: len(messages) for chat, messages in self._sent.items() if messages}

    def texts(self, chat_id: str) -> list[str]:
        return [m.text for m in self.sent(chat_id) if m.text is not None]

    async def wait_for(self, condition: Callable[[], bool], timeout: float = 10.0,
                       what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"waited {timeout}s for {what}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(left, 0.1))

    # ---- fault injection -------------------------------------------------------------------
    def fail_next(self, method: str, error_code: int = 429, times: int = 1,
                  http_status: int | None = None, description: str | None = None,
                  retry_after: int | None = None) -> None:
        """Answer the next ``times`` calls of ``method`` ("*": any) with ``ok: false``."""
        text = description or _DESCRIPTIONS.get(error_code, "Error")
        status = error_code if http_status is None else http_status
        fault = _Fault(error_code, status, text, times, retry_after)
        self._faults.setdefault(method.lower(), deque()).append(fault)

    def fail_calls(self, method: str, calls: Collection[int], error_code: int = 429,
                   retry_after: int | None = 1, description: str | None = None) -> None:
        """Answer these calls of ``method`` ("*": any), numbered from 1 = the next one, with
        ``ok: false`` (HTTP status = ``error_code``; ``retry_after`` only with 429)."""
        self.schedule.add(method, _scheduled(error_code, retry_after, description), calls=calls)

    def fail_every(self, method: str, every: int, error_code: int = 429,
                   retry_after: int | None = 1, description: str | None = None,
                   start: int | None = None) -> None:
        """Answer every ``every``-th call of ``method`` from now on with ``ok: false`` (the
        first is call number ``start``, default ``every``). ``clear_faults()`` ends it."""
        self.schedule.add(method, _scheduled(error_code, retry_after, description), every=every,
                          start=start)

    def clear_faults(self) -> None:
        self._faults.clear()
        self.schedule.clear()

    def block(self, chat_id: str, description: str = BLOCKED) -> None:
        """Every send to this chat answers 403 (the person blocked the bot)."""
        self._blocked[str(chat_id)] = description

    def unblock(self, chat_id: str) -> None:
        self._blocked.pop(str(chat_id), None)

    def rate_limit(self, per_second: float | None = None,
                   per_chat_per_second: float | None = None) -> None:
        """Answer 429 (with ``retry_after``) to sends beyond these rates per sliding second."""
        self.limits = RateLimit(per_second, per_chat_per_second)

    @property
    def throttled(self) -> int:
        """How many sends ``rate_limit`` answered with 429."""
        return self.limits.throttled

    def delay(self, method: str, seconds: float) -> None:
        self._delays[method.lower()] = seconds

    def _fault(self, method: str) -> ApiError | None:
        for key in (method.lower(), "*"):
            faults = self._faults.get(key)
            if faults:
                fault = faults[0]
                fault.remaining -= 1
                if fault.remaining <= 0:
                    faults.popleft()
                return ApiError(fault.error_code, fault.description, fault.http_status,
                                fault.retry_after)
        return None

    def _refusal(self, method: str, params: Params) -> ApiError | None:
        """A scheduled fault, a blocked chat or the rate limit, in that order."""
        chat_id = str(params.get("chat_id") or "")
        if (scheduled := self.schedule.check(method, chat_id)) is not None:
            return ApiError(scheduled.status, scheduled.description, scheduled.status,
                            scheduled.retry_after)
        key = method.lower()
        if key in _CHAT_METHODS and chat_id in self._blocked:
            return ApiError(403, self._blocked[chat_id])
        if key in _SEND_METHODS and (retry := self.limits.check(chat_id)) is not None:
            return ApiError(429, f"Quota exceeded: retry after {retry}", 429, retry)
        return None

    # ---- HTTP ------------------------------------------------------------------------------
    async def _handle_file(self, request: web.Request) -> web.Response:
        found = self._files.get(request.match_info["name"])
        if found is None:
            raise web.HTTPNotFound()
        self.file_requests += 1
        self._changed.set()
        await asyncio.sleep(self.file_delay)
        return web.Response(body=found[0], content_type=found[1])

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        try:
            params = await request.json() if request.can_read_body else {}
        except ValueError:
            params = None
        self.requests.append(ApiCall(method, params if isinstance(params, dict) else {}))
        self._changed.set()
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            if not isinstance(params, dict):
                raise ApiError(400, "Bad Request: body is not a JSON object")
            if (seconds := self._delays.get(method.lower())) is not None:
                await asyncio.sleep(seconds)
            if (fault := self._fault(method) or self._refusal(method, params)) is not None:
                raise fault
            handler = getattr(self, "_m_" + method, None)
            if handler is None:
                raise ApiError(404, f"Not Found: method {method}")
            result = await handler(params)
        except ApiError as error:
            return error.response()
        finally:
            self._changed.set()
        if method == "getUpdates":
            return web.json_response(self.wrap(result))
        return web.json_response({"ok": True, "result": result})

    # ---- Bot API methods -------------------------------------------------------------------
    async def _m_getMe(self, p: Params) -> Any:
        return {"id": self.token.split(":")[0], "account_name": "bot.dlxh",
                "account_type": "BASIC", "can_join_groups": False}

    async def _m_getUpdates(self, p: Params) -> Any:
        if self.webhook_url is not None:
            raise ApiError(400, "Bad Request: webhook is set, getUpdates is not available")
        timeout = float(p.get("timeout") or 0)
        if not self._queue and timeout > 0 and not self._closing:
            async with self._cond:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._cond.wait_for(lambda: bool(self._queue) or self._closing), timeout
                    )
        if not self._queue:
            raise ApiError(408, "Request timeout", self.no_update_status)
        return self._queue.popleft()

    async def _m_setWebhook(self, p: Params) -> Any:
        url, secret = str(p.get("url") or ""), str(p.get("secret_token") or "")
        if not url.startswith(("https://", "http://127.0.0.1")):
            raise ApiError(400, "Bad Request: url must be HTTPS")
        if not 8 <= len(secret) <= 256:
            raise ApiError(400, "Bad Request: secret_token must be 8-256 characters")
        self.webhook_url, self.webhook_secret = url, secret
        while self._queue:  # pending updates go to the new webhook
            asyncio.get_running_loop().create_task(self.deliver(self._queue.popleft()))
        return {"url": url, "updated_at": int(time.time() * 1000)}

    async def _m_deleteWebhook(self, p: Params) -> Any:
        self.webhook_url = self.webhook_secret = None
        return {"url": "", "updated_at": int(time.time() * 1000)}

    async def _m_getWebhookInfo(self, p: Params) -> Any:
        return {"url": self.webhook_url or "", "updated_at": int(time.time() * 1000)}

    async def _m_sendChatAction(self, p: Params) -> Any:
        self._chat(p)
        return {}

    async def _m_sendMessage(self, p: Params) -> Any:
        chat_id = self._chat(p)
        text = p.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: text is empty")
        if len(text) > TEXT_LIMIT:
            raise ApiError(400, f"Bad Request: text is longer than {TEXT_LIMIT} characters")
        return self._record(ZaloSent("sendMessage", chat_id, secrets.token_hex(10), text,
                                     params=dict(p)))

    async def _m_sendPhoto(self, p: Params) -> Any:
        chat_id = self._chat(p)
        url, caption = p.get("photo"), p.get("caption")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ApiError(400, "Bad Request: photo must be a URL")
        if caption is not None and len(str(caption)) > TEXT_LIMIT:
            raise ApiError(400, "Bad Request: caption is too long")
        data = await self._fetch(url)
        return self._record(ZaloSent("sendPhoto", chat_id, secrets.token_hex(10),
                                     caption, url, data, dict(p)))

    def _chat(self, p: Params) -> str:
        chat_id = str(p.get("chat_id") or "")
        if chat_id not in self.known_chats:
            raise ApiError(400, "Bad Request: chat not found")
        return chat_id

    async def _fetch(self, url: str) -> bytes:
        assert self._client is not None
        try:
            async with self._client.get(url) as response:
                if response.status != 200:
                    status = response.status
                    raise ApiError(400, f"Bad Request: could not fetch the photo ({status})")
                return await response.read()
        except (ClientError, TimeoutError):
            raise ApiError(400, "Bad Request: could not fetch the photo") from None

    def _record(self, sent: ZaloSent) -> dict[str, Any]:
        self.sent(sent.chat_id).append(sent)
        return {"message_id": sent.message_id, "date": int(time.time() * 1000)}


def _scheduled(error_code: int, retry_after: int | None, description: str | None) -> Fault:
    text = description or _DESCRIPTIONS.get(error_code, "Error")
    return Fault(error_code, retry_after if error_code == 429 else None, text)
