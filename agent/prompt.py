"""The conversation sent to the model: a system prompt built from the live schema, then the question."""

from __future__ import annotations

from django.conf import settings

from agent.schema import ColumnInfo, TableInfo, reads_user_directory, tables_for
from agent.synonyms import DATE_FUNCTIONS, ENTITY_TYPES, SYNONYMS

DIALECT_NAMES = {"postgres": "PostgreSQL", "sqlite": "SQLite"}


def describe_column(column: ColumnInfo) -> str:
    parts = [f"  - {column.name} {column.db_type}"]
    if column.primary_key:
        parts.append("primary key")
    if not column.null:
        parts.append("not null")
    if column.references:
        parts.append(f"-> {column.references}")
    if column.choices:
        parts.append("one of " + ", ".join(f"'{value}' ({label})" for value, label in column.choices))
    if column.help_text:
        parts.append(f"-- {column.help_text}")
    return " ".join(parts)


def describe_table(table: TableInfo) -> str:
    lines = [f"table {table.db_table} ({table.description})"]
    lines.extend(describe_column(c) for c in table.columns)
    return "\n".join(lines)


def describe_schema(user=None) -> str:
    """The tables as this viewer may read them (without a viewer: as a user who is not an admin)."""
    return "\n\n".join(describe_table(t) for t in tables_for(user).values())


def describe_synonyms() -> str:
    return "\n".join(f"- {' / '.join(words)}: {meaning}" for words, meaning in SYNONYMS)


def system_prompt(*, dialect: str, entity_type: str = "", user=None) -> str:
    dialect_name = DIALECT_NAMES.get(dialect, dialect)
    parts = [
        "You translate questions about OpenModelHub, a catalogue of machine-learning models and "
        f"datasets, into one read-only SQL query for {dialect_name}.",
        "Rules:\n"
        "- Answer with exactly one SELECT statement (WITH ... SELECT is fine) in a ```sql code block, "
        "and nothing else.\n"
        "- Use only the tables and columns described below, by their exact names, without a schema prefix.\n"
        "- Never write data, never call system functions; only common SQL functions.\n"
        f"- Return at most {settings.AGENT_MAX_ROWS} rows. Name people and assets by username and name, "
        "not only by id. Give computed columns short aliases.\n"
        "- Compare text case-insensitively (LOWER(x) = LOWER('...') or LIKE) when matching names the user typed.\n"
        "- Rows the user may not see are already filtered out: do not filter on visibility for that.\n"
        "- NULL in a yes/no column (the dataset ethics fields, release_date ...) means unknown, not no: "
        "count it as unknown, never as false.\n"
        f"- Dates in {dialect_name}: {DATE_FUNCTIONS.get(dialect, '')}",
        "Schema (generated from the application's models):\n\n" + describe_schema(user),
        "What people mean by common words:\n" + describe_synonyms(),
    ]
    if not reads_user_directory(user):
        parts.append(
            "Users appear here only as owners and authors of the assets this user can see (id and "
            "username); their roles, activity and affiliations are for admins only."
        )
    constraint = ENTITY_TYPES.get(entity_type or "", "")
    if constraint:
        parts.append("Constraint: " + constraint)
    return "\n\n".join(parts)


def initial_messages(question: str, *, dialect: str, entity_type: str = "", user=None) -> list[dict]:
    return [
        {"role": "system", "content": system_prompt(dialect=dialect, entity_type=entity_type, user=user)},
        {"role": "user", "content": question},
    ]


def correction_message(sql: str, error: str) -> list[dict]:
    """What the model said and why it failed, so that its second attempt can correct it."""
    return [
        {"role": "assistant", "content": f"```sql\n{sql}\n```"},
        {"role": "user", "content": f"That query failed: {error}\nWrite a corrected query, following the rules."},
    ]
