"""Croissant 1.1 export and import (issue 21, item 4), validated with MLCommons' own mlcroissant."""

import io
import json
import re
from pathlib import Path

import mlcroissant as mlc
import pytest
from django.core.management import CommandError, call_command
from django.test import TestCase

from accounts.models import AuditEvent, User
from catalog import files
from catalog.croissant.exporting import export_dataset
from catalog.croissant.parsing import parse_files
from catalog.models import Dataset, DatasetFile, DatasetRelationship, DatasetRelationshipColumnLink, FileColumn
from catalog.tests.factories import DatasetFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("file_store", "eager_celery")]

BASE = "http://testserver"
DIGEST = re.compile(r"[0-9a-fA-F]{32}|[0-9a-fA-F]{64}")
CHECKSUM_ERROR = "At least one of these properties should be defined: ['md5', 'sha256']"


def upload(user, dataset, path: str, data: bytes):
    with TestCase.captureOnCommitCallbacks(execute=True):
        version = files.upload_file(user=user, asset=dataset, path=path, content=io.BytesIO(data))
    version.refresh_from_db()
    assert version.status == "ready", version.reason
    return version


def croissant_errors(doc: dict, tmp_path: Path) -> list[str]:
    """mlcroissant's validation errors for the document (it raises on any)."""
    path = tmp_path / "croissant.json"
    path.write_text(json.dumps(doc))
    try:
        mlc.Dataset(jsonld=path)
    except mlc.ValidationError as exc:
        errors = str(exc).split("warning(s)")[0]  # the warnings (recommended properties) follow the errors
        return [line.strip(" -") for line in errors.splitlines() if line.strip().startswith("-")]
    return []


@pytest.fixture
def described(owner):
    """A dataset with two stored CSV files, a foreign key between them and ethics metadata."""
    dataset = DatasetFactory(
        owner=owner,
        name="patients",
        card="Hospital visits.\n\n## Citation\n\n```\n@misc{visits, title={Visits}}\n```",
        objective="Benchmark triage models.",
        representativity_description="Two hospitals in one city.",
        informed_consent=True,
        anonymization_applied=False,
        year=2021,
        instances_number=3,
    )
    people = upload(owner, dataset, "data/people.csv", b"person_id,email,age\n1,a@example.org,34\n2,b@example.org,51\n")
    upload(owner, dataset, "data/visits.csv", b"visit_id,person_id,day\n10,1,2024-01-02\n11,2,2024-02-03\n")
    people_file = DatasetFile.objects.get(dataset=dataset, path="data/people.csv")
    visits_file = DatasetFile.objects.get(dataset=dataset, path="data/visits.csv")
    FileColumn.objects.filter(dataset_file=people_file, name="email").update(is_pii=True)
    FileColumn.objects.filter(dataset_file=people_file, name="person_id").update(is_primary_key_component=True)
    rel = DatasetRelationship.objects.create(
        dataset=dataset, from_file=visits_file, to_file=people_file, relationship_type="foreign_key"
    )
    DatasetRelationshipColumnLink.objects.create(
        relationship=rel,
        from_column=visits_file.columns.get(name="person_id"),
        to_column=people_file.columns.get(name="person_id"),
    )
    return dataset, people


def test_the_export_of_a_stored_dataset_passes_mlcroissant_with_checksums_fields_and_rai(described, client, tmp_path):
    dataset, people = described
    response = client.get(f"/api/v1/datasets/{dataset.owner.username}/patients/croissant")
    assert response.status_code == 200 and response["Content-Type"] == "application/ld+json"
    doc = response.json()
    assert croissant_errors(doc, tmp_path) == []
    assert "http://mlcommons.org/croissant/1.1" in doc["conformsTo"]
    files_by_id = {f["@id"]: f for f in doc["distribution"]}
    assert files_by_id["data/people.csv"]["sha256"] == people.sha256
    assert (
        files_by_id["data/people.csv"]["contentUrl"] == f"{BASE}/api/v1/datasets/owner/patients/resolve/data/people.csv"
    )
    assert client.get(files_by_id["data/people.csv"]["contentUrl"]).status_code == 200
    fields = {f["@id"]: f for rs in doc["recordSet"] for f in rs["field"]}
    assert fields["data/people.csv#records/age"]["dataType"] == ["sc:Integer"]
    assert fields["data/visits.csv#records/person_id"]["references"] == {
        "field": {"@id": "data/people.csv#records/person_id"}
    }
    assert doc["rai:dataUseCases"] == "Benchmark triage models."
    assert doc["rai:dataBiases"] == "Two hospitals in one city."
    assert "data/people.csv: email" in doc["rai:personalSensitiveInformation"]
    assert (doc["omh:informedConsent"], doc["omh:anonymizationApplied"], doc["omh:year"]) == (True, False, 2021)
    assert doc["citeAs"] == "@misc{visits, title={Visits}}"
    assert doc["description"] == "Hospital visits."


