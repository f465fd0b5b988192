"""Signed checkpoints of the audit chain, kept outside the database.

A checkpoint records the chain head (the last event's number and hash) and the time, signed with
HMAC-SHA256 under ``OMH_AUDIT_CHECKPOINT_KEY``, a key that is not in the database. Beat writes one
every ``OMH_AUDIT_CHECKPOINT_SECONDS`` when the chain has grown, to ``OMH_AUDIT_CHECKPOINT_DIR`` (or
the default storage under ``audit-checkpoints/``), and logs it. Since each event's hash covers
every earlier event, a checkpoint pins the whole chain up to its number: ``verify_audit`` then
detects events removed from the end, a wipe, a rewrite or a rolled-back head, back to the last
checkpoint. Events appended after the last checkpoint are only as safe as the database.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.utils import timezone

from accounts.audit import GENESIS, ChainProblem, chain_head, verify_chain
from accounts.models import AuditEvent

logger = logging.getLogger(__name__)
PREFIX = "audit-checkpoints"
VERSION = 1


class CheckpointError(Exception):
    """A checkpoint that cannot be trusted, or a chain that no longer matches one."""


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    created_at: datetime
    name: str = ""

    def __str__(self) -> str:
        return f"checkpoint of {self.created_at:%Y-%m-%d %H:%M:%S} UTC at event #{self.seq}"


def _key() -> bytes:
    return settings.OMH_AUDIT_CHECKPOINT_KEY.encode()


def key_id() -> str:
    """Names the key (never reveals it), so a checkpoint signed with another one says so."""
    return hashlib.sha256(b"omh-audit-checkpoint-key:" + _key()).hexdigest()[:16]


def _signed_part(seq: int, hash_: str, created_at: str) -> bytes:
    payload = {"v": VERSION, "seq": seq, "hash": hash_, "created_at": created_at}
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


def _mac(seq: int, hash_: str, created_at: str) -> str:
    return hmac.new(_key(), _signed_part(seq, hash_, created_at), hashlib.sha256).hexdigest()


def storage() -> tuple[Storage, str]:
    """Where checkpoints live: their own directory when configured, else the default storage."""
    if settings.OMH_AUDIT_CHECKPOINT_DIR:
        return FileSystemStorage(location=settings.OMH_AUDIT_CHECKPOINT_DIR), ""
    return storages["default"], f"{PREFIX}/"


def location() -> str:
    return settings.OMH_AUDIT_CHECKPOINT_DIR or f"the default storage, under {PREFIX}/"


def _parse(name: str, raw: bytes) -> Checkpoint:
    try:
        data = json.loads(raw)
        seq, hash_, created_at, mac = int(data["seq"]), str(data["hash"]), str(data["created_at"]), str(data["mac"])
        when = datetime.fromisoformat(created_at)
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"checkpoint {name} is unreadable ({exc})") from exc
    if not hmac.compare_digest(mac, _mac(seq, hash_, created_at)):
        other = data.get("key_id") not in (None, key_id())
        raise CheckpointError(
            f"checkpoint {name}: its signature does not verify "
            f"({'signed with another key' if other else 'forged or altered'})"
        )
    return Checkpoint(seq=seq, hash=hash_, created_at=when, name=name)


def latest(limit: int = 10) -> list[Checkpoint]:
    """The newest ``limit`` checkpoints (0: all), newest first, each signature checked."""
    store, prefix = storage()
    try:
        names = sorted((name for name in store.listdir(prefix or ".")[1] if name.endswith(".json")), reverse=True)
    except FileNotFoundError:
        return []
    checkpoints = []
    for name in names[:limit] if limit else names:
        with store.open(f"{prefix}{name}", "rb") as file:
            checkpoints.append(_parse(name, file.read()))
    return sorted(checkpoints, key=lambda checkpoint: (checkpoint.seq, checkpoint.created_at), reverse=True)


def check_against_chain(checkpoints: list[Checkpoint], last_seq: int) -> ChainProblem | None:
    """Whether the verified chain, ending at ``last_seq``, still holds what each checkpoint recorded."""
    hashes = dict(AuditEvent.objects.filter(seq__in=[c.seq for c in checkpoints]).values_list("seq", "hash"))
    for checkpoint in checkpoints:
        if checkpoint.seq > last_seq:
            return ChainProblem(
                last_seq + 1,
                f"missing: the {checkpoint} shows the chain reached it, but the chain "
                f"ends at #{last_seq}: events after #{last_seq} were removed",
            )
        if hashes.get(checkpoint.seq) != checkpoint.hash:
            return ChainProblem(checkpoint.seq, f"differs from the {checkpoint}: the chain was rewritten")
    return None


def write_checkpoint() -> Checkpoint | None:
    """Sign the current head, after checking the events since the last checkpoint link to it.

    Returns None when the chain is empty or has not grown since the last checkpoint; raises
    CheckpointError, writing nothing, when the chain no longer matches the last checkpoint.
    """
    previous = next(iter(latest(limit=1)), None)
    start = (previous.seq, previous.hash) if previous else (0, GENESIS)
    last_seq, last_hash = chain_head()
    if last_seq == 0 or (last_seq, last_hash) == start:
        return None
    _, problem = verify_chain(start=start)
    if problem is None and not AuditEvent.objects.filter(seq=last_seq, hash=last_hash).exists():
        problem = ChainProblem(last_seq, "does not match the chain head's hash")
    if problem is not None:
        raise CheckpointError(f"not signing the audit chain: broken at {problem}")
    created_at = timezone.now().isoformat(timespec="microseconds")
    body = {
        "v": VERSION,
        "seq": last_seq,
        "hash": last_hash,
        "created_at": created_at,
        "key_id": key_id(),
        "mac": _mac(last_seq, last_hash, created_at),
    }
    store, prefix = storage()
    name = f"{last_seq:012d}-{created_at.replace(':', '').replace('+0000', 'Z')}.json"
    saved = store.save(f"{prefix}{name}", ContentFile(json.dumps(body, sort_keys=True).encode()))
    logger.info("audit checkpoint %s", json.dumps(body, sort_keys=True))
    return Checkpoint(
        seq=last_seq, hash=last_hash, created_at=datetime.fromisoformat(created_at), name=saved.removeprefix(prefix)
    )
