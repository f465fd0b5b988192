"""The plaintext of an encrypted object in storage, read in place: what the commit of an upload inspects.

An uploaded file is hashed and encrypted into storage while its bytes arrive (catalog.files.store_stream);
no plaintext copy is written beside the object. Inspection reads the object instead, through a seekable
reader that decrypts only the chunks a reader asks for (a safetensors header reads one chunk, a pickle
scan or a zip's CRC check streams them all, each decrypted once). ``StoredContent`` offers what
inspection uses of a local file's ``pathlib.Path``: ``open``, ``stat().st_size`` and ``read_bytes``; the
readers that need a real file (memory maps: GGUF, ONNX; Arrow's tables) get a temporary plaintext copy
from ``on_disk``, deleted afterwards: whole, or sparse and filled only as far as a reader needs (GGUF's
metadata, at the start of a file of tens of GB).

Every chunk authenticates with its index and whether it is the last (catalog/crypto.py): a changed,
reordered or truncated object fails with ``Unreadable``, as does a storage failure. Neither is the
uploaded file's fault, so inspection lets them through rather than rejecting the file.
"""

from __future__ import annotations

import errno
import io
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

from catalog import crypto, storage


class Unreadable(Exception):
    """The stored object could not be read back (storage failure, or it changed since it was stored)."""


class StoredContent:
    """``size`` bytes stored encrypted under ``key`` with ``envelope``, readable as plaintext."""

    def __init__(self, key: str, envelope: crypto.Envelope, size: int):
        self.key, self.envelope, self.size = key, envelope, size
        self._data_key: bytes | None = None

    @classmethod
    def of(cls, row) -> StoredContent:
        """The content of a FileVersion or of a verified UploadSession (both record an envelope)."""
        envelope = crypto.Envelope(row.key_id, bytes(row.wrapped_key), bytes(row.nonce_prefix), row.chunk_size)
        return cls(row.storage_key, envelope, row.size)

    def __repr__(self) -> str:
        return f"<StoredContent {self.key} ({self.size} bytes)>"

    def data_key(self) -> bytes:
        if self._data_key is None:
            try:
                self._data_key = crypto.unwrap_key(self.envelope.key_id, self.envelope.wrapped_key)
            except crypto.IntegrityError as exc:
                raise Unreadable(str(exc)) from None
        return self._data_key

    def open(self, mode: str = "rb", buffering: int = -1, encoding: str | None = None):
        """A read-only file over the plaintext, as ``Path.open`` gives for "rb" (``buffering=0``: unbuffered)
        and "r" (text)."""
        if mode not in ("rb", "r", "rt"):
            raise ValueError(f"stored content opens for reading only, not {mode!r}")
        raw = PlaintextReader(self)
        if mode == "rb" and buffering == 0:
            return raw
        buffered = io.BufferedReader(raw, buffer_size=buffering if buffering > 0 else io.DEFAULT_BUFFER_SIZE)
        return buffered if mode == "rb" else io.TextIOWrapper(buffered, encoding=encoding or "utf-8")

    def stat(self) -> os.stat_result:
        return os.stat_result((stat.S_IFREG | 0o400, 0, 0, 1, 0, 0, self.size, 0, 0, 0))

    def read_bytes(self) -> bytes:
        with self.open("rb", buffering=0) as handle:
            return handle.readall()

    @contextmanager
    def on_disk(self, *, whole: bool = True) -> Iterator[LocalCopy]:
        """A temporary plaintext copy in the staging folder (readable by its owner only), removed on exit:
        the whole content, or (``whole=False``) a sparse file of the content's size that holds what
        ``LocalCopy.fill`` has decrypted so far, for readers that need only the start of a large file."""
        folder = Path(settings.OMH_STAGING_DIR)
        folder.mkdir(parents=True, exist_ok=True)
        copy = LocalCopy(self, folder / f"inspect-{secrets.token_hex(16)}")
        try:
            with open(copy.path, "xb") as out:
                copy.path.chmod(0o600)
                out.truncate(self.size)
            copy.fill(self.size if whole else 0)
            yield copy
        finally:
            copy.path.unlink(missing_ok=True)


