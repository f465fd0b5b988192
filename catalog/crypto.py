"""Encryption at rest: envelope encryption with chunked AES-256-GCM.

Every file version gets a fresh 256-bit data key. Its content is encrypted in fixed-size chunks,
each with its own GCM tag; the nonce holds a per-version random prefix and the chunk's index, and
the additional data holds the index and whether the chunk is the last one. So a changed byte, two
swapped chunks, a dropped chunk or a truncated object all fail authentication instead of decrypting
to wrong bytes. The data key is stored wrapped (AES-GCM) by a master key that has an id; rotating
the master key re-wraps data keys without touching content.

Master keys come from ``OMH_MASTER_KEYS`` ("id:base64key,id2:base64key") with ``OMH_MASTER_KEY_ID``
naming the current one; without them (the embedded default) a development key ring is generated
in ``var/master_keys.json`` with a warning.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

log = logging.getLogger(__name__)

TAG_SIZE = 16
NONCE_PREFIX_SIZE = 8
CIPHER = "aes-256-gcm-chunked-v1"


class IntegrityError(Exception):
    """Stored content failed authentication: tampered, reordered or truncated."""


@dataclass(frozen=True)
class KeyRing:
    current_id: str
    keys: dict[str, bytes]

    def key(self, key_id: str) -> bytes:
        try:
            return self.keys[key_id]
        except KeyError:
            raise ImproperlyConfigured(
                f"Master key {key_id!r} is not configured (OMH_MASTER_KEYS); files encrypted under it cannot be read."
            ) from None


def _parse_keys(spec: str) -> dict[str, bytes]:
    keys = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        key_id, sep, encoded = item.partition(":")
        if not sep:
            raise ImproperlyConfigured("OMH_MASTER_KEYS entries look like id:base64key")
        key = base64.b64decode(encoded)
        if len(key) != 32:
            raise ImproperlyConfigured(f"Master key {key_id!r} must be 32 bytes (base64 of 32 random bytes)")
        keys[key_id] = key
    return keys


def _development_ring_path():
    return settings.VAR_DIR / "master_keys.json"


def new_master_key() -> tuple[str, str]:
    """A fresh (id, base64 key) pair, e.g. for OMH_MASTER_KEYS."""
    return f"k{secrets.token_hex(4)}", base64.b64encode(secrets.token_bytes(32)).decode()


def add_development_key() -> str:
    """Embedded mode only: add a new key to var/master_keys.json and make it current."""
    path = _development_ring_path()
    data = json.loads(path.read_text()) if path.exists() else {"keys": {}}
    key_id, encoded = new_master_key()
    data["keys"][key_id] = encoded
    data["current"] = key_id
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.chmod(0o600)
    os.replace(tmp, path)
    keyring.cache_clear()
    return key_id


@lru_cache(maxsize=1)
def keyring() -> KeyRing:
    spec = os.environ.get("OMH_MASTER_KEYS", "")
    if spec:
        keys = _parse_keys(spec)
        current = os.environ.get("OMH_MASTER_KEY_ID") or next(iter(keys))
        if current not in keys:
            raise ImproperlyConfigured(f"OMH_MASTER_KEY_ID {current!r} is not among OMH_MASTER_KEYS")
        return KeyRing(current, keys)
    path = _development_ring_path()
    if not path.exists():
        log.warning(
            "No OMH_MASTER_KEYS: generating a development master key in %s. Set OMH_MASTER_KEYS in production.", path
        )
        add_development_key()
    elif not settings.DEBUG:  # production-like settings: say so, never reuse the file silently
        log.warning("No OMH_MASTER_KEYS: using the development master keys in %s (see manage.py check --deploy).", path)
    data = json.loads(path.read_text())
    return KeyRing(data["current"], {k: base64.b64decode(v) for k, v in data["keys"].items()})


def master_key(key_id: str) -> bytes:
    """The master key ``key_id``. An id this process has not seen makes it read its keys again, once:
    another process may have added it since they were cached (``rotate_master_key --generate`` next
    to a running embedded hub), and downloads must not fail until a restart."""
    ring = keyring()
    if key_id not in ring.keys:
        keyring.cache_clear()
        ring = keyring()
    return ring.key(key_id)


# --- data keys --------------------------------------------------------------------------------


def _wrap_aad(key_id: str) -> bytes:
    return b"omh-data-key:" + key_id.encode()


def wrap_key(data_key: bytes, key_id: str | None = None) -> tuple[str, bytes]:
    key_id = key_id or keyring().current_id
    nonce = secrets.token_bytes(12)
    return key_id, nonce + AESGCM(master_key(key_id)).encrypt(nonce, data_key, _wrap_aad(key_id))


def unwrap_key(key_id: str, wrapped: bytes) -> bytes:
    try:
        return AESGCM(master_key(key_id)).decrypt(bytes(wrapped[:12]), bytes(wrapped[12:]), _wrap_aad(key_id))
    except InvalidTag:
        raise IntegrityError("the wrapped data key does not authenticate under its master key") from None


@dataclass
class Envelope:
    key_id: str
    wrapped_key: bytes
    nonce_prefix: bytes
    chunk_size: int

    @classmethod
    def new(cls, chunk_size: int) -> tuple[Envelope, bytes]:
        data_key = AESGCM.generate_key(bit_length=256)
        key_id, wrapped = wrap_key(data_key)
        return cls(key_id, wrapped, secrets.token_bytes(NONCE_PREFIX_SIZE), chunk_size), data_key


def _nonce(prefix: bytes, index: int) -> bytes:
    return prefix + index.to_bytes(4, "big")


def _aad(index: int, final: bool) -> bytes:
    return b"omh-chunk:" + index.to_bytes(8, "big") + (b"\x01" if final else b"\x00")


def chunk_count(size: int, chunk_size: int) -> int:
    return max(1, -(-size // chunk_size))


def ciphertext_size(size: int, chunk_size: int) -> int:
    return size + TAG_SIZE * chunk_count(size, chunk_size)


def encrypt_chunks(chunks: Iterable, size: int, data_key: bytes, envelope: Envelope) -> Iterator[memoryview]:
    """Encrypt ``size`` bytes given as plaintext chunks of exactly ``envelope.chunk_size`` bytes (the last
    one what is left; one empty chunk for an empty file). Yields views of a reused buffer, valid until
    the next one is requested. A chunk of the wrong length is an IntegrityError."""
    aes, prefix, chunk = AESGCM(data_key), envelope.nonce_prefix, envelope.chunk_size
    final_index = chunk_count(size, chunk) - 1
    sealed_view = memoryview(bytearray(chunk + TAG_SIZE))
    index = 0
    for plain in chunks:
        if index > final_index or len(plain) != min(chunk, size - index * chunk):
            raise IntegrityError("the content to encrypt does not have its recorded size")
        sealed = sealed_view[: len(plain) + TAG_SIZE]
        aes.encrypt_into(_nonce(prefix, index), plain, _aad(index, index == final_index), sealed)
        yield sealed
        index += 1
    if index <= final_index:
        raise IntegrityError("the content to encrypt is shorter than its recorded size")


def rechunk(blocks: Iterable, size: int, chunk: int) -> Iterator:
    """Blocks of any lengths (``size`` bytes in all) as the chunks ``encrypt_chunks`` takes: views of the
    blocks themselves where one holds a whole chunk, copies only across block boundaries."""
    pending, filled, sent = memoryview(bytearray(chunk)), 0, 0
    for block in blocks:
        view = memoryview(block)
        while len(view):
            want = min(chunk, size - sent)
            if want <= 0:
                raise IntegrityError("the content to encrypt is longer than its recorded size")
            if not filled and len(view) >= want:
                yield view[:want]
                view, sent = view[want:], sent + want
                continue
            take = min(want - filled, len(view))
            pending[filled : filled + take] = view[:take]
            view, filled = view[take:], filled + take
            if filled == want:
                yield pending[:filled]
                sent, filled = sent + filled, 0
    if filled:
        yield pending[:filled]
        sent += filled
    if size == 0:
        yield pending[:0]


def decrypt_chunks(
    sealed_blocks: Iterable[bytes],
    data_key: bytes,
    envelope: Envelope,
    *,
    first_index: int,
    last_index: int,
    final_index: int,
) -> Iterator[memoryview]:
    """Decrypt the encrypted chunks first_index..last_index (inclusive) of an object whose last chunk is
    ``final_index``. Each block must be one whole encrypted chunk (``chunk_size + TAG_SIZE`` bytes, the
    file's final chunk shorter). Yields views of a reused buffer, valid until the next one."""
    aes, prefix = AESGCM(data_key), envelope.nonce_prefix
    plain = memoryview(bytearray(envelope.chunk_size))
    index = first_index
    for block in sealed_blocks:
        if index > last_index:
            raise IntegrityError("stored object is longer than its recorded size")
        if len(block) < TAG_SIZE or len(block) - TAG_SIZE > envelope.chunk_size:
            raise IntegrityError(f"chunk {index} has an impossible length (truncated)")
        n = len(block) - TAG_SIZE
        try:
            aes.decrypt_into(_nonce(prefix, index), block, _aad(index, index == final_index), plain[:n])
        except InvalidTag:
            raise IntegrityError(f"chunk {index} failed authentication (tampered, reordered or truncated)") from None
        yield plain[:n]
        index += 1
    if index <= last_index:
        raise IntegrityError(f"stored object ends before chunk {index} (truncated)")
