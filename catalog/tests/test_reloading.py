"""Loading records again keeps what curators edited since (issue 14, item 2): load_records, load_licenses,
demo_setup. Edits go through the same service the pages and the API use."""

import copy
import json
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import User
from catalog import services
from catalog.models import Dataset, FileColumn, LoadedRecord, MLModel, Task
from catalog.tests.test_load_records import V1
from licensing.models import License, LicenseAlias

pytestmark = pytest.mark.django_db


def load(tmp_path, data=V1, *args) -> str:
    path = tmp_path / "records.json"
    path.write_text(json.dumps(data))
    out = StringIO()
    call_command("load_records", str(path), *args, stdout=out)
    return out.getvalue()


def tiny() -> MLModel:
    return MLModel.objects.get(owner__username="alice", name="tiny")


def edit_tiny_as(admin_user) -> None:
    mit = License.objects.create(key="mit", spdx_id="MIT", name="MIT License", category="permissive")
    services.save_model(
        user=admin_user, model=tiny(), data={"card": "Curated card", "parameter_count": 7, "license": mit}
    )


def test_reloading_keeps_a_model_a_curator_edited_and_says_so(tmp_path, admin_user):
    load(tmp_path)
    edit_tiny_as(admin_user)
    output = load(tmp_path)
    model = tiny()
    assert (model.card, model.parameter_count, model.license.key) == ("Curated card", 7, "mit")
    assert "kept 1 records edited since they were loaded" in output
    assert "model alice/tiny (edited: card, license, parameter_count)" in output


def test_update_overwrites_an_edited_model_with_the_files_values(tmp_path, admin_user):
    load(tmp_path)
    edit_tiny_as(admin_user)
    output = load(tmp_path, V1, "--update")
    model = tiny()  # the file gives no card: a field the file leaves out is left alone
    assert (model.card, model.parameter_count, model.license) == ("Curated card", 5_000_000_000, None)
    assert "kept" not in output
    assert "kept" not in load(tmp_path)  # as loaded again: the next load has nothing to keep


def test_reloading_an_unchanged_file_leaves_every_row_untouched(tmp_path):
    load(tmp_path)
    stamps = {m.pk: m.updated_at for m in MLModel.objects.all()} | {d.pk: d.updated_at for d in Dataset.objects.all()}
    output = load(tmp_path)
    after = {m.pk: m.updated_at for m in MLModel.objects.all()} | {d.pk: d.updated_at for d in Dataset.objects.all()}
    assert after == stamps and "kept" not in output


def test_a_record_changed_in_the_file_updates_a_row_nobody_edited(tmp_path):
    load(tmp_path)
    data = copy.deepcopy(V1)
    data["models"][1]["parameter_count"] = 6_000_000_000
    load(tmp_path, data)
    assert tiny().parameter_count == 6_000_000_000


def test_a_dataset_column_edited_since_is_kept(tmp_path):
    load(tmp_path)
    FileColumn.objects.filter(name="age").update(description="Age in whole years, checked by a curator")
    data = copy.deepcopy(V1)
    data["datasets"][0]["instances_number"] = 99
    output = load(tmp_path, data)
    assert FileColumn.objects.get(name="age").description == "Age in whole years, checked by a curator"
    assert Dataset.objects.get(name="shop").instances_number == 10
    assert "dataset alice/shop (edited: files)" in output


def test_a_renamed_or_deleted_record_is_not_brought_back(tmp_path, admin_user):
    load(tmp_path)
    services.save_model(user=admin_user, model=tiny(), data={"name": "tiny-renamed"})
    Dataset.objects.filter(name="shop").delete()
    output = load(tmp_path)
    assert not MLModel.objects.filter(name="tiny").exists() and not Dataset.objects.filter(name="shop").exists()
    assert "model alice/tiny (renamed)" in output and "dataset alice/shop (deleted)" in output


def test_a_record_the_loader_did_not_write_is_kept(tmp_path, owner):
    MLModel.objects.create(owner=User.objects.create_user("alice"), name="tiny", card="Made on the page")
    output = load(tmp_path)
    assert tiny().card == "Made on the page"
    assert "model alice/tiny (not loaded by this command)" in output


def test_users_tasks_and_licences_already_present_are_not_rewritten(tmp_path):
    load(tmp_path)
    User.objects.filter(username="alice").update(role=User.Role.CURATOR)
    Task.objects.filter(slug="text-generation").update(name="Generating text")
    License.objects.filter(key="apache-2.0").update(category="copyleft")
    load(tmp_path)
    assert User.objects.get(username="alice").role == User.Role.CURATOR
    assert Task.objects.get(slug="text-generation").name == "Generating text"
    assert License.objects.get(key="apache-2.0").category == "copyleft"
    load(tmp_path, V1, "--update")
    assert License.objects.get(key="apache-2.0").category == "permissive"


def test_a_licence_resolved_later_from_the_declared_string_is_not_an_edit(tmp_path):
    data = copy.deepcopy(V1)
    data["models"][1]["license"] = "Llama 3 Community License"
    load(tmp_path, data)
    llama = License.objects.create(key="llama-3-license-2024", name="Llama 3", category="use_restricted")
    LicenseAlias.objects.create(alias="llama 3 community license", license=llama)
    MLModel.objects.filter(pk=tiny().pk).update(license=llama)  # what load_licenses' re-resolution does
    output = load(tmp_path, data)
    assert "kept" not in output and tiny().license == llama


def test_the_knowledge_base_keeps_a_curators_licence_edit_and_stops_reporting_updates(tmp_path):
    first = StringIO()
    call_command("load_licenses", "--no-resolve", stdout=first)
    load(tmp_path)  # records carrying licences the knowledge base also has
    License.objects.filter(key="mit").update(category="copyleft", name="MIT (curated)")  # a curator's edit
    again = StringIO()
    call_command("load_licenses", "--no-resolve", stdout=again)
    assert "0 licences created, 0 updated" in again.getvalue()
    assert "kept 1 licences edited since they were loaded" in again.getvalue()
    assert "mit (edited: category, name)" in again.getvalue()
    assert License.objects.get(key="mit").category == "copyleft"
    call_command("load_licenses", "--no-resolve", "--update", stdout=StringIO())
    assert License.objects.get(key="mit").category == "permissive"
    assert LoadedRecord.objects.filter(kind="license", key="mit").exists()
