"""A small client of the Zalo Bot Platform API that never mistakes a failure for a success.

Every call is `POST {base}/bot{TOKEN}/{method}` with a JSON body; every answer is checked for
`ok: true` (Zalo answers failures with HTTP 200 too). Failures are classified for the callers:

- `ZaloRetryAfter`: quota exceeded (429), wait and try again;
- `ZaloTemporary`: 5xx, timeouts, connection errors, unreadable answers: retry with backoff;
- `ZaloPermanent`: 400/401/403/404 and any other `ok: false`.

`getUpdates` ending without an update (408) is not an error: it returns None.

The token is part of every URL. It never appears in an exception raised here (httpx's errors
carry the request and its URL: they are replaced, not chained), and the httpx/httpcore loggers
are kept at WARNING so their per-request INFO lines (which print the URL) are not emitted.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

DEFAULT_API_BASE = "https://bot-api.zaloplatforms.com"
DEFAULT_TIMEOUT = 15.0
DEFAULT_RETRY_AFTER = 5.0
_NO_UPDATE = 408
_PERMANENT_STATUSES = frozenset({400, 401, 403, 404})

log = logging.getLogger(__name__)
ZaloUpdate = dict[str, Any]


class ZaloError(Exception):
    """A failed call; `error_code` is Zalo's (or the HTTP status), 0 when there was no answer."""

    def __init__(self, method: str, error_code: int, description: str) -> None:
        super().__init__(f"zalo {method}: {error_code} {description}".strip())
        self.method = method
        self.error_code = error_code
        self.description = description


class ZaloRetryAfter(ZaloError):
    def __init__(self, method: str, description: str, retry_after: float) -> None:
        super().__init__(method, 429, description)
        self.retry_after = retry_after


class ZaloTemporary(ZaloError):
    """Worth trying again later: the server or the network failed, not the request."""


class ZaloPermanent(ZaloError):
    """The request itself was refused (bad request, bad token, blocked, not found)."""


def quiet_http_loggers() -> None:
    """httpx logs every request URL (with the token) at INFO: keep those loggers at WARNING."""
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.WARNING:
            logger.setLevel(logging.WARNING)


def is_update(body: object) -> bool:
    return isinstance(body, dict) and ("event_name" in body or "message" in body)


def unwrap_update(body: object) -> ZaloUpdate | None:
    """An update from a wrapped `{ok, result}` body or a flat one; None if it is neither."""
    if isinstance(body, dict) and "result" in body and body.get("ok", True) is True:
        body = body["result"]
    if isinstance(body, list):  # tolerated: a batch of one
        body = body[0] if len(body) == 1 else None
    return body if is_update(body) else None  # type: ignore[return-value]


class ZaloClient:
    def __init__(
        self,
        token: str,
        api_base: str = DEFAULT_API_BASE,
        http: httpx.AsyncClient | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._token = token
        self._base = api_base.rstrip("/")
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(timeout=timeout)
        self._timeout = timeout
        quiet_http_loggers()

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    # ---- methods ---------------------------------------------------------------------------
    async def get_me(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("getMe")
        return result

    async def get_updates(self, timeout: int = 30) -> ZaloUpdate | None:
        """One update, or None when the long poll ended without one (408)."""
        try:
            body = await self.call(
                "getUpdates", {"timeout": timeout}, http_timeout=timeout + DEFAULT_TIMEOUT
            )
        except ZaloError as error:
            if error.error_code == _NO_UPDATE:
                return None
            raise
        if body is None or body == [] or body == {}:
            return None
        update = unwrap_update(body)
        if update is None:
            raise ZaloTemporary("getUpdates", 0, "the answer is not an update")
        return update

    async def set_webhook(self, url: str, secret_token: str) -> Any:
        return await self.call("setWebhook", {"url": url, "secret_token": secret_token})

    async def delete_webhook(self) -> Any:
        return await self.call("deleteWebhook")

    async def get_webhook_info(self) -> Any:
        return await self.call("getWebhookInfo")

    async def send_message(self, chat_id: str, text: str) -> Any:
        return await self.call("sendMessage", {"chat_id": chat_id, "text": text})

    async def send_photo(self, chat_id: str, photo_url: str, caption: str = "") -> Any:
        payload = {"chat_id": chat_id, "photo": photo_url}
        if caption:
            payload["caption"] = caption
        return await self.call("sendPhoto", payload)

    async def send_chat_action(self, chat_id: str, action: str = "typing") -> Any:
        return await self.call("sendChatAction", {"chat_id": chat_id, "action": action})

    # ---- transport -------------------------------------------------------------------------
    async def call(
        self,
        method: str,
        payload: dict[str, Any] | None = None,
        *,
        http_timeout: float | None = None,
    ) -> Any:
        """The `result` of a successful call; raises a `ZaloError` subclass otherwise."""
        url = f"{self._base}/bot{self._token}/{method}"
        try:
            response = await self._http.post(
                url, json=payload or {}, timeout=http_timeout or self._timeout
            )
        except httpx.TimeoutException:
            raise ZaloTemporary(method, 0, "timed out") from None
        except httpx.HTTPError as error:  # connection refused, reset, protocol errors
            raise ZaloTemporary(method, 0, self._redact(type(error).__name__, error)) from None
        return self._result(method, response)

    def _result(self, method: str, response: httpx.Response) -> Any:
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("ok") is True:
            return body.get("result")
        if method == "getUpdates" and response.status_code == 200 and is_update(body):
            return body  # a flat update, as live traffic has shown
        raise self._failure(method, response.status_code, body)

    def _failure(self, method: str, status: int, body: object) -> ZaloError:
        fields = body if isinstance(body, dict) else {}
        code = _int(fields.get("error_code")) or (status if status != 200 else 0)
        description = self._redact(str(fields.get("description") or f"HTTP {status}"))
        if code == 429 or status == 429:
            return ZaloRetryAfter(method, description, _retry_after(fields))
        if code == _NO_UPDATE and method == "getUpdates":
            return ZaloError(method, code, description)
        if code >= 500 or status >= 500 or code == _NO_UPDATE:
            return ZaloTemporary(method, code, description)
        if fields.get("ok") is False or 400 <= code < 500 or code < 0:
            return ZaloPermanent(method, code, description)  # Zalo refused this request
        return ZaloTemporary(method, code, description)  # an unreadable answer (a proxy page?)

    def _redact(self, text: str, error: BaseException | None = None) -> str:
        full = f"{text}: {error}" if error is not None and str(error) else text
        return full.replace(self._token, "***") if self._token else full


def _int(value: object) -> int:
    try:
        return int(value)  # type: ignore[call-overload, no-any-return]
    except (TypeError, ValueError):
        return 0


def _retry_after(fields: dict[str, Any]) -> float:
    parameters = fields.get("parameters")
    value = parameters.get("retry_after") if isinstance(parameters, dict) else None
    value = value if value is not None else fields.get("retry_after")
    seconds = _int(value)
    return float(seconds) if seconds > 0 else DEFAULT_RETRY_AFTER
