"""openmodelhub.inserts: the write path's INSERTs, written once per table, store what bulk_create stores."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AuditEvent
from catalog.models import CNNDetails, CNNModule, MLModel, TransformerDetails
from catalog.tests.factories import LicenseFactory
from openmodelhub.inserts import _max_params, insert

pytestmark = pytest.mark.django_db

SKIP = {"id", "name", "search_vector", "created_at", "updated_at"}  # the last two: auto_now(_add), set by both


def _model(owner, name, licence):
    return MLModel(
        owner=owner, name=name, card="# card\nünïcode", visibility="private", license=licence,
        license_declared="MIT", parameter_count=7_000_000_000, release_date=dt.date(2024, 2, 3),
        training_type="finetune", downloads=3, likes=1,
        created_at=dt.datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC),
        updated_at=dt.datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC),
    )  # fmt: skip


def _stored(model_cls, pk) -> dict:
    row = model_cls.objects.filter(pk=pk).values().get()
    return {k: v for k, v in row.items() if k not in SKIP}


def test_inserted_rows_are_what_bulk_create_stores(owner):
    licence = LicenseFactory(key="mit", spdx_id="MIT")
    ours, django = _model(owner, "ours", licence), _model(owner, "django", licence)
    insert([ours])
    MLModel.objects.bulk_create([django])
    assert ours.pk and not ours._state.adding and ours._state.db == "default"
    assert _stored(MLModel, ours.pk) == _stored(MLModel, django.pk)
    stored = MLModel.objects.values("created_at", "updated_at").get(pk=ours.pk)
    assert stored == {"created_at": ours.created_at, "updated_at": ours.updated_at}  # pre_save's, as Django's
    details = [CNNDetails(model=ours, module_count=2), TransformerDetails(model=ours, decoder_count=12)]
    for row in details:  # a one-to-one id: given, nothing returned
        insert([row])
        assert type(row).objects.get(pk=ours.pk).model_id == ours.pk
    modules = [CNNModule(cnn=details[0], position=i, conv_size=3 + i, pooling_type="max") for i in (1, 2)]
    insert(modules)
    assert [m.pk for m in modules] == list(CNNModule.objects.order_by("pk").values_list("pk", flat=True))
    at = dt.datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)
    event = AuditEvent(seq=1, created_at=at, action="x", details={"ü": [1, None, "a"]}, prev_hash="0", hash="1",
                       ip_address="::1")  # fmt: skip
    insert([event])
    assert AuditEvent.objects.values("details", "ip_address", "created_at").get(pk=event.pk) == {
        "details": {"ü": [1, None, "a"]}, "ip_address": "::1", "created_at": event.created_at}  # fmt: skip


def test_a_batch_past_the_parameter_limit_is_split_and_every_id_set_in_order(owner):
    per_statement = _max_params(connection) // (len(MLModel._meta.concrete_fields) - 1)
    rows = [MLModel(owner=owner, name=f"m-{i}", created_at=dt.datetime.now(dt.UTC),
                    updated_at=dt.datetime.now(dt.UTC)) for i in range(per_statement + 3)]  # fmt: skip
    with CaptureQueriesContext(connection) as queries:
        insert(rows)
    assert len([q for q in queries if q["sql"].startswith("INSERT")]) == 2
    stored = dict(MLModel.objects.values_list("name", "pk"))
    assert [row.pk for row in rows] == [stored[row.name] for row in rows]


def test_a_row_with_its_auto_id_given_goes_through_the_orm(owner):
    row = MLModel(pk=4242, owner=owner, name="given", created_at=dt.datetime.now(dt.UTC),
                  updated_at=dt.datetime.now(dt.UTC))  # fmt: skip
    insert([row])
    assert MLModel.objects.get(pk=4242).name == "given"
