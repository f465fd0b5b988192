import pytest

from catalog.models import MLModel, ModelLineage
from catalog.tests.factories import UserFactory
from licensing import compliance, services
from licensing.models import ComplianceReport
from licensing.tests.factories import dataset, derive, license_for, model, train

pytestmark = pytest.mark.django_db


def codes(result, severity=None) -> set[str]:
    return {f["code"] for f in result.findings if severity is None or f["severity"] == severity}


def finding(result, code) -> dict:
    return next(f for f in result.findings if f["code"] == code)


def path_names(f, result) -> list[str]:
    return [result.assets[ref] for ref in f["path"]]


def test_a_gemma_fine_tune_declared_apache_is_a_relicensing_violation():
    gemma = model("gemma-2-9b", "gemma-tou-2024-04-01", owner=UserFactory(username="google"))
    apollo = model("Apollo2-9B", "apache-2.0", owner=UserFactory(username="FreedomIntelligence"))
    derive(apollo, gemma)

    result = services.analyse_model(apollo.pk)

    assert result.has_violations
    f = finding(result, "relicensed-derivative")
    assert f["severity"] == "violation"
    assert path_names(f, result) == ["FreedomIntelligence/Apollo2-9B", "google/gemma-2-9b"]
    assert ComplianceReport.objects.get(model=apollo).has_violations


def test_an_apache_fine_tune_under_mit_is_fine_with_an_attribution_obligation():
    base = model("base", "apache-2.0")
    tuned = model("tuned", "mit")
    derive(tuned, base)

    result = services.analyse_model(tuned.pk)

    assert not result.has_violations
    assert codes(result) == {"attribution-required"}
    assert finding(result, "attribution-required")["severity"] == "obligation"


def test_a_model_trained_on_a_non_commercial_dataset_and_released_under_apache_gets_non_commercial_upstream():
    data = dataset("nc-corpus", "cc-by-nc-4.0")
    released = model("released", "apache-2.0")
    train(released, data)

    result = services.analyse_model(released.pk)

    f = finding(result, "non-commercial-upstream")
    assert f["severity"] == "violation"
    assert f["path"][-1] == f"dataset:{data.pk}"
    assert result.assets[f["path"][-1]] == "maker/nc-corpus"
    assert result.verdicts["commercial"]["answer"] == "no"
    assert result.verdicts["research"]["answer"] in ("yes", "conditional")


def test_a_llama_3_1_quantization_kept_under_llama_3_1_is_fine_with_its_obligations():
    llama = model("Llama-3.1-8B", "llama-3.1-license-2024")
    quant = model("Llama-3.1-8B-GGUF", "llama-3.1-license-2024")
    derive(quant, llama, "quantization")

    result = services.analyse_model(quant.pk)

    assert not result.has_violations
    assert codes(result, "warning") == set()
    assert {"attribution-required", "use-restrictions-apply"} <= codes(result, "obligation")
    assert result.verdicts["commercial"]["answer"] == "conditional"


def test_an_evaluation_dataset_does_not_bind_the_model():
    data = dataset("nc-benchmark", "cc-by-nc-4.0")
    released = model("released", "apache-2.0")
    train(released, data, role="evaluated_on")

    assert "non-commercial-upstream" not in codes(services.analyse_model(released.pk))


# --- one test per finding code ---------------------------------------------------------------


def test_relicensed_derivative_is_found_through_an_intermediate_model():
    gemma = model("gemma", "gemma-tou-2024-04-01")
    middle = model("middle", "apache-2.0")
    leaf = model("leaf", "apache-2.0")
    derive(middle, gemma)
    derive(leaf, middle, "quantization")

    result = services.analyse_model(leaf.pk)
    f = finding(result, "relicensed-derivative")

    assert f["severity"] == "violation"
    assert path_names(f, result) == ["maker/leaf", "maker/middle", "maker/gemma"]


def test_copyleft_not_preserved():
    gpl = model("gpl-model", "gpl-3.0")
    tuned = model("tuned", "mit")
    derive(tuned, gpl)

    f = finding(services.analyse_model(tuned.pk), "copyleft-not-preserved")

    assert f["severity"] == "violation"
    assert "share-alike" in f["text"]


def test_copyleft_preserved_under_the_same_licence_is_fine():
    sa = model("sa-model", "cc-by-sa-4.0")
    tuned = model("tuned", "cc-by-sa-4.0")
    derive(tuned, sa)

    assert "copyleft-not-preserved" not in codes(services.analyse_model(tuned.pk))