class LocalCopy:
    """A local file of ``content``'s size whose first ``filled`` bytes are its plaintext (the rest reads as
    zeros until filled)."""

    def __init__(self, content: StoredContent, path: Path):
        self.content, self.path, self.filled = content, path, 0

    def fill(self, upto: int) -> int:
        """Decrypt the content up to at least ``upto`` bytes (whole chunks, at most its size) into the
        file: the number of bytes now filled."""
        chunk = self.content.envelope.chunk_size
        target = min(self.content.size, -(-upto // chunk) * chunk)
        if target > self.filled:
            with self.content.open("rb", buffering=0) as source, open(self.path, "r+b") as out:
                source.seek(self.filled)
                out.seek(self.filled)
                while self.filled < target and (block := source.read(min(chunk, target - self.filled))):
                    out.write(block)
                    self.filled += len(block)
        return self.filled


class PlaintextReader(io.RawIOBase):
    """Seekable, read-only: each read decrypts (once) the chunk that holds the position and serves from it."""

    def __init__(self, content: StoredContent):
        super().__init__()
        self._content, self._position = content, 0
        self._chunk_index, self._chunk = -1, b""
        self._stream, self._stream_index = None, -1  # sealed chunks read on from _stream_index (one request)
        chunk = content.envelope.chunk_size
        self._final_index = crypto.chunk_count(content.size, chunk) - 1
        self._object_size = crypto.ciphertext_size(content.size, chunk)
        try:
            stored = storage.object_size(content.key)
        except OSError as exc:
            raise Unreadable(f"the stored content could not be read ({exc})") from None
        if stored != self._object_size:
            raise Unreadable("the stored object does not have the size its content was stored with")

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._content.size}[whence]
        if base + offset < 0:
            raise OSError(errno.EINVAL, "Invalid argument")  # as a file's seek says (zipfile relies on it)
        self._position = base + offset
        return self._position

    def readinto(self, buffer) -> int:
        if self._position >= self._content.size or not len(buffer):
            return 0
        chunk_size = self._content.envelope.chunk_size
        index, start = divmod(self._position, chunk_size)
        if index != self._chunk_index:
            self._chunk, self._chunk_index = self._decrypt(index), index
        n = min(len(buffer), len(self._chunk) - start)
        memoryview(buffer).cast("B")[:n] = self._chunk[start : start + n]
        self._position += n
        return n

    def close(self) -> None:
        self._close_stream()
        super().close()

    def _close_stream(self) -> None:
        if self._stream is not None:
            self._stream.close()  # a ranged GET's body, or a local file
            self._stream = None

    def _sealed(self, index: int) -> bytes:
        """Encrypted chunk ``index``: read on from the previous one in the same request (sequential reads,
        the usual case, are one request to the storage), or from a new request starting there."""
        if self._stream is None or self._stream_index != index:
            self._close_stream()
            sealed = self._content.envelope.chunk_size + crypto.TAG_SIZE
            self._stream = sealed_chunks(
                storage.read_object(self._content.key, index * sealed, self._object_size, block=sealed), sealed
            )
        block = next(self._stream, b"")
        self._stream_index = index + 1
        return block

    def _decrypt(self, index: int) -> bytes:
        try:
            block = self._sealed(index)
            plain = crypto.decrypt_chunks(
                [block],
                self._content.data_key(),
                self._content.envelope,
                first_index=index,
                last_index=index,
                final_index=self._final_index,
            )
            return bytes(next(plain))
        except crypto.IntegrityError as exc:
            raise Unreadable(f"the stored content failed authentication ({exc})") from None
        except OSError as exc:
            raise Unreadable(f"the stored content could not be read ({exc})") from None


def sealed_chunks(blocks: Iterator[bytes], sealed: int) -> Iterator[bytes]:
    """Regroup storage read blocks into whole encrypted chunks (the last one may be shorter). Closing
    it closes ``blocks`` (the storage's open file or response body)."""
    buffer = bytearray()
    try:
        for block in blocks:
            if not buffer and len(block) == sealed:
                yield block  # the usual case for local files: already one chunk
                continue
            buffer += block
            while len(buffer) >= sealed:
                yield bytes(buffer[:sealed])
                del buffer[:sealed]
        if buffer:
            yield bytes(buffer)
    finally:
        if close := getattr(blocks, "close", None):
            close()
