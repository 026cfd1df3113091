"""Signed, expiring links to stored media, for platforms that fetch photos by URL (Zalo).

`PUBLIC_URL/media/<sha256>?exp=<unix seconds>&sig=<hex HMAC-SHA256 of "sha256:exp">`. Without
the key nobody can make a link, and a link stops working at `exp`. The key is `MEDIA_LINK_KEY`
or, without one, derived from the Zalo token (so every worker of one deployment agrees).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from urllib.parse import urlencode

MEDIA_PATH = "/media/"
_SHA256 = re.compile(r"[0-9a-f]{64}")
_DERIVATION_LABEL = b"dlxh media links v1"

WallClock = Callable[[], float]


def derive_key(media_link_key: str | None, zalo_token: str | None) -> bytes:
    """The signing key: the configured one, else one derived from the token, else random."""
    if media_link_key:
        return media_link_key.encode()
    if zalo_token:
        return hmac.new(_DERIVATION_LABEL, zalo_token.encode(), hashlib.sha256).digest()
    return secrets.token_bytes(32)  # links then only work while this process runs


def is_sha256(value: str) -> bool:
    return _SHA256.fullmatch(value) is not None


class MediaLinks:
    def __init__(
        self, public_url: str, key: bytes, ttl_seconds: int, clock: WallClock = time.time
    ) -> None:
        self._base = public_url.rstrip("/")
        self._key = key
        self._ttl = ttl_seconds
        self._clock = clock

    def url(self, sha256: str) -> str:
        expires = int(self._clock()) + self._ttl
        query = urlencode({"exp": expires, "sig": self._signature(sha256, expires)})
        return f"{self._base}{MEDIA_PATH}{sha256}?{query}"

    def allows(self, sha256: str, exp: str, sig: str) -> bool:
        """True for a link this key signed and that has not expired yet."""
        if not is_sha256(sha256) or not (exp.isascii() and exp.isdigit() and len(exp) <= 12):
            return False
        expected = self._signature(sha256, int(exp))
        if not hmac.compare_digest(expected.encode(), sig.encode()):
            return False
        return int(exp) >= int(self._clock())

    def _signature(self, sha256: str, expires: int) -> str:
        message = f"{sha256}:{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()
