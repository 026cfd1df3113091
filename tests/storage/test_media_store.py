"""The content-addressed media store."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from domain.reports import MediaKind, StoredMedia
from storage.media import FileMediaStore, MediaTooLarge


@pytest.fixture
def store(tmp_path: Path) -> FileMediaStore:
    return FileMediaStore(tmp_path / "media", max_bytes=1000)


def test_put_stores_by_content_hash(store: FileMediaStore) -> None:
    data = b"\xff\xd8 a photo"
    digest = hashlib.sha256(data).hexdigest()
    stored = store.put(data, MediaKind.PHOTO, "image/jpeg")
    assert stored == StoredMedia(digest, MediaKind.PHOTO, "image/jpeg", len(data))
    path = store.path(digest)
    assert path == store.root / digest[:2] / digest[2:4] / digest
    assert path.read_bytes() == data
    assert store.read(digest) == data


def test_kind_given_as_text_is_normalised(store: FileMediaStore) -> None:
    assert store.put(b"ogg", "voice", "audio/ogg").kind is MediaKind.VOICE


def test_same_content_is_stored_once(store: FileMediaStore) -> None:
    first = store.put(b"same", MediaKind.PHOTO, "image/jpeg")
    second = store.put(b"same", MediaKind.PHOTO, "image/png")
    other = store.put(b"different", MediaKind.PHOTO, "image/jpeg")
    assert first.sha256 == second.sha256 != other.sha256
    files = [p for p in store.root.rglob("*") if p.is_file()]
    assert sorted(p.name for p in files) == sorted({first.sha256, other.sha256})


def test_size_cap(store: FileMediaStore) -> None:
    assert store.put(b"x" * 1000, MediaKind.PHOTO, "image/jpeg").size == 1000
    with pytest.raises(MediaTooLarge) as raised:
        store.put(b"x" * 1001, MediaKind.PHOTO, "image/jpeg")
    assert isinstance(raised.value, ValueError)
    assert (raised.value.size, raised.value.max_bytes) == (1001, 1000)
    assert not any(store.root.rglob(hashlib.sha256(b"x" * 1001).hexdigest()))


@pytest.mark.parametrize("bad", [
    "../../etc/passwd", "a" * 63, "a" * 65, "g" * 64, "A" * 64, "/" + "a" * 63,
    "a" * 62 + "/.", "",
])
def test_bad_digest_is_rejected(store: FileMediaStore, bad: str) -> None:
    with pytest.raises(ValueError, match="SHA-256"):
        store.path(bad)
    with pytest.raises(ValueError, match="SHA-256"):
        store.read(bad)


def test_reading_missing_media(store: FileMediaStore) -> None:
    with pytest.raises(FileNotFoundError):
        store.read("0" * 64)


def test_no_temporary_files_left(store: FileMediaStore) -> None:
    store.put(b"photo", MediaKind.PHOTO, "image/jpeg")
    leftovers = [p for p in store.root.rglob(".tmp-*")]
    assert leftovers == []
