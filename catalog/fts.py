"""SQLite's FTS5 search tables (catalog.search reads them), created by migration catalog 0014, and the
triggers that keep them, which live outside migrations: a migration that rebuilds an asset table (an added
NOT NULL column does) drops its triggers and cannot rename the rebuilt table while another table's
trigger names it. So ``migrate`` drops them first when it has work to do, and creates them and refills the
tables afterwards (catalog.apps).

* ``<asset table>_fts_words(name, body)``: words (porter stemming) of the name and of the card,
  architecture, tasks (datasets: objective, tasks, domains), ranked with bm25;
* ``<asset table>_fts_id(repo_id)``: ``owner/name`` in lower case under the ``trigram`` tokenizer, which
  serves ``LIKE '%fragment%'`` and trigram matches (the SQLite counterpart of the pg_trgm indexes).
"""

from __future__ import annotations

BODIES = {
    "catalog_mlmodel": (
        "mlmodel_id",
        "coalesce(a.card, '') || ' ' || coalesce(a.architecture_name, '') || ' ' || coalesce(("
        "SELECT group_concat(t.name || ' ' || replace(t.slug, '-', ' '), ' ') FROM catalog_mlmodel_tasks x "
        "JOIN catalog_task t ON t.id = x.task_id WHERE x.mlmodel_id = a.id), '')",
        ["catalog_mlmodel_tasks"],
    ),
    "catalog_dataset": (
        "dataset_id",
        "coalesce(a.card, '') || ' ' || coalesce(a.objective, '') || ' ' || coalesce(("
        "SELECT group_concat(t.name || ' ' || replace(t.slug, '-', ' '), ' ') FROM catalog_dataset_tasks x "
        "JOIN catalog_task t ON t.id = x.task_id WHERE x.dataset_id = a.id), '') || ' ' || coalesce(("
        "SELECT group_concat(o.name, ' ') FROM catalog_dataset_domains x "
        "JOIN catalog_domain o ON o.id = x.domain_id WHERE x.dataset_id = a.id), '')",
        ["catalog_dataset_tasks", "catalog_dataset_domains"],
    ),
}
WORDS_TOKENIZER = "porter unicode61 remove_diacritics 2"
REPO_ID = "lower((SELECT u.username FROM accounts_user u WHERE u.id = a.owner_id) || '/' || a.name)"


def _refresh(table: str, where: str) -> list[str]:
    """Statements that rewrite the FTS rows of the assets ``a`` selected by ``where``."""
    _, body, _ = BODIES[table]
    return [
        f"DELETE FROM {table}_fts_words WHERE rowid IN (SELECT a.id FROM {table} a WHERE {where})",
        f"INSERT INTO {table}_fts_words(rowid, name, body) SELECT a.id, a.name, {body} FROM {table} a WHERE {where}",
        f"DELETE FROM {table}_fts_id WHERE rowid IN (SELECT a.id FROM {table} a WHERE {where})",
        f"INSERT INTO {table}_fts_id(rowid, repo_id) SELECT a.id, {REPO_ID} FROM {table} a WHERE {where}",
    ]


def _tables(table: str) -> dict[str, str]:
    words, ids = f"{table}_fts_words", f"{table}_fts_id"
    return {
        words: f"CREATE VIRTUAL TABLE {words} USING fts5(name, body, tokenize = '{WORDS_TOKENIZER}')",
        ids: f"CREATE VIRTUAL TABLE {ids} USING fts5(repo_id, tokenize = 'trigram')",
    }


def _triggers(table: str) -> dict[str, str]:
    column, _, links = BODIES[table]
    words, ids = f"{table}_fts_words", f"{table}_fts_id"
    on_change = "; ".join(_refresh(table, "a.id = NEW.id"))
    extra = "architecture_name" if table == "catalog_mlmodel" else "objective"
    triggers = {
        f"{table}_fts_ai": f"AFTER INSERT ON {table} BEGIN {on_change}; END",
        f"{table}_fts_au": f"AFTER UPDATE OF name, card, owner_id, {extra} ON {table} BEGIN {on_change}; END",
        f"{table}_fts_ad": f"AFTER DELETE ON {table} BEGIN "
        f"DELETE FROM {words} WHERE rowid = OLD.id; DELETE FROM {ids} WHERE rowid = OLD.id; END",
        f"{table}_fts_owner": f"AFTER UPDATE OF username ON accounts_user BEGIN "
        f"{'; '.join(_refresh(table, 'a.owner_id = NEW.id'))}; END",
    }
    for link in links:
        for event, row in (("INSERT", "NEW"), ("DELETE", "OLD")):
            triggers[f"{link}_fts_{event.lower()}"] = (
                f"AFTER {event} ON {link} BEGIN {'; '.join(_refresh(table, f'a.id = {row}.{column}'))}; END"
            )
    return triggers


def ensure(connection, *, triggers: bool = True) -> list[str]:
    """Create the missing FTS tables and (with ``triggers``) triggers, SQLite only, and refill the tables
    of an asset kind that missed any; returns what was created. A no-op when everything is in place."""
    if connection.vendor != "sqlite":
        return []
    created = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")
        present = {row[0] for row in cursor.fetchall()}
        if not set(BODIES) <= present:
            return []  # before the catalogue's tables exist
        for table in BODIES:
            missing = {name: sql for name, sql in _tables(table).items() if name not in present}
            if triggers:
                wanted = _triggers(table).items()
                missing |= {name: f"CREATE TRIGGER {name} {sql}" for name, sql in wanted if name not in present}
            for statement in missing.values():
                cursor.execute(statement)
            if missing:
                for statement in _refresh(table, "1 = 1"):
                    cursor.execute(statement)
            created += missing
    return created


def drop(connection, *, tables: bool = True) -> None:
    """Drop the triggers (before migrations: SQLite refuses to rename a rebuilt table while a trigger
    names a missing one; ``ensure`` puts them back after) and, with ``tables``, the FTS tables."""
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for table in BODIES:
            for name in _triggers(table):
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
            for name in _tables(table) if tables else ():
                cursor.execute(f"DROP TABLE IF EXISTS {name}")
