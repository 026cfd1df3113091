"""A fake Telegram Bot API server for tests and benchmarks.

The real aiogram ``Bot`` talks HTTP to it (``tg.make_bot()``, or ``Bot(token,
session=AiohttpSession(api=TelegramAPIServer.from_base(tg.base_url)))``). Everything the bot
sends is recorded (``tg.requests``, ``tg.sent(chat_id)``); ``tg.user(...)`` plays a person
(see ``telegram_users.py``). Faults: ``fail_next`` (the next calls), ``fail_calls`` /
``fail_every`` (chosen calls by number: the N-th, every N-th), ``block`` (a chat answers 403),
``delay``, ``rate_limit`` (429 beyond a rate per sliding second, overall and per chat). A call
answered with a fault is recorded in ``requests`` but never delivered (``sent``).

Request encoding (aiogram 3.31 ``AiohttpSession.build_form_data``): every call is a POST of
``FormData``; url-encoded when nothing is uploaded, multipart otherwise. Plain strings are sent
raw, every other value is JSON-encoded (ints as ``"5"``, bools as ``"true"``, markups as
objects), ``None``/empty values are omitted, and an uploaded ``InputFile`` always travels as a
part with a random name referenced by ``"attach://<name>"`` -- also for top-level ``photo``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from html import unescape
from typing import Any, NamedTuple, Self, TypeVar

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiohttp import ClientError, ClientSession, ClientTimeout, web
from aiohttp.web_request import FileField

from tests.fakes.limits import Fault, FaultSchedule, RateLimit
from tests.fakes.telegram_users import FakeUser

DEFAULT_TOKEN = "123456:TEST-token-abcdefghijklmnopqrstu"
BOT_ID = 123456
T = TypeVar("T")
Params = dict[str, Any]

_JSON_FIELDS = frozenset(
    {"reply_markup", "media", "entities", "caption_entities", "allowed_updates",
     "link_preview_options", "reply_parameters", "commands", "scope", "menu_button"}
)
_INT_FIELDS = frozenset(
    {"chat_id", "message_id", "offset", "limit", "timeout", "duration", "cache_time",
     "max_connections", "reply_to_message_id", "message_thread_id", "width", "height"}
)
_BOOL_FIELDS = frozenset(
    {"show_alert", "drop_pending_updates", "disable_notification", "protect_content",
     "disable_web_page_preview", "allow_sending_without_reply", "has_spoiler",
     "allow_paid_broadcast", "show_caption_above_media"}
)
_CHAT_METHODS = frozenset(
    {"sendMessage", "sendPhoto", "sendMediaGroup", "sendVoice", "sendDocument",
     "sendChatAction", "editMessageText", "editMessageReplyMarkup", "deleteMessage"}
)
_SEND_METHODS = frozenset(m for m in _CHAT_METHODS if m.startswith("send")) - {"sendChatAction"}
_HTML_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
     "code", "pre", "blockquote", "tg-emoji"}
)
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_TAG_RE = re.compile(r"<(/?)([a-zA-Z-]+)(?:\s[^<>]*)?>")
_ENTITY_RE = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|lt|gt|amp|quot);")


class ApiCall(NamedTuple):
    method: str
    params: Params


class InlineButton(NamedTuple):  # equal to a plain (text, callback_data) tuple
    text: str
    callback_data: str | None  # None for url buttons


class ReplyButton(NamedTuple):  # equal to a plain (text, request_location) tuple
    text: str
    request_location: bool = False


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str
    mime_type: str | None = None
    url: str | None = None  # set when the bot sent a URL the fake never fetches


@dataclass
class SentMessage:
    """One message the bot sent (an album gives one per item, sharing media_group_id)."""

    method: str
    chat_id: int
    message_id: int
    text: str | None  # text or caption, as sent (HTML tags kept); see .plain
    parse_mode: str | None
    buttons: list[list[InlineButton]]
    keyboard: list[list[ReplyButton]]
    remove_keyboard: bool
    file_ids: list[str]
    media_group_id: str | None
    params: Params
    message: dict[str, Any]  # the Message object answered to the bot, kept current on edits
    edits: list[Params] = field(default_factory=list)
    deleted: bool = False

    @property
    def photos(self) -> int:
        return len(self.file_ids) if self.method in {"sendPhoto", "sendMediaGroup"} else 0

    @property
    def plain(self) -> str:
        return _plain(self.text or "", self.parse_mode)

    @property
    def button_texts(self) -> list[str]:
        return [b.text for row in self.buttons for b in row] + [
            b.text for row in self.keyboard for b in row
        ]


@dataclass
class Delivery:
    update_id: int
    url: str
    status: int  # 0 when the webhook could not be reached
    attempt: int


class ApiError(Exception):
    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.retry_after = status, description, retry_after

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": False, "error_code": self.status,
                               "description": self.description}
        if self.retry_after is not None:
            out["parameters"] = {"retry_after": self.retry_after}
        return out


@dataclass
class _Fault:
    status: int
    retry_after: int | None
    description: str
    remaining: int
    chat_id: int | None = None  # only calls for this chat, if given


@dataclass
class _Webhook:
    url: str
    secret: str | None
    redeliver: bool = True
    attempts: int = 3
    retry_delay: float = 0.05


def bad_request(text: str) -> ApiError:
    return ApiError(400, f"Bad Request: {text}")


def _check_html(text: str) -> None:
    stack: list[str] = []
    pos = 0
    for m in _TAG_RE.finditer(text):
        _check_plain_segment(text[pos : m.start()])
        pos = m.end()
        closing, name = m.group(1) == "/", m.group(2).lower()
        if name not in _HTML_TAGS:
            raise bad_request(f'can\'t parse entities: Unsupported start tag "{name}"')
        if not closing:
            stack.append(name)
        elif not stack or stack.pop() != name:
            raise bad_request(f'can\'t parse entities: Unexpected end tag "{name}"')
    _check_plain_segment(text[pos:])
    if stack:
        raise bad_request(
            f'can\'t parse entities: Can\'t find end tag corresponding to "{stack[-1]}"'
        )


def _check_plain_segment(segment: str) -> None:
    if "<" in segment or ">" in segment:
        raise bad_request("can't parse entities: Unsupported start tag or unescaped '<'")
    if "&" in _ENTITY_RE.sub("", segment):
        raise bad_request("can't parse entities: Unsupported HTML entity or unescaped '&'")


def _plain(text: str, parse_mode: str | None) -> str:
    if (parse_mode or "").upper() != "HTML":
        return text
    return unescape(_TAG_RE.sub("", text))


def _decode(key: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if key in _JSON_FIELDS:
        return json.loads(value)
    if key in _INT_FIELDS and re.fullmatch(r"-?\d+", value):
        return int(value)
    if key in _BOOL_FIELDS and value in {"true", "false"}:
        return value == "true"
    return value


class FakeTelegram:
    """``async with FakeTelegram() as tg:`` serves the Bot API on 127.0.0.1:<free port>."""

    def __init__(self, token: str = DEFAULT_TOKEN, *, bot_username: str = "dlxh_test_bot",
                 strict_chats: bool = False) -> None:
        self.token = token
        self.bot_user = {"id": BOT_ID, "is_bot": True, "first_name": "DLXH test bot",
                         "username": bot_username}
        self.strict_chats = strict_chats
        self.base_url = ""
        self.requests: list[ApiCall] = []
        self.files: dict[str, StoredFile] = {}
        self.callback_ids: set[str] = set()  # callback queries users made
        self.callback_answers: dict[str, Params] = {}  # callback_query_id -> answer params
        self.deliveries: list[Delivery] = []
        self.updates: list[dict[str, Any]] = []  # every update ever created, in order
        self.limits = RateLimit()  # rate_limit() sets it
        self.schedule = FaultSchedule()  # fail_calls() / fail_every() add to it
        self.chats: dict[int, dict[str, Any]] = {}
        self._sent: dict[int, list[SentMessage]] = {}
        self._msg_ids: dict[int, int] = {}
        self._queue: list[dict[str, Any]] = []
        self._cond = asyncio.Condition()
        self._closing = False
        self._faults: dict[str, deque[_Fault]] = {}
        self._delays: dict[str, float] = {}
        self._blocked: dict[int, str] = {}
        self._webhook: _Webhook | None = None
        self._users: dict[int, FakeUser] = {}
        self._counters: dict[str, int] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runner: web.AppRunner | None = None
        self._client: ClientSession | None = None
        self._methods: dict[str, Callable[[Params], Awaitable[Any]]] = {}
        for name in ("getMe", "getUpdates", "setWebhook", "deleteWebhook", "getWebhookInfo",
                     "sendMessage", "sendPhoto", "sendMediaGroup", "sendVoice", "sendDocument",
                     "sendChatAction", "answerCallbackQuery", "editMessageText",
                     "editMessageReplyMarkup", "deleteMessage", "getFile", "setMyCommands",
                     "deleteMyCommands", "close", "logOut"):
            self._methods[name.lower()] = getattr(self, "_m_" + name)

    # ---- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        self._client = ClientSession(timeout=ClientTimeout(total=30))

    async def stop(self) -> None:
        self._closing = True
        async with self._cond:
            self._cond.notify_all()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def make_bot(self, **kwargs: Any) -> Bot:
        """An aiogram ``Bot`` wired to this server (close it with ``await bot.session.close()``)."""
        session = AiohttpSession(api=TelegramAPIServer.from_base(self.base_url))
        return Bot(self.token, session=session, **kwargs)

    # ---- recording -------------------------------------------------------------------------
    def calls(self, method: str) -> list[Params]:
        return [c.params for c in self.requests if c.method.lower() == method.lower()]

    def sent(self, chat_id: int) -> list[SentMessage]:
        return self._sent.setdefault(int(chat_id), [])

    def sent_counts(self) -> dict[int, int]:
        """How many messages each chat received (an album counts each of its items)."""
        return {chat: len(messages) for chat, messages in self._sent.items() if messages}

    def last(self, chat_id: int) -> SentMessage:
        sent = self.sent(chat_id)
        if not sent:
            raise LookupError(f"the bot sent nothing to chat {chat_id}")
        return sent[-1]

    def texts(self, chat_id: int) -> list[str]:
        return [m.plain for m in self.sent(chat_id) if m.text is not None]

    def find_message(self, chat_id: int, message_id: int) -> SentMessage | None:
        return next((m for m in self.sent(chat_id) if m.message_id == message_id), None)

    # ---- fault injection -------------------------------------------------------------------
    def fail_next(self, method: str, status: int = 429, retry_after: int | None = 2,
                  times: int = 1, description: str | None = None,
                  chat_id: int | None = None) -> None:
        """Answer the next ``times`` calls of ``method`` ("*" for any; only those for
        ``chat_id`` if given) with an error."""
        kind = self._fault(status, retry_after, description)
        fault = _Fault(kind.status, kind.retry_after, kind.description, times, chat_id)
        self._faults.setdefault(method.lower(), deque()).append(fault)

    def fail_calls(self, method: str, calls: Collection[int], status: int = 429,
                   retry_after: int | None = 1, description: str | None = None,
                   chat_id: int | None = None) -> None:
        """Answer these calls of ``method`` ("*": any), numbered from 1 = the next one, with an
        error (only calls for ``chat_id`` if given; the others still count)."""
        self.schedule.add(method, self._fault(status, retry_after, description), calls=calls,
                          chats=None if chat_id is None else [int(chat_id)])

    def fail_every(self, method: str, every: int, status: int = 429,
                   retry_after: int | None = 1, description: str | None = None,
                   start: int | None = None) -> None:
        """Answer every ``every``-th call of ``method`` from now on with an error (the first is
        call number ``start``, default ``every``): a steady share of 429s or 5xx for long runs.
        ``clear_faults()`` ends it."""
        self.schedule.add(method, self._fault(status, retry_after, description), every=every,
                          start=start)

    def clear_faults(self) -> None:
        self._faults.clear()
        self.schedule.clear()

    @staticmethod
    def _fault(status: int, retry_after: int | None, description: str | None) -> Fault:
        if description is None:
            description = {
                429: f"Too Many Requests: retry after {retry_after}",
                403: "Forbidden: bot was blocked by the user",
                400: "Bad Request: injected failure",
                502: "Bad Gateway",
            }.get(status, "Internal Server Error")
        return Fault(status, retry_after if status == 429 else None, description)

    def block(self, chat_id: int, description: str = "Forbidden: bot was blocked by the user"
              ) -> None:
        """Every call for this chat answers 403 (e.g. "Forbidden: user is deactivated")."""
        self._blocked[int(chat_id)] = description

    def unblock(self, chat_id: int) -> None:
        self._blocked.pop(int(chat_id), None)

    @property
    def throttled(self) -> int:
        """How many calls ``rate_limit`` answered with 429."""
        return self.limits.throttled

    def delay(self, method: str, seconds: float) -> None:
        """Sleep ``seconds`` before answering ``method`` ("*" for any); 0 removes the delay."""
        self._delays[method.lower()] = seconds

    def rate_limit(self, per_second: float | None = None,
                   per_chat_per_second: float | None = None) -> None:
        """Answer 429 to send* calls beyond these rates (sliding one-second window)."""
        self.limits = RateLimit(per_second, per_chat_per_second)

    # ---- users and updates -----------------------------------------------------------------
    def user(self, id: int = 1001, first_name: str = "Lan", *, username: str | None = None,
             language_code: str | None = "vi") -> FakeUser:
        if id not in self._users:
            self._users[id] = FakeUser(self, id=id, first_name=first_name, username=username,
                                       language_code=language_code)
        return self._users[id]

    def next_id(self, kind: str) -> int:
        self._counters[kind] = self._counters.get(kind, 0) + 1
        return self._counters[kind]

    def next_message_id(self, chat_id: int) -> int:
        self._msg_ids[chat_id] = self._msg_ids.get(chat_id, 0) + 1
        return self._msg_ids[chat_id]

    def new_update(self, **payload: Any) -> dict[str, Any]:
        update = {"update_id": 100_000 + self.next_id("update"), **payload}
        self.updates.append(update)
        return update

    def register_file(self, data: bytes, folder: str = "photos", ext: str = "jpg",
                      mime_type: str | None = None, url: str | None = None) -> StoredFile:
        n = self.next_id("file")
        stored = StoredFile(f"FILE-{folder}-{n:05d}", f"UNIQ{n:05d}", data,
                            f"{folder}/file_{n}.{ext}", mime_type, url)
        self.files[stored.file_id] = stored
        return stored

    @property
    def webhook_url(self) -> str | None:
        return self._webhook.url if self._webhook else None

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        return list(self._queue)

    def deliver_to(self, url: str | None, secret: str | None = None, *, redeliver: bool = True,
                   attempts: int = 3, retry_delay: float = 0.05) -> None:
        """Switch to webhook mode (``url=None`` goes back to getUpdates)."""
        self._webhook = _Webhook(url, secret, redeliver, attempts, retry_delay) if url else None

    def enqueue(self, update: dict[str, Any]) -> None:
        """Queue an update for getUpdates as is (the same one twice simulates redelivery)."""
        self._queue.append(copy.deepcopy(update))
        self._queue.sort(key=lambda u: u["update_id"])
        self._spawn(self._notify())

    async def deliver(self, update: dict[str, Any]) -> int | None:
        """Webhook mode: POST it (retrying if configured) and return the status; else queue it."""
        hook = self._webhook
        if hook is None:
            self.enqueue(update)
            return None
        status = 0
        for attempt in range(1, (hook.attempts if hook.redeliver else 1) + 1):
            if attempt > 1:
                await asyncio.sleep(hook.retry_delay)
            status = await self.post_update(update, secret=hook.secret, url=hook.url)
            self.deliveries.append(Delivery(update["update_id"], hook.url, status, attempt))
            if 200 <= status < 300:
                break
        return status

    async def post_update(self, update: dict[str, Any], secret: str | None = None,
                          url: str | None = None) -> int:
        """POST one raw update to ``url`` (default: the webhook); 0 if unreachable."""
        target = url or self.webhook_url
        if target is None or self._client is None:
            raise RuntimeError("no webhook URL: call deliver_to() or let the bot setWebhook")
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
        try:
            async with self._client.post(target, json=update, headers=headers) as resp:
                body = await resp.read()
                status = resp.status
        except (TimeoutError, ClientError, OSError):
            return 0
        if 200 <= status < 300:
            await self._run_response_method(body)
        return status

    async def _run_response_method(self, body: bytes) -> None:
        """Like Telegram, run a Bot API call carried by a webhook's response body."""
        try:
            call = json.loads(body or b"{}")
        except ValueError:
            return
        method = call.pop("method", None) if isinstance(call, dict) else None
        handler = getattr(self, f"_m_{method}", None) if isinstance(method, str) else None
        if handler is None or not isinstance(method, str):
            return
        self.requests.append(ApiCall(method, dict(call)))
        with contextlib.suppress(ApiError):
            await handler(call)

    async def wait_for(self, condition: Callable[[], T], timeout: float = 5.0,
                       interval: float = 0.01, message: str = "") -> T:
        """Poll ``condition`` until it is truthy and return its value; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise TimeoutError(message or f"condition not met within {timeout}s")
            await asyncio.sleep(interval)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _notify(self) -> None:
        async with self._cond:
            self._cond.notify_all()

    # ---- HTTP ------------------------------------------------------------------------------
    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        stored = next((f for f in self.files.values() if f.file_path == path), None)
        if request.match_info["token"] != self.token or stored is None:
            return web.json_response({"ok": False, "error_code": 404,
                                      "description": "Not Found"}, status=404)
        return web.Response(body=stored.data, content_type="application/octet-stream")

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        handler = self._methods.get(request.match_info["method"].lower())
        if handler is None:
            return web.json_response(ApiError(404, "Not Found").body(), status=404)
        method = handler.__name__.removeprefix("_m_")
        try:
            params, uploads = await self._read_params(request)
        except ValueError as err:  # bad JSON in a field such as reply_markup
            return web.json_response(bad_request(f"can't parse JSON: {err}").body(), status=400)
        params["_uploads"] = uploads
        self.requests.append(ApiCall(method, {k: v for k, v in params.items() if k != "_uploads"}))
        try:
            wait = self._delays.get(method.lower(), self._delays.get("*", 0.0))
            if wait:
                await asyncio.sleep(wait)
            self._check_faults(method, params)
            result = await handler(params)
        except ApiError as err:
            return web.json_response(err.body(), status=err.status)
        except (KeyError, TypeError, ValueError, AttributeError) as err:  # malformed parameters
            error = bad_request(f"malformed parameters ({type(err).__name__}: {err})")
            return web.json_response(error.body(), status=400)
        return web.json_response({"ok": True, "result": result})

    async def _read_params(self, request: web.Request) -> tuple[Params, dict[str, bytes]]:
        raw: dict[str, Any] = dict(request.query)
        uploads: dict[str, bytes] = {}
        if request.can_read_body:
            if request.content_type == "application/json":
                raw.update(await request.json())
            else:
                for key, value in (await request.post()).items():
                    if isinstance(value, FileField):
                        uploads[key] = value.file.read()
                    else:
                        raw[key] = value
        params = {k: _decode(k, v) for k, v in raw.items()}
        if isinstance(params.get("chat_id"), str) and params["chat_id"].lstrip("-").isdigit():
            params["chat_id"] = int(params["chat_id"])
        return params, uploads

    def _check_faults(self, method: str, params: Params) -> None:
        for key in (method.lower(), "*"):
            queue = self._faults.get(key)
            if queue and queue[0].chat_id in (None, params.get("chat_id")):
                fault = queue[0]
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.popleft()
                raise ApiError(fault.status, fault.description, fault.retry_after)
        if (scheduled := self.schedule.check(method, params.get("chat_id"))) is not None:
            raise ApiError(scheduled.status, scheduled.description, scheduled.retry_after)
        if method in _CHAT_METHODS and params.get("chat_id") in self._blocked:
            raise ApiError(403, self._blocked[params["chat_id"]])
        if method in _SEND_METHODS:
            retry = self.limits.check(int(params.get("chat_id", 0)))
            if retry is not None:
                raise ApiError(429, f"Too Many Requests: retry after {retry}", retry)

    # ---- helpers for the Bot API methods ---------------------------------------------------
    def _chat(self, chat_id: Any) -> dict[str, Any]:
        if chat_id is None or chat_id == "":
            raise bad_request("chat_id is empty")
        if isinstance(chat_id, str):  # "@channelusername"
            raise bad_request("chat not found")
        cid = int(chat_id)
        if cid in self.chats:
            return self.chats[cid]
        if self.strict_chats:
            raise bad_request("chat not found")
        if cid > 0:
            return {"id": cid, "type": "private", "first_name": f"User{cid}"}
        return {"id": cid, "type": "group", "title": f"Group {cid}"}

    @staticmethod
    def _markup(markup: Any) -> tuple[list[list[InlineButton]], list[list[ReplyButton]], bool]:
        if not isinstance(markup, dict):
            return [], [], False
        if "inline_keyboard" in markup:
            rows: list[list[InlineButton]] = []
            for row in markup["inline_keyboard"]:
                rows.append([])
                for b in row:
                    data = b.get("callback_data")
                    if data is not None and not 1 <= len(data.encode()) <= 64:
                        raise bad_request("BUTTON_DATA_INVALID")
                    if data is None and not b.get("url"):
                        raise bad_request("can't parse inline keyboard button")
                    rows[-1].append(InlineButton(b["text"], data))
            return rows, [], False
        if "keyboard" in markup:
            keyboard = [
                [ReplyButton(b) if isinstance(b, str) else
                 ReplyButton(b["text"], bool(b.get("request_location"))) for b in row]
                for row in markup["keyboard"]
            ]
            return [], keyboard, False
        return [], [], bool(markup.get("remove_keyboard"))

    @staticmethod
    def _text(text: Any, parse_mode: Any, limit: int, too_long: str) -> str:
        if (str(parse_mode or "")).upper() == "HTML":
            _check_html(str(text))
        plain = _plain(str(text), parse_mode)
        if len(plain) > limit:
            raise bad_request(too_long)
        return plain

    def _caption(self, p: Params) -> str | None:
        if p.get("caption") is None:
            return None
        return self._text(p["caption"], p.get("parse_mode"), 1024, "message caption is too long")

    def _input_file(self, value: Any, uploads: dict[str, bytes], folder: str, ext: str,
                    mime: str | None = None) -> StoredFile:
        if isinstance(value, str) and value.startswith("attach://"):
            data = uploads.get(value.removeprefix("attach://"))
            if data is None:
                raise bad_request("wrong file identifier/HTTP URL specified")
            if not data:
                raise bad_request("file must be non-empty")
            return self.register_file(data, folder, ext, mime)
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return self.register_file(b"", folder, ext, mime, url=value)
        if isinstance(value, str) and value in self.files:
            return self.files[value]
        raise bad_request("wrong file identifier/HTTP URL specified")

    def _upload_field(self, p: Params, name: str) -> Any:
        """The field's value; a part uploaded under the field's own name counts as attach://."""
        if p.get(name) is None and name in p["_uploads"]:
            return f"attach://{name}"
        return p.get(name)

    def _record(self, method: str, p: Params, content: dict[str, Any], *, text: str | None,
                file_ids: list[str] | None = None, group: str | None = None) -> dict[str, Any]:
        chat = self._chat(p.get("chat_id"))
        buttons, keyboard, remove = self._markup(p.get("reply_markup"))
        mid = self.next_message_id(chat["id"])
        msg = {"message_id": mid, "from": self.bot_user, "chat": chat,
               "date": int(time.time()), **content}
        if buttons:
            msg["reply_markup"] = p["reply_markup"]
        if group:
            msg["media_group_id"] = group
        params = {k: v for k, v in p.items() if k != "_uploads"}
        self.sent(chat["id"]).append(SentMessage(
            method, chat["id"], mid, text, p.get("parse_mode"), buttons, keyboard, remove,
            file_ids or [], group, params, msg))
        return copy.deepcopy(msg)

    def _target(self, p: Params) -> SentMessage:
        sent = self.find_message(int(p.get("chat_id") or 0), int(p.get("message_id") or 0))
        if sent is None or sent.deleted:
            raise bad_request("message to edit not found")
        return sent

    @staticmethod
    def _photo(stored: StoredFile) -> list[dict[str, Any]]:
        return [{"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                 "width": 1280, "height": 960, "file_size": len(stored.data)}]

    # ---- Bot API methods -------------------------------------------------------------------
    async def _m_getMe(self, p: Params) -> Any:
        return {**self.bot_user, "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False}

    async def _m_getUpdates(self, p: Params) -> Any:
        if self._webhook is not None:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active;"
                                " use deleteWebhook to delete the webhook first")
        offset, limit = int(p.get("offset") or 0), int(p.get("limit") or 100)
        timeout = float(p.get("timeout") or 0)
        if offset > 0:  # confirms (drops) every update below offset
            self._queue = [u for u in self._queue if u["update_id"] >= offset]
        elif offset < 0:
            self._queue = self._queue[offset:]
        if not self._queue and timeout > 0 and not self._closing:
            async with self._cond:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._cond.wait_for(lambda: bool(self._queue) or self._closing), timeout
                    )
        return copy.deepcopy(self._queue[:limit])

    async def _m_setWebhook(self, p: Params) -> Any:
        url, secret = p.get("url") or "", p.get("secret_token")
        if secret is not None and not _SECRET_RE.match(secret):
            raise bad_request("secret token contains unallowed characters")
        if p.get("drop_pending_updates"):
            self._queue.clear()
        old = self._webhook
        self._webhook = None
        if url:
            self.deliver_to(url, secret, redeliver=old.redeliver if old else True)
            for update in self._queue:  # Telegram hands pending updates to the new webhook
                self._spawn(self.deliver(update))
            self._queue = []
        return True

    async def _m_deleteWebhook(self, p: Params) -> Any:
        self._webhook = None
        if p.get("drop_pending_updates"):
            self._queue.clear()
        return True

    async def _m_getWebhookInfo(self, p: Params) -> Any:
        info: dict[str, Any] = {"url": self.webhook_url or "", "has_custom_certificate": False,
                                "pending_update_count": len(self._queue)}
        failed = [d for d in self.deliveries if not 200 <= d.status < 300]
        if failed:
            info["last_error_date"] = int(time.time())
            info["last_error_message"] = f"Wrong response from the webhook: {failed[-1].status}"
        return info

    async def _m_sendMessage(self, p: Params) -> Any:
        text = p.get("text")
        if text is None or not str(text).strip():
            raise bad_request("message text is empty")
        plain = self._text(text, p.get("parse_mode"), 4096, "message is too long")
        return self._record("sendMessage", p, {"text": plain}, text=str(text))

    async def _m_sendPhoto(self, p: Params) -> Any:
        caption = self._caption(p)
        stored = self._input_file(self._upload_field(p, "photo"), p["_uploads"], "photos", "jpg")
        content: dict[str, Any] = {"photo": self._photo(stored)}
        if caption is not None:
            content["caption"] = caption
        return self._record("sendPhoto", p, content, text=p.get("caption"),
                            file_ids=[stored.file_id])

    async def _m_sendVoice(self, p: Params) -> Any:
        caption = self._caption(p)
        stored = self._input_file(self._upload_field(p, "voice"), p["_uploads"], "voice", "oga",
                                  "audio/ogg")
        content: dict[str, Any] = {"voice": {
            "file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
            "duration": int(p.get("duration") or 1), "mime_type": "audio/ogg",
            "file_size": len(stored.data)}}
        if caption is not None:
            content["caption"] = caption
        return self._record("sendVoice", p, content, text=p.get("caption"),
                            file_ids=[stored.file_id])

    async def _m_sendDocument(self, p: Params) -> Any:
        caption = self._caption(p)
        stored = self._input_file(self._upload_field(p, "document"), p["_uploads"],
                                  "documents", "bin")
        content: dict[str, Any] = {"document": {
            "file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data)}}
        if caption is not None:
            content["caption"] = caption
        return self._record("sendDocument", p, content, text=p.get("caption"),
                            file_ids=[stored.file_id])

    async def _m_sendMediaGroup(self, p: Params) -> Any:
        media = p.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise bad_request("wrong number of media items: an album needs 2-10")
        self._chat(p.get("chat_id"))
        items: list[tuple[Params, StoredFile, dict[str, Any]]] = []
        for item in media:  # validate every item before recording any
            if item.get("type") not in {"photo", "document"}:
                raise bad_request(f"unsupported media type {item.get('type')!r} in the fake")
            sub = {"chat_id": p["chat_id"], "caption": item.get("caption"),
                   "parse_mode": item.get("parse_mode"), "media": item}
            caption = self._caption(sub)
            stored = self._input_file(item.get("media"), p["_uploads"], item["type"] + "s",
                                      "jpg" if item["type"] == "photo" else "bin")
            content: dict[str, Any] = (
                {"photo": self._photo(stored)} if item["type"] == "photo" else
                {"document": {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}}
            )
            if caption is not None:
                content["caption"] = caption
            items.append((sub, stored, content))
        group = f"album{self.next_id('album')}"
        return [self._record("sendMediaGroup", sub, content, text=sub.get("caption"),
                             file_ids=[stored.file_id], group=group)
                for sub, stored, content in items]

    async def _m_sendChatAction(self, p: Params) -> Any:
        self._chat(p.get("chat_id"))
        return True

    async def _m_answerCallbackQuery(self, p: Params) -> Any:
        query_id = str(p.get("callback_query_id"))
        if query_id not in self.callback_ids or query_id in self.callback_answers:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        self.callback_answers[query_id] = {k: v for k, v in p.items() if k != "_uploads"}
        return True

    async def _m_editMessageText(self, p: Params) -> Any:
        if p.get("inline_message_id"):
            return True
        sent = self._target(p)
        if "text" not in sent.message:
            raise bad_request("there is no text in the message to edit")
        text = p.get("text")
        if text is None or not str(text).strip():
            raise bad_request("message text is empty")
        plain = self._text(text, p.get("parse_mode"), 4096, "message is too long")
        buttons, _, _ = self._markup(p.get("reply_markup"))
        if plain == sent.message["text"] and buttons == sent.buttons:
            raise bad_request("message is not modified: specified new message content and reply"
                              " markup are exactly the same as a current content and reply"
                              " markup of the message")
        sent.text, sent.parse_mode, sent.message["text"] = str(text), p.get("parse_mode"), plain
        return self._apply_edit(sent, p, buttons)

    async def _m_editMessageReplyMarkup(self, p: Params) -> Any:
        if p.get("inline_message_id"):
            return True
        sent = self._target(p)
        buttons, _, _ = self._markup(p.get("reply_markup"))
        if buttons == sent.buttons:
            raise bad_request("message is not modified: specified new message content and reply"
                              " markup are exactly the same as a current content and reply"
                              " markup of the message")
        return self._apply_edit(sent, p, buttons)

    def _apply_edit(self, sent: SentMessage, p: Params, buttons: list[list[InlineButton]]
                    ) -> dict[str, Any]:
        sent.buttons = buttons
        if buttons:
            sent.message["reply_markup"] = p["reply_markup"]
        else:  # an edit without reply_markup removes the inline keyboard
            sent.message.pop("reply_markup", None)
        sent.message["edit_date"] = int(time.time())
        sent.edits.append({k: v for k, v in p.items() if k != "_uploads"})
        return copy.deepcopy(sent.message)

    async def _m_deleteMessage(self, p: Params) -> Any:
        sent = self.find_message(int(p.get("chat_id") or 0), int(p.get("message_id") or 0))
        if sent is None or sent.deleted:
            raise bad_request("message to delete not found")
        sent.deleted = True
        return True

    async def _m_getFile(self, p: Params) -> Any:
        stored = self.files.get(str(p.get("file_id")))
        if stored is None:
            raise bad_request("invalid file_id")
        return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                "file_size": len(stored.data), "file_path": stored.file_path}

    async def _m_setMyCommands(self, p: Params) -> Any:
        return True

    async def _m_deleteMyCommands(self, p: Params) -> Any:
        return True

    async def _m_close(self, p: Params) -> Any:
        return True

    async def _m_logOut(self, p: Params) -> Any:
        return True