def test_non_commercial_upstream_model():
    nc = model("nc-model", "cc-by-nc-4.0")
    tuned = model("tuned", "mit")
    derive(tuned, nc)

    assert finding(services.analyse_model(tuned.pk), "non-commercial-upstream")["severity"] == "violation"


def test_use_restrictions_not_propagated():
    sd = model("stable-diffusion", "creativeml-openrail-m")
    tuned = model("tuned", "mit")
    derive(tuned, sd)

    result = services.analyse_model(tuned.pk)

    assert finding(result, "use-restrictions-not-propagated")["severity"] == "violation"


def test_use_restrictions_propagated_to_another_openrail_licence_are_fine():
    sd = model("stable-diffusion", "creativeml-openrail-m")
    tuned = model("tuned", "openrail")
    derive(tuned, sd)

    result = services.analyse_model(tuned.pk)

    assert not result.has_violations
    assert "use-restrictions-apply" in codes(result, "obligation")


def test_missing_license_on_an_ancestor():
    anonymous = model("no-licence")
    tuned = model("tuned", "apache-2.0")
    derive(tuned, anonymous)

    result = services.analyse_model(tuned.pk)

    f = finding(result, "missing-license")
    assert f["severity"] == "warning"
    assert path_names(f, result) == ["maker/tuned", "maker/no-licence"]
    assert result.verdicts["commercial"]["answer"] == "unclear"


def test_missing_license_on_the_model_itself_means_no_right_is_granted():
    bare = model("bare")

    result = services.analyse_model(bare.pk)

    assert path_names(finding(result, "missing-license"), result) == ["maker/bare"]
    assert result.verdicts["commercial"]["answer"] == "no"


def test_unknown_license_keeps_the_declared_string():
    odd = model("odd", declared="Totally Custom Licence v7")

    result = services.analyse_model(odd.pk)

    f = finding(result, "unknown-license")
    assert f["declared"] == "Totally Custom Licence v7"
    assert MLModel.objects.get(pk=odd.pk).license_declared == "Totally Custom Licence v7"
    assert result.verdicts["research"]["answer"] == "unclear"


def test_attribution_required_for_a_cc_by_training_dataset():
    data = dataset("wiki", "cc-by-4.0")
    trained = model("trained", "apache-2.0")
    train(trained, data, role="fine_tuned_on")

    assert finding(services.analyse_model(trained.pk), "attribution-required")["severity"] == "obligation"


def test_incompatible_merge_of_two_agreements():
    llama = model("llama", "llama-3.1-license-2024")
    gemma = model("gemma", "gemma-tou-2024-04-01")
    merged = model("merged", "llama-3.1-license-2024")
    derive(merged, llama, "merge")
    derive(merged, gemma, "merge")

    result = services.analyse_model(merged.pk)
    f = finding(result, "incompatible-merge")

    assert f["severity"] == "violation"
    assert {result.assets[f["path"][-1]], result.assets[f["other"]]} == {"maker/llama", "maker/gemma"}


def test_reuse_not_permitted_when_distilling_llama_2():
    llama2 = model("llama-2", "llama-2-license-2023")
    student = model("student", "llama-2-license-2023")
    derive(student, llama2, "distillation")

    assert finding(services.analyse_model(student.pk), "reuse-not-permitted")["severity"] == "violation"


def test_a_public_domain_base_carries_no_terms():
    cc0 = model("cc0-model", "cc0-1.0")
    tuned = model("tuned", "mit")
    derive(tuned, cc0)

    assert services.analyse_model(tuned.pk).findings == []


# --- bounded queries ---------------------------------------------------------------------------


def _chain(depth: int, key: str) -> MLModel:
    owner = UserFactory(username="deep")
    lic = license_for(key)
    models = MLModel.objects.bulk_create(
        [MLModel(owner=owner, name=f"m{i}", license=lic, license_declared=key) for i in range(depth + 1)]
    )
    ModelLineage.objects.bulk_create(
        [ModelLineage(model=models[i + 1], base=models[i], relation="fine_tune") for i in range(depth)]
    )
    return models[-1]


def test_a_depth_50_lineage_is_analysed_with_a_bounded_number_of_queries(django_assert_max_num_queries):
    leaf = _chain(50, "apache-2.0")
    root = MLModel.objects.get(owner__username="deep", name="m0")
    root.license = license_for("gemma-tou-2024-04-01")
    root.save()

    with django_assert_max_num_queries(3):  # one recursive read (prepared once per connection), one upsert
        result = services.analyse_model(leaf.pk)

    assert result.ancestor_count == 50
    assert len(finding(result, "relicensed-derivative")["path"]) == 51


