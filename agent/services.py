"""Asking the agent: question -> prompt -> SQL -> guard -> read-only execution, one retry with the error."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts import audit
from agent import execution, llm, prompt, sqlguard
from agent.models import AgentQuery, ErrorCode

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 2  # the seed's two-stage self-correction: one retry with the error, then stop
MAX_LOGGED_CHARS = 100_000  # per text kept in the log (SQL, executed SQL, messages)


def max_question_chars() -> int:
    return settings.AGENT_MAX_QUESTION_CHARS


@dataclass
class Answer:
    error_code: int
    sql: str = ""
    message: str = ""
    columns: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    executed_sql: str = ""
    attempts: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


NOT_CONFIGURED_MESSAGE = "The agent is not configured on this hub (no language model key). Use the search instead."


def answer_question(*, user, question: str, entity_type: str = "") -> Answer:
    """Ask the model, check and run its SQL for this user; on failure ask once more with the error."""
    if not llm.is_configured():
        return Answer(error_code=ErrorCode.NOT_CONFIGURED, message=NOT_CONFIGURED_MESSAGE)
    dialect = sqlguard.dialect_for(connection.vendor)
    messages = prompt.initial_messages(question, dialect=dialect, entity_type=entity_type, user=user)
    attempts: list[dict] = []
    sql = executed = ""
    for _ in range(MAX_ATTEMPTS):
        try:
            sql = llm.complete(messages)
        except llm.LLMFailed as exc:
            return Answer(error_code=ErrorCode.LLM_FAILURE, sql=sql, message=str(exc), attempts=attempts)
        code, error, executed, result = _try(sql, user=user, dialect=dialect)
        attempts.append({"sql": sql, "error_code": int(code), "error": error})
        if code == ErrorCode.OK:
            return Answer(
                error_code=code,
                sql=sql,
                message=result.truncated,
                columns=result.columns,
                rows=result.rows,
                executed_sql=executed,
                attempts=attempts,
            )
        if code == ErrorCode.INTERNAL_ERROR:
            break
        messages = [*messages, *prompt.correction_message(sql, error)]
    return Answer(error_code=code, sql=sql, message=error, executed_sql=executed, attempts=attempts)


def _try(sql: str, *, user, dialect: str):
    """(code, error, executed SQL, result) for one SQL proposal."""
    try:
        guarded = sqlguard.guard(sql, user=user, dialect=dialect)
    except sqlguard.RejectedSQL as exc:
        return ErrorCode.REJECTED, str(exc), "", None
    try:
        result = execution.execute_readonly(guarded.sql, cte_names=guarded.cte_names)
    except execution.ExecutorUnavailable as exc:
        return ErrorCode.INTERNAL_ERROR, str(exc), guarded.sql, None
    except execution.QueryTimedOut as exc:
        return ErrorCode.TIMEOUT, str(exc), guarded.sql, None
    except execution.ExecutionFailed as exc:
        return ErrorCode.EXECUTION_ERROR, str(exc), guarded.sql, None
    return ErrorCode.OK, "", guarded.sql, result


def submit_question(*, user, question: str, entity_type: str = "") -> AgentQuery:
    """Log the question and have it answered: in process when Celery is eager (or the agent is off),
    else by a worker once the row is committed. No transaction is held open around the model call."""
    from agent.tasks import run_agent_query
    from openmodelhub.celery import app

    query = AgentQuery.objects.create(
        user=user,
        question=loggable(question.strip(), max_question_chars()),
        entity_type=entity_type or "",
        llm_model=llm.model_name() if llm.is_configured() else "",
    )
    if not llm.is_configured():
        run_query(query_id=query.pk)
    elif app.conf.task_always_eager:
        run_agent_query.delay(query.pk)
    else:
        transaction.on_commit(lambda: run_agent_query.delay(query.pk))
    query.refresh_from_db()
    return query


def run_query(*, query_id: int) -> None:
    """Answer one logged question (the Celery task's body); does nothing if it was already taken."""
    claimed = AgentQuery.objects.filter(pk=query_id, status=AgentQuery.Status.PENDING).update(
        status=AgentQuery.Status.RUNNING
    )
    if not claimed:
        return
    query = AgentQuery.objects.select_related("user").get(pk=query_id)
    started = time.monotonic()
    try:
        answer = answer_question(user=query.user, question=query.question, entity_type=query.entity_type)
    except Exception:  # the page must not wait forever on a query that crashed
        log.exception("agent: query %s failed", query_id)
        answer = Answer(error_code=ErrorCode.INTERNAL_ERROR, message="The agent failed unexpectedly.")
    duration_ms = int((time.monotonic() - started) * 1000)
    try:
        finish_query(query, answer, duration_ms=duration_ms)
    except Exception:  # an answer that cannot be stored still ends the query, as failed
        log.exception("agent: the answer to query %s could not be stored", query_id)
        AgentQuery.objects.filter(pk=query_id).update(
            status=AgentQuery.Status.DONE,
            error_code=ErrorCode.INTERNAL_ERROR,
            message="The answer could not be stored.",
            columns=[],
            rows=[],
            row_count=0,
            duration_ms=duration_ms,
            finished_at=timezone.now(),
        )


def loggable(text: str, limit: int = MAX_LOGGED_CHARS) -> str:
    """Text as the log keeps it: no NUL (PostgreSQL cannot store one), at most ``limit`` characters."""
    text = execution.clean_text(text or "")
    return text if len(text) <= limit else text[:limit] + "…"


@transaction.atomic
def finish_query(query: AgentQuery, answer: Answer, *, duration_ms: int) -> AgentQuery:
    """Store the answer; every text bounded and without NUL (the rows are bounded by execution)."""
    query.status = AgentQuery.Status.DONE
    query.error_code = answer.error_code
    query.message = loggable(answer.message)
    query.sql = loggable(answer.sql)
    query.executed_sql = loggable(answer.executed_sql)
    query.attempts = [
        {**attempt, "sql": loggable(attempt["sql"]), "error": loggable(attempt["error"])} for attempt in answer.attempts
    ]
    query.columns = [execution.jsonable(c) for c in answer.columns]
    query.rows = answer.rows
    query.row_count = len(answer.rows)
    query.duration_ms = duration_ms
    query.finished_at = timezone.now()
    query.save()
    audit.record(
        "agent.query",
        actor=query.user,
        target=query,
        details={
            "question": query.question[:500],
            "entity_type": query.entity_type,
            "error_code": query.error_code,
            "sql": query.sql[:10_000],
            "row_count": query.row_count,
            "duration_ms": duration_ms,
        },
    )
    return query


def wait_for(query: AgentQuery, *, seconds: float) -> AgentQuery:
    """Poll the log until the query is done or ``seconds`` have passed (bounded, for the API)."""
    deadline = time.monotonic() + max(0.0, seconds)
    while not query.is_done and time.monotonic() < deadline:
        time.sleep(0.25)
        query.refresh_from_db()
    return query
