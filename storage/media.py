"""Content-addressed media files: `root/ab/cd/<sha256>`, written atomically."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from domain.reports import MediaKind, StoredMedia

_SHA256 = re.compile(r"[0-9a-f]{64}")


class MediaTooLarge(ValueError):
    """The file is bigger than the store accepts."""

    def __init__(self, size: int, max_bytes: int) -> None:
        super().__init__(f"media of {size} bytes exceeds the limit of {max_bytes} bytes")
        self.size = size
        self.max_bytes = max_bytes


class FileMediaStore:
    """A `domain.ports.MediaStore` on the local file system; identical content is stored once."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes

    def put(self, data: bytes, kind: Any, mime: str) -> StoredMedia:
        if len(data) > self.max_bytes:
            raise MediaTooLarge(len(data), self.max_bytes)
        sha256 = hashlib.sha256(data).hexdigest()
        target = self.path(sha256)
        if not target.exists():
            self._write_atomically(target, data)
        return StoredMedia(sha256=sha256, kind=MediaKind(kind), mime=mime, size=len(data))

    def path(self, sha256: str) -> Path:
        """Where the file of this digest lives; ValueError unless it is 64 lowercase hex digits."""
        if not isinstance(sha256, str) or _SHA256.fullmatch(sha256) is None:
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    @staticmethod
    def _write_atomically(target: Path, data: bytes) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            os.fchmod(handle, 0o644)
            with os.fdopen(handle, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
