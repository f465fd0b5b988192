import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from catalog.models import Dataset, MLModel
from catalog.tests.factories import DatasetFactory, MLModelFactory, UserFactory
from licensing.knowledge import apply_curated
from licensing.models import ComplianceReport, License, LicenseAlias
from licensing.services import resolve_license
from licensing.tests.factories import derive, model

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def apollo():
    gemma = model("gemma-2-9b", "gemma-tou-2024-04-01", owner=UserFactory(username="google"))
    apollo = model("Apollo2-9B", "apache-2.0", owner=UserFactory(username="FreedomIntelligence"))
    derive(apollo, gemma)
    fine = model("fine", "mit")
    derive(fine, model("apache-base", "apache-2.0"))
    return apollo


def test_check_license_exits_1_on_a_violation_and_prints_why(apollo):
    out = StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("check_license", "FreedomIntelligence/Apollo2-9B", stdout=out)

    assert exc.value.returncode == 1
    assert "relicensed-derivative" in out.getvalue()
    assert "google/gemma-2-9b" in out.getvalue()
    assert ComplianceReport.objects.get(model=apollo).has_violations


def test_check_license_exits_0_without_violations_and_answers_a_purpose(apollo):
    out = run("check_license", "maker/fine", "--purpose", "commercial")

    assert "attribution-required" in out
    assert "May I use it for commercial? conditional" in out


def test_check_license_prints_json(apollo):
    out = StringIO()
    with pytest.raises(CommandError):
        call_command(
            "check_license", "FreedomIntelligence/Apollo2-9B", "--json", "--purpose", "redistribution", stdout=out
        )

    data = json.loads(out.getvalue())
    assert data["has_violations"] is True
    assert list(data["verdicts"]) == ["redistribution"]


@pytest.mark.parametrize("name", ["no-slash", "nobody/nothing", "/x"])
def test_check_license_exits_2_on_a_bad_model_name(name):
    with pytest.raises(CommandError) as exc:
        call_command("check_license", name)
    assert exc.value.returncode == 2


def test_check_license_rejects_an_unknown_purpose(apollo):
    with pytest.raises(CommandError):
        call_command("check_license", "maker/fine", "--purpose", "fun")


def test_check_licenses_analyses_the_whole_catalogue(apollo):
    out = run("check_licenses", "--all")

    assert f"analysed {MLModel.objects.count()} models" in out
    assert "1 with violations" in out
    assert ComplianceReport.objects.count() == MLModel.objects.count()
    with pytest.raises(CommandError) as strict:
        call_command("check_licenses", "--all", "--strict", stdout=StringIO())
    assert strict.value.returncode == 1
    with pytest.raises(CommandError) as neither:
        call_command("check_licenses")
    assert neither.value.returncode == 2


def test_load_licenses_builds_the_knowledge_base_and_is_idempotent():
    owner = UserFactory(username="hf")
    tagged = {
        tag: MLModelFactory(owner=owner, name=f"m-{i}", license_declared=tag)
        for i, tag in enumerate(["llama3.1", "OpenRAIL", "Meta Llama 3 Community License Agreement", "Custom"])
    }
    unknown = MLModelFactory(owner=owner, name="strange", license_declared="Totally Custom Licence v7")
    data = DatasetFactory(owner=owner, name="d", license_declared="apache-2.0 AND cc-by-nc-sa-4.0")

    dry = run("load_licenses", "--dry-run")
    assert License.objects.count() == 0 and "[dry run]" in dry

    first = run("load_licenses")
    count = License.objects.count()
    second = run("load_licenses")

    assert count > 2000 and License.objects.count() == count
    assert "0 licences created, 0 updated" in second and "created" in first
    assert LicenseAlias.objects.count() > count
    resolved = {tag: MLModel.objects.get(pk=m.pk).license for tag, m in tagged.items()}
    assert resolved["llama3.1"].key == "llama-3.1-license-2024"
    assert resolved["OpenRAIL"].category == "use_restricted"
    assert resolved["Meta Llama 3 Community License Agreement"].key == "llama-3-license-2024"
    assert resolved["Custom"].category == "unknown"  # resolved to "other", still flagged unknown-license
    assert MLModel.objects.get(pk=unknown.pk).license is None
    assert MLModel.objects.get(pk=unknown.pk).license_declared == "Totally Custom Licence v7"
    assert Dataset.objects.get(pk=data.pk).license.key == "cc-by-nc-sa-4.0"  # AND keeps the most restrictive


def test_hugging_face_tags_and_spdx_expressions_resolve():
    run("load_licenses", "--no-resolve")
    expected = {
        "apache-2.0": ("apache-2.0", "permissive"),
        "mit": ("mit", "permissive"),
        "openrail": ("openrail", "use_restricted"),
        "creativeml-openrail-m": ("creativeml-openrail-m", "use_restricted"),
        "llama2": ("llama-2-license-2023", "proprietary"),
        "llama3.1": ("llama-3.1-license-2024", "proprietary"),
        "gemma": ("gemma-tou-2024-04-01", "proprietary"),
        "cc-by-nc-4.0": ("cc-by-nc-4.0", "non_commercial"),
        "other": ("other", "unknown"),
        "Apache-2.0": ("apache-2.0", "permissive"),
        "MIT OR Apache-2.0": ("mit", "permissive"),
        "GPL-3.0-or-later WITH Classpath-exception-2.0": ("gpl-3.0-plus", "copyleft"),
    }
    for text, (key, category) in expected.items():
        lic = resolve_license(text)
        assert (lic.key, lic.category) == (key, category), text
    for agreement in ("llama2", "llama3.1", "gemma"):
        assert resolve_license(agreement).is_agreement
    assert resolve_license("Totally Custom Licence v7") is None
    assert resolve_license("MIT AND Nonsense-1.0") is None
    assert resolve_license("") is None


def test_curated_data_with_an_unknown_field_is_refused_clearly(tmp_path):
    bad = tmp_path / "curated.yml"
    bad.write_text("- key: mit\n  colour: blue\n")

    with pytest.raises(ValueError, match="unknown fields"):
        apply_curated({}, path=bad)