def test_a_private_dataset_is_404_for_a_stranger_as_a_missing_one(owner, stranger, client):
    DatasetFactory(owner=owner, name="secret", visibility="private")
    client.force_login(stranger)
    hidden = client.get("/api/v1/datasets/owner/secret/croissant")
    missing = client.get("/api/v1/datasets/owner/no-such/croissant")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()
    client.force_login(owner)
    assert client.get("/api/v1/datasets/owner/secret/croissant").status_code == 200


def test_the_dataset_page_links_to_the_export(owner, client):
    DatasetFactory(owner=owner, name="linked")
    page = client.get("/datasets/owner/linked/")
    assert b'href="/api/v1/datasets/owner/linked/croissant"' in page.content


def test_an_export_imports_back_into_the_same_metadata(described, grantee, tmp_path):
    dataset, _ = described
    doc = export_dataset(dataset, base_url=BASE)
    source = tmp_path / "patients.json"
    source.write_text(json.dumps(doc))
    call_command("load_croissant", str(source), "--user", "grantee", stdout=io.StringIO())
    copy = Dataset.objects.get(owner=grantee, name="patients")
    assert (copy.informed_consent, copy.anonymization_applied, copy.year) == (True, False, 2021)
    assert (copy.objective, copy.card) == (dataset.objective, dataset.card)
    assert set(copy.files.values_list("path", flat=True)) == {"data/people.csv", "data/visits.csv"}
    link = DatasetRelationshipColumnLink.objects.get(relationship__dataset=copy)
    assert (link.from_column.name, link.to_column.dataset_file.path) == ("person_id", "data/people.csv")
    assert AuditEvent.objects.filter(action="asset.create", actor=grantee).count() == 1
    assert AuditEvent.objects.filter(action="dataset.croissant_import", actor=grantee).count() == 1


def _original(doc: dict) -> tuple[set, dict]:
    """File paths and (path, column) -> data types, as the one parser reads a document."""
    parsed = parse_files(doc)
    fields = {(f["path"], c["name"]): c["data_type_original"] for f in parsed.files for c in f.get("columns", [])}
    return {f["path"] for f in parsed.files}, fields


def test_the_shared_examples_import_and_round_trip(shared_data, owner, grantee, tmp_path):
    examples = shared_data / "croissant-examples"
    out = io.StringIO()
    call_command("load_croissant", str(examples), "--user", "owner", stdout=out)
    sources = sorted(examples.glob("*.json"))
    lines = [line for line in out.getvalue().splitlines() if ": created owner/" in line]
    created = {line.split(": created ")[0]: line.split(" owner/")[1].split(" (")[0] for line in lines}
    assert len(sources) == 32 and Dataset.objects.filter(owner=owner).count() == 32
    source_of = {name: Path(source) for source, name in created.items()}
    exported = tmp_path / "exported"
    call_command("export_croissant", "--all", "--as", "owner", "--out", str(exported), stdout=io.StringIO())
    for dataset in Dataset.objects.filter(owner=owner):
        doc = json.loads((exported / "owner" / f"{dataset.name}.json").read_text())
        assert doc["name"] == dataset.name
        # Files the hub does not store keep the checksums their document gave: the export validates
        # unless the original gave a FileObject no well-formed digest (e.g. a URL as its "sha256").
        errors = croissant_errors(doc, tmp_path)
        lacking = any(
            isinstance(x, dict)
            and x.get("@type") == "cr:FileObject"
            and not any(DIGEST.fullmatch(str(x.get(k, ""))) for k in ("sha256", "md5"))
            for x in json.loads(source_of[dataset.name].read_text()).get("distribution", [])
        )
        assert all(CHECKSUM_ERROR in error for error in errors) and (lacking or not errors), (dataset.name, errors)
    call_command("load_croissant", str(exported / "owner"), "--user", "grantee", stdout=io.StringIO())
    for source in sources:
        original = json.loads(source.read_text())
        paths, fields = _original(original)
        name = created[str(source)]
        for copy in (Dataset.objects.get(owner=owner, name=name), Dataset.objects.get(owner=grantee, name=name)):
            assert set(copy.files.values_list("path", flat=True)) == paths, source.name
            columns = FileColumn.objects.filter(dataset_file__dataset=copy)
            got = {(p, n): t for p, n, t in columns.values_list("dataset_file__path", "name", "data_type_original")}
            assert got == fields, source.name


