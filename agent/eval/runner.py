"""Execution-match evaluation of the agent over the demo catalogue (see questions.yaml)."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from django.db import connection

from accounts.models import User
from agent import execution, services, sqlguard
from agent.execution import ExecutionFailed, ResultSet
from agent.sqlguard import RejectedSQL

QUESTIONS = Path(__file__).with_name("questions.yaml")
MAX_COLUMN_MAPPINGS = 1000


@dataclass
class EvalCase:
    id: str
    question: str
    sql: str = ""  # portable SQL; or one per dialect below
    sql_postgres: str = ""
    sql_sqlite: str = ""
    entity_type: str = ""
    ordered: bool = False
    viewer: str = ""  # "admin": asked as an admin (the user directory is theirs); else as the chosen user
    allow_empty: bool = False  # the right answer on the demo catalogue is empty (or 0)

    def sql_for(self, dialect: str) -> str:
        return {"postgres": self.sql_postgres, "sqlite": self.sql_sqlite}.get(dialect) or self.sql


@dataclass
class CaseResult:
    case: EvalCase
    matched: bool
    error_code: int | None = None
    message: str = ""
    expected_failed: bool = False
    sql: str = ""
    expected_rows: int = 0
    rows: list = field(default_factory=list)


def load_cases(path: Path = QUESTIONS) -> list[EvalCase]:
    raw = yaml.safe_load(Path(path).read_text()) or []
    return [EvalCase(**{k: (v.strip() if isinstance(v, str) else v) for k, v in item.items()}) for item in raw]


def dialect() -> str:
    return sqlguard.dialect_for(connection.vendor)


def admin_viewer() -> User:
    """An admin to ask as (never saved): reads everything, the user directory included."""
    return User(username="agent-eval-admin", role=User.Role.ADMIN, is_active=True, is_staff=True, is_superuser=True)


def viewer_for(case: EvalCase, user):
    return admin_viewer() if case.viewer == "admin" else user


def run_sql(sql: str, *, user) -> ResultSet:
    """Run SQL through the same guard and executor as the agent, for the same user."""
    guarded = sqlguard.guard(sql, user=user, dialect=sqlguard.dialect_for(connection.vendor))
    return execution.execute_readonly(guarded.sql, cte_names=guarded.cte_names)


def _norm(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return f"{float(value):.6g}"
    text = str(value).strip()
    try:
        return f"{float(text):.6g}"
    except ValueError:
        return text


def matches(expected: ResultSet, got: ResultSet, *, ordered: bool = False) -> bool:
    """Same rows (a multiset, or a sequence when ordered), allowing extra columns in ``got``."""
    want = [tuple(_norm(v) for v in row) for row in expected.rows]
    have = [tuple(_norm(v) for v in row) for row in got.rows]
    if len(want) != len(have):
        return False
    if not want:
        return True
    # every row of one result set has the same width, so transposing must not truncate
    want_columns, have_columns = list(zip(*want, strict=True)), list(zip(*have, strict=True))
    candidates = [
        [j for j, column in enumerate(have_columns) if sorted(column) == sorted(wanted)] for wanted in want_columns
    ]
    for mapping in itertools.islice(itertools.product(*candidates), MAX_COLUMN_MAPPINGS):
        if len(set(mapping)) != len(mapping):
            continue
        projected = [tuple(row[j] for j in mapping) for row in have]
        if (projected == want) if ordered else (Counter(projected) == Counter(want)):
            return True
    return False


def run_case(case: EvalCase, *, user) -> CaseResult:
    """Ask the question and compare with the expected SQL's rows; an expected SQL that fails is a miss."""
    user = viewer_for(case, user)
    try:
        expected = run_sql(case.sql_for(dialect()), user=user)
    except (RejectedSQL, ExecutionFailed) as exc:
        return CaseResult(case=case, matched=False, message=f"the expected SQL failed: {exc}", expected_failed=True)
    answer = services.answer_question(user=user, question=case.question, entity_type=case.entity_type)
    got = ResultSet(columns=answer.columns, rows=answer.rows)
    matched = answer.error_code == 0 and matches(expected, got, ordered=case.ordered)
    return CaseResult(
        case=case,
        matched=matched,
        error_code=answer.error_code,
        message=answer.message,
        sql=answer.sql,
        expected_rows=len(expected.rows),
        rows=answer.rows,
    )
