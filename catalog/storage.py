"""Where encrypted file content lives: Django's storage API only (local files or S3 via django-storages)."""

from __future__ import annotations

import io
from collections.abc import Iterator

from django.core.files import File
from django.core.files.storage import Storage, storages

READ_BLOCK = 1 << 20


def asset_storage() -> Storage:
    return storages["default"]


class IteratorReader(io.RawIOBase):
    """A read-only, non-seekable file object over an iterator of byte blocks (streams into storage.save)."""

    def __init__(self, blocks: Iterator[bytes]):
        self._blocks = blocks
        self._buffer = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        while not self._buffer:
            try:
                self._buffer = memoryview(next(self._blocks))
            except StopIteration:
                return 0
        n = min(len(target), len(self._buffer))
        target[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


def save_object(key: str, blocks: Iterator[bytes]) -> str:
    """Write the blocks under exactly ``key`` (replacing what a crashed earlier attempt left)."""
    storage = asset_storage()
    if storage.exists(key):
        storage.delete(key)
    stored = storage.save(key, File(io.BufferedReader(IteratorReader(blocks), READ_BLOCK), name=key))
    if stored != key:
        raise RuntimeError(f"storage saved {key!r} as {stored!r}")
    return key


def delete_object(key: str) -> None:
    storage = asset_storage()
    if key and storage.exists(key):
        storage.delete(key)


def object_size(key: str) -> int:
    return asset_storage().size(key)


def read_object(key: str, start: int, end: int, block: int = READ_BLOCK) -> Iterator[bytes]:
    """Bytes ``start`` to ``end`` (exclusive) of the stored object, in blocks, without reading the rest."""
    storage = asset_storage()
    if end <= start:
        return
    if hasattr(storage, "bucket"):  # S3-compatible: a ranged GET, streamed
        client = storage.connection.meta.client
        name = storage._normalize_name(storage._clean_name(key))
        body = client.get_object(Bucket=storage.bucket_name, Key=name, Range=f"bytes={start}-{end - 1}")["Body"]
        try:
            yield from body.iter_chunks(block)
        finally:
            body.close()
        return
    with storage.open(key, "rb") as handle:
        handle.seek(start)
        remaining = end - start
        while remaining > 0:
            data = handle.read(min(block, remaining))
            if not data:
                return
            remaining -= len(data)
            yield data