def test_loading_the_same_documents_again_changes_nothing(shared_data, owner):
    examples = shared_data / "croissant-examples"
    call_command("load_croissant", str(examples / "titanic.json"), "--user", "owner", stdout=io.StringIO())

    def state():
        return (
            list(Dataset.objects.values_list("name", "card", "license_declared", "documentation_link")),
            list(DatasetFile.objects.order_by("path").values_list("path", "format", "size_bytes")),
            list(FileColumn.objects.order_by("dataset_file__path", "position").values_list("name", "position")),
            DatasetRelationship.objects.count(),
            DatasetRelationshipColumnLink.objects.count(),
        )

    before = state()
    call_command("load_croissant", str(examples / "titanic.json"), "--user", "owner", stdout=io.StringIO())
    assert state() == before
    assert before[3] == 2  # passengers -> genders and embarkation ports


@pytest.mark.parametrize(
    "change, message",
    [
        ({"omh:year": 3000}, "omh:year: Ensure this value is less than or equal to 2100."),
        ({"omh:informedConsent": {"a": 1}}, "omh:informedConsent: must be a text, a number or true/false"),
        ({"@type": "sc:Thing"}, "@type: not a Croissant document"),
    ],
)
def test_a_bad_document_names_the_file_and_property_and_writes_nothing(shared_data, owner, tmp_path, change, message):
    doc = json.loads((shared_data / "croissant-examples" / "titanic.json").read_text())
    doc.update(change)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    good = tmp_path / "good.json"
    good.write_text((shared_data / "croissant-examples" / "simple-join.json").read_text())
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 of 2 document"):
        call_command("load_croissant", str(tmp_path), "--user", "owner", stdout=io.StringIO(), stderr=err)
    assert f"{bad}: {message}" in err.getvalue()
    assert list(Dataset.objects.values_list("name", flat=True)) == ["simple-join"]
    assert not DatasetFile.objects.exclude(dataset__name="simple-join").exists()


def test_malformed_json_and_unknown_users_are_refused(owner, tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text('{"@type": "sc:Dataset",')
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("load_croissant", str(bad), "--user", "owner", stdout=io.StringIO(), stderr=err)
    assert f"{bad}: malformed JSON at line 1" in err.getvalue()
    with pytest.raises(CommandError, match="--user: no user 'nobody'"):
        call_command("load_croissant", str(bad), "--user", "nobody")


def test_the_export_command_writes_only_what_the_user_may_see(owner, stranger, tmp_path):
    DatasetFactory(owner=owner, name="open")
    DatasetFactory(owner=owner, name="secret", visibility="private")
    out = io.StringIO()
    call_command("export_croissant", "owner/open", stdout=out)
    assert json.loads(out.getvalue())["name"] == "open"
    with pytest.raises(CommandError, match="owner/secret: no such dataset"):
        call_command("export_croissant", "owner/secret", "--as", "stranger")
    call_command("export_croissant", "--all", "--out", str(tmp_path), stdout=io.StringIO())
    assert sorted(p.name for p in (tmp_path / "owner").iterdir()) == ["open.json"]
    assert User.objects.count() == 2


def test_a_dry_run_checks_and_reports_but_writes_nothing(shared_data, owner):
    out = io.StringIO()
    example = shared_data / "croissant-examples" / "titanic.json"
    call_command("load_croissant", str(example), "--user", "owner", "--dry-run", stdout=out)
    summary = f"(dry run) {example}: created owner/Titanic (3 dataset files, 19 columns, 2 relationships)"
    assert summary in out.getvalue()
    assert not Dataset.objects.exists() and not AuditEvent.objects.filter(action__startswith="dataset.").exists()
