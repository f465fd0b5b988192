"""The tamper-evident audit trail: append events to a SHA-256 hash chain, and verify the chain.

Each event stores the previous event's hash and its own hash over a canonical serialisation of its
fields, so an edited, removed or inserted event breaks the chain at that point. Appends lock the
single ``AuditChainHead`` row inside the caller's transaction, so concurrent requests still produce
one linear chain. On PostgreSQL triggers refuse UPDATE, DELETE and TRUNCATE of the events and let the
head only advance by one, to the event just appended (migrations 0003, 0004). Signed checkpoints
outside the database (accounts.checkpoints) pin the chain against a wipe, a rewrite or a lost tail.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import AuditChainHead, AuditEvent
from openmodelhub.inserts import insert
from openmodelhub.network import client_ip

GENESIS = "0" * 64


def canonical(event: AuditEvent) -> bytes:
    payload = {
        "seq": event.seq,
        "created_at": event.created_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_id": event.actor_id,
        "actor_name": event.actor_name,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "details": event.details,
        "ip_address": event.ip_address,
        "prev_hash": event.prev_hash,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(event: AuditEvent) -> str:
    return hashlib.sha256(canonical(event)).hexdigest()


def record(
    action: str,
    *,
    actor=None,
    target=None,
    target_type: str = "",
    target_id: Any = "",
    details: dict | None = None,
    request=None,
) -> AuditEvent:
    """Append one event. ``target`` may be any model instance (its label and pk are recorded)."""
    if target is not None:
        target_type, target_id = target._meta.label, target.pk
    if actor is None and request is not None and getattr(request, "user", None) and request.user.is_authenticated:
        actor = request.user
    actor = actor if actor is not None and getattr(actor, "pk", None) else None
    # Round-trip through JSON so that what is hashed is exactly what the database gives back.
    details = json.loads(json.dumps(details or {}, default=str))
    with transaction.atomic(savepoint=False):  # inside the caller's transaction: its failure undoes the event
        last_seq, last_hash = _lock_head()
        event = AuditEvent(
            seq=last_seq + 1,
            created_at=timezone.now(),
            actor=actor,
            actor_name=actor.get_username() if actor else "",
            action=action,
            target_type=target_type,
            target_id=str(target_id) if target_id not in (None, "") else "",
            details=details,
            ip_address=client_ip(request),
            prev_hash=last_hash,
        )
        event.hash = event_hash(event)
        insert([event])  # its statement written once (openmodelhub.inserts)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {HEAD_TABLE} SET last_seq = %s, last_hash = %s WHERE id = 1", [event.seq, event.hash]
            )
    return event


HEAD_TABLE = AuditChainHead._meta.db_table


def _lock_head() -> tuple[int, str]:
    """The chain head's (last seq, last hash), locked until the transaction ends (PostgreSQL's row lock;
    SQLite's writer holds the whole database already: transactions begin IMMEDIATE). Plain SQL: every
    audited write runs it, and the ORM's compilation was most of its cost."""
    lock = " FOR UPDATE" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT last_seq, last_hash FROM {HEAD_TABLE} WHERE id = 1{lock}", [])
        row = cursor.fetchone()
    if row is None:
        AuditChainHead.objects.get_or_create(pk=1)
        return _lock_head()
    return row[0], row[1]


@dataclass
class ChainProblem:
    seq: int
    message: str

    def __str__(self) -> str:
        return f"event #{self.seq}: {self.message}"


def chain_head() -> tuple[int, str]:
    """The head's (last seq, last hash), the genesis when there is none."""
    head = AuditChainHead.objects.filter(pk=1).first()
    return (head.last_seq, head.last_hash) if head else (0, GENESIS)


def _head_problem(end: tuple[int, str], before: tuple[int, str]) -> ChainProblem | None:
    """Compare the last event walked with the head read before the walk and after it (appends go on)."""
    after = chain_head()
    if end[0] < before[0]:
        return ChainProblem(end[0] + 1, f"the chain head records #{before[0]}: events at the end were removed")
    if end[0] > after[0]:
        return ChainProblem(
            end[0], f"the chain head records #{after[0]} but events run to #{end[0]}: the head was rolled back"
        )
    if end[0] in (before[0], after[0]) and end not in (before, after):
        return ChainProblem(end[0], "does not match the chain head's hash")
    return None


def verify_chain(chunk_size: int = 5000, *, start: tuple[int, str] = (0, GENESIS)) -> tuple[int, ChainProblem | None]:
    """Walk the chain in order from ``start`` (a checkpointed (seq, hash); the genesis by default) to
    its end and compare that with the head; return (events checked, first problem or None)."""
    before = chain_head()
    if start[0] and not AuditEvent.objects.filter(seq=start[0], hash=start[1]).exists():
        return 0, ChainProblem(start[0], "differs from the last checkpoint (removed or rewritten)")
    expected_seq, prev_hash, checked = start[0] + 1, start[1], 0
    for event in AuditEvent.objects.filter(seq__gt=start[0]).order_by("seq").iterator(chunk_size=chunk_size):
        if event.seq != expected_seq:
            problem = "missing (removed?)" if event.seq > expected_seq else "out of order"
            return checked, ChainProblem(expected_seq, f"{problem}; next stored event is #{event.seq}")
        if event.prev_hash != prev_hash:
            return checked, ChainProblem(event.seq, "does not link to the previous event (inserted or reordered)")
        if event_hash(event) != event.hash:
            return checked, ChainProblem(event.seq, "content does not match its hash (edited)")
        prev_hash, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
    return checked, _head_problem((expected_seq - 1, prev_hash), before)