def test_a_lineage_of_1000_ancestors_is_analysed_with_a_bounded_number_of_queries(django_assert_max_num_queries):
    owner = UserFactory(username="wide")
    apache, nc = license_for("apache-2.0"), license_for("cc-by-nc-4.0")
    parents = MLModel.objects.bulk_create(
        [MLModel(owner=owner, name=f"p{i}", license=nc if i == 999 else apache) for i in range(1000)]
    )
    merged = MLModel.objects.create(owner=owner, name="soup", license=apache)
    ModelLineage.objects.bulk_create([ModelLineage(model=merged, base=p, relation="merge") for p in parents])
    datasets = [dataset(f"d{i}", "cc-by-4.0", owner=owner) for i in range(5)]
    for d in datasets:
        train(parents[0], d)

    with django_assert_max_num_queries(3):
        result = services.analyse_model(merged.pk)

    assert result.ancestor_count == 1000
    assert result.dataset_count == 5
    assert "non-commercial-upstream" in codes(result)
    # findings are deduplicated per licence, not one per ancestor
    assert len(result.findings) < 10


# --- what a viewer is told ---------------------------------------------------------------------


def test_a_private_ancestor_is_not_named_to_a_stranger(owner, stranger):
    secret = model("secret-base", "gemma-tou-2024-04-01", owner=owner, visibility="private")
    public = model("public-child", "apache-2.0", owner=owner)
    derive(public, secret)
    result = services.analyse_model(public.pk)

    for_stranger = compliance.present(result.findings, result.verdicts, stranger)
    for_owner = compliance.present(result.findings, result.verdicts, owner)

    text = str(for_stranger)
    assert "secret-base" not in text
    relicensed = next(f for f in for_stranger["findings"] if f["code"] == "relicensed-derivative")
    assert relicensed["path"][-1] == {"kind": "model", "name": compliance.HIDDEN_NAME, "hidden": True}
    assert compliance.HIDDEN_NAME in relicensed["explanation"]
    assert "owner/secret-base" in str(for_owner)


def test_analysing_twice_keeps_one_report():
    m = model("again", "apache-2.0")
    services.analyse_model(m.pk)
    services.analyse_model(m.pk)

    assert ComplianceReport.objects.filter(model=m).count() == 1


def test_many_models_are_analysed_and_stored_in_batches():
    owner = UserFactory(username="many")
    gemma, apache = license_for("gemma-tou-2024-04-01"), license_for("apache-2.0")
    roots = MLModel.objects.bulk_create([MLModel(owner=owner, name=f"r{i}", license=gemma) for i in range(150)])
    leaves = MLModel.objects.bulk_create([MLModel(owner=owner, name=f"l{i}", license=apache) for i in range(150)])
    ModelLineage.objects.bulk_create(
        [ModelLineage(model=leaf, base=root, relation="fine_tune") for leaf, root in zip(leaves, roots, strict=True)]
    )

    assert services.analyse_models(None, batch_size=250) == (300, 150)
    assert services.analyse_models(None) == (300, 150)  # and again: upserts, no duplicates

    assert ComplianceReport.objects.count() == 300
    assert ComplianceReport.objects.filter(has_violations=True).count() == 150
    stored = ComplianceReport.objects.get(model=leaves[0])
    assert stored.findings[0]["code"] == "relicensed-derivative"
    assert stored.verdicts["commercial"]["answer"] == "conditional"


def test_a_large_analysis_stores_the_same_reports_as_one_by_one():
    """Past COPY_THRESHOLD reports are written in one statement of their own (PostgreSQL: COPY; SQLite: a
    prepared upsert for every row): they read back as the reports of single analyses, and a second run
    updates them in place."""
    owner = UserFactory()
    base, apache = model("gemma-base", "gemma-tou-2024-04-01"), license_for("apache-2.0")
    models = MLModel.objects.bulk_create(
        [
            MLModel(owner=owner, name=f"ft-{i}", license=apache, license_declared="apache-2.0")
            for i in range(services.COPY_THRESHOLD)
        ]
    )
    ModelLineage.objects.bulk_create([ModelLineage(model=m, base=base, relation="fine_tune") for m in models])
    ids = [m.pk for m in models]
    for _ in range(2):
        assert services.analyse_models(ids)[0] == len(ids)
    assert ComplianceReport.objects.filter(model_id__in=ids).count() == len(ids)
    stored = ComplianceReport.objects.get(model=models[7])
    single = services.analyse_model(models[7].pk, store=False)
    assert stored.findings == single.findings and stored.verdicts == single.verdicts
    assert (stored.has_violations, stored.violation_count) == (True, single.count("violation"))
    assert stored.ancestor_count == single.ancestor_count == 1 and stored.analysed_at is not None
