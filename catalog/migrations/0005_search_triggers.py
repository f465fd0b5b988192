"""PostgreSQL full-text search: weighted tsvectors kept by triggers, GIN indexes, and the
NULLS LAST indexes that keyset pagination by parameter count / instances needs. SQLite: nothing."""

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION catalog_mlmodel_tsv(m catalog_mlmodel) RETURNS tsvector AS $$
    SELECT setweight(to_tsvector('simple', coalesce(m.name, '')), 'A')
        || setweight(to_tsvector('english', left(coalesce(m.card, ''), 200000)), 'B')
        || setweight(to_tsvector('simple', coalesce(m.architecture_name, '')), 'B')
        || setweight(to_tsvector('english', coalesce((
               SELECT string_agg(t.name || ' ' || replace(t.slug, '-', ' '), ' ')
               FROM catalog_mlmodel_tasks mt JOIN catalog_task t ON t.id = mt.task_id
               WHERE mt.mlmodel_id = m.id), '')), 'C')
$$ LANGUAGE sql STABLE;

CREATE OR REPLACE FUNCTION catalog_dataset_tsv(d catalog_dataset) RETURNS tsvector AS $$
    SELECT setweight(to_tsvector('simple', coalesce(d.name, '')), 'A')
        || setweight(to_tsvector('english', left(coalesce(d.card, '') || ' ' || coalesce(d.objective, ''), 200000)), 'B')
        || setweight(to_tsvector('english', coalesce((
               SELECT string_agg(t.name || ' ' || replace(t.slug, '-', ' '), ' ')
               FROM catalog_dataset_tasks dt JOIN catalog_task t ON t.id = dt.task_id
               WHERE dt.dataset_id = d.id), '') || ' ' || coalesce((
               SELECT string_agg(o.name, ' ')
               FROM catalog_dataset_domains dd JOIN catalog_domain o ON o.id = dd.domain_id
               WHERE dd.dataset_id = d.id), '')), 'C')
$$ LANGUAGE sql STABLE;

CREATE OR REPLACE FUNCTION catalog_mlmodel_tsv_row() RETURNS trigger AS $$
BEGIN NEW.search_vector := catalog_mlmodel_tsv(NEW); RETURN NEW; END $$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION catalog_dataset_tsv_row() RETURNS trigger AS $$
BEGIN NEW.search_vector := catalog_dataset_tsv(NEW); RETURN NEW; END $$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS catalog_mlmodel_tsv ON catalog_mlmodel;
CREATE TRIGGER catalog_mlmodel_tsv BEFORE INSERT OR UPDATE OF name, card, architecture_name ON catalog_mlmodel
    FOR EACH ROW EXECUTE FUNCTION catalog_mlmodel_tsv_row();
DROP TRIGGER IF EXISTS catalog_dataset_tsv ON catalog_dataset;
CREATE TRIGGER catalog_dataset_tsv BEFORE INSERT OR UPDATE OF name, card, objective ON catalog_dataset
    FOR EACH ROW EXECUTE FUNCTION catalog_dataset_tsv_row();

-- Link tables: statement-level, so bulk inserts (COPY) refresh each asset once.
CREATE OR REPLACE FUNCTION catalog_mlmodel_links_tsv() RETURNS trigger AS $$
BEGIN
    UPDATE catalog_mlmodel m SET search_vector = catalog_mlmodel_tsv(m)
    WHERE m.id IN (SELECT mlmodel_id FROM changed_rows);
    RETURN NULL;
END $$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION catalog_dataset_links_tsv() RETURNS trigger AS $$
BEGIN
    UPDATE catalog_dataset d SET search_vector = catalog_dataset_tsv(d)
    WHERE d.id IN (SELECT dataset_id FROM changed_rows);
    RETURN NULL;
END $$ LANGUAGE plpgsql;
"""

LINK_TRIGGERS = [
    ("catalog_mlmodel_tasks", "catalog_mlmodel_links_tsv"),
    ("catalog_dataset_tasks", "catalog_dataset_links_tsv"),
    ("catalog_dataset_domains", "catalog_dataset_links_tsv"),
]

# Fill the vectors first and index afterwards: building the GIN index once is far cheaper than
# updating it row by row (20 minutes against a few at a million models).
INDEXES = r"""
UPDATE catalog_mlmodel m SET search_vector = catalog_mlmodel_tsv(m);
UPDATE catalog_dataset d SET search_vector = catalog_dataset_tsv(d);
CREATE INDEX IF NOT EXISTS mlmodel_search_gin ON catalog_mlmodel USING gin (search_vector);
CREATE INDEX IF NOT EXISTS dataset_search_gin ON catalog_dataset USING gin (search_vector);
CREATE INDEX IF NOT EXISTS mlmodel_params_desc_id_idx ON catalog_mlmodel (parameter_count DESC NULLS LAST, id DESC);
CREATE INDEX IF NOT EXISTS dataset_instances_desc_id_idx ON catalog_dataset (instances_number DESC NULLS LAST, id DESC);
CREATE INDEX IF NOT EXISTS dataset_year_desc_id_idx ON catalog_dataset (year DESC NULLS LAST, id DESC);
CREATE INDEX IF NOT EXISTS dataset_year_id_idx ON catalog_dataset (year, id);
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS catalog_mlmodel_tsv ON catalog_mlmodel;
DROP TRIGGER IF EXISTS catalog_dataset_tsv ON catalog_dataset;
DROP INDEX IF EXISTS mlmodel_search_gin, dataset_search_gin, mlmodel_params_desc_id_idx,
    dataset_instances_desc_id_idx, dataset_year_desc_id_idx, dataset_year_id_idx;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FORWARD, params=None)
    for table, function in LINK_TRIGGERS:
        for event, transition in (("INSERT", "NEW"), ("DELETE", "OLD")):
            name = f"{table}_tsv_{event.lower()}"
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}", params=None)
            schema_editor.execute(
                f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {transition} TABLE AS changed_rows "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()", params=None)
    schema_editor.execute(INDEXES, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, _ in LINK_TRIGGERS:
        for event in ("insert", "delete"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_tsv_{event} ON {table}", params=None)
    schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0004_search_and_keyset_indexes")]

    operations = [migrations.RunPython(forward, backward)]
