"""Where encrypted file content lives: Django's storage API only (local files or S3 via django-storages)."""

from __future__ import annotations

from collections.abc import Iterator

from django.core.files import File
from django.core.files.storage import Storage, storages

READ_BLOCK = 1 << 20


def asset_storage() -> Storage:
    return storages["default"]


class BlockStream(File):
    """A non-seekable File over an iterator of byte blocks, for ``Storage.save``.

    ``chunks()`` hands the blocks straight to the storage (FileSystemStorage writes each one before
    asking for the next, so reused buffers are safe); ``read()`` serves readers such as boto3's
    upload_fileobj, copying what it returns.
    """

    def __init__(self, blocks: Iterator, name: str):
        super().__init__(None, name)
        self._blocks = iter(blocks)
        self._buffer = bytearray()

    def seekable(self) -> bool:
        return False

    def multiple_chunks(self, chunk_size=None) -> bool:
        return True

    def chunks(self, chunk_size=None):
        if self._buffer:
            yield bytes(self._buffer)
            self._buffer.clear()
        first = next(self._blocks, b"")
        yield bytes(first)  # FileSystemStorage opens in binary mode only if the first chunk is bytes
        yield from self._blocks

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            block = next(self._blocks, None)
            if block is None:
                break
            self._buffer += block
        if size < 0:
            size = len(self._buffer)
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def close(self) -> None:
        pass


def save_object(key: str, blocks: Iterator) -> str:
    """Write the blocks under exactly ``key`` (replacing what a crashed earlier attempt left)."""
    storage = asset_storage()
    if storage.exists(key):
        storage.delete(key)
    stored = storage.save(key, BlockStream(blocks, key))
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
        from storages.utils import clean_name

        client = storage.connection.meta.client
        name = storage._normalize_name(clean_name(key))
        body = client.get_object(Bucket=storage.bucket_name, Key=name, Range=f"bytes={start}-{end - 1}")["Body"]
        try:
            yield from body.iter_chunks(block)
        finally:
            body.close()
        return
    with storage.open(key, "rb") as handle:  # FileSystemStorage: a plain file, read block by block
        handle.seek(start)
        remaining = end - start
        while remaining > 0:
            data = handle.read(min(block, remaining))
            if not data:
                return
            remaining -= len(data)
            yield data
