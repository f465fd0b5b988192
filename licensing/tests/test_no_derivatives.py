"""No-derivatives licences, from the text of CC BY-ND 4.0: §2(a)(1)(A) allows reproducing and sharing
the licensed material (verbatim copies), §2(a)(1)(B) allows producing adapted material but not sharing it."""

import pytest

from licensing import services
from licensing.knowledge import apply_modelgo, build_entries
from licensing.models import License, Reuse
from licensing.tests.factories import derive, model

pytestmark = pytest.mark.django_db

DERIVING = ["fine_tune", "adapter", "merge", "distillation", "quantization", "continued_pretraining"]


def finding(result, code) -> dict:
    return next(f for f in result.findings if f["code"] == code)


def test_cc_by_nd_allows_commercial_use_and_nc_nd_is_both_non_commercial_and_no_derivatives():
    entries = build_entries()[0]
    nd, nc_nd, nd_3 = entries["cc-by-nd-4.0"], entries["cc-by-nc-nd-4.0"], entries["cc-by-nd-3.0"]

    assert (nd.category, nd.commercial_use, nd.redistribution) == (License.Category.NO_DERIVATIVES, True, True)
    assert (nc_nd.category, nc_nd.commercial_use, nc_nd.redistribution) == (
        License.Category.NON_COMMERCIAL,
        False,
        True,
    )
    assert (nd_3.category, nd_3.commercial_use) == (License.Category.NO_DERIVATIVES, True)
    for entry in (nd, nc_nd, nd_3):
        assert {entry.terms["reuse"][r] for r in DERIVING} == {Reuse.UNSHARED}


def test_modelgo_coverage_decides_which_results_may_be_shared(tmp_path):
    data = tmp_path / "modelgo.yml"
    data.write_text(
        "- {copy: [use]}\n"
        "- short_id: Only-Copies-1.0\n"
        "  rights: [use, modify, commercial_use]\n"
        "  coverage: [duplicate]\n"
        "  terms:\n"
        "    - {usages: [use, copy], result: duplicate}\n"
        "    - {usages: [modify], result: modification}\n"
        "    - {usages: [train], result: NODEF}\n"
    )
    entries: dict = {}

    apply_modelgo(entries, path=data)

    entry = entries["only-copies-1.0"]
    assert entry.terms["reuse"]["fine_tune"] == Reuse.UNSHARED  # a modification, outside the coverage
    assert entry.terms["reuse"]["quantization"] == Reuse.COPY  # ModelGo's copy: covered
    assert entry.terms["reuse"]["training"] == Reuse.UNDEFINED  # NODEF may always be shared
    assert entry.redistribution is True  # "redistribute" is reserved, but duplicates are covered


def test_a_fine_tune_of_a_cc_by_nd_model_released_as_apache_is_a_violation_naming_the_nd_term():
    base = model("nd-base", "cc-by-nd-4.0")
    tuned = model("tuned", "apache-2.0")
    derive(tuned, base)

    result = services.analyse_model(tuned.pk)

    f = finding(result, "derivative-not-shareable")
    assert f["severity"] == "violation"
    assert "no-derivatives term" in f["text"] and "CC-BY-ND-4.0" in f["text"]
    assert result.verdicts["redistribution"]["answer"] == "no"
    assert result.verdicts["research"]["answer"] == "yes"
    assert "relicensed-derivative" not in {x["code"] for x in result.findings}


@pytest.mark.parametrize("relation", DERIVING)
@pytest.mark.parametrize("key", ["cc-by-nd-4.0", "cc-by-nc-nd-4.0"])
def test_every_derived_model_of_an_nd_model_shared_publicly_is_a_violation(key, relation):
    base = model("nd-base", key)
    derived = model("derived", key)  # even under the same licence: adapted material may not be shared
    derive(derived, base, relation)

    result = services.analyse_model(derived.pk)

    assert finding(result, "derivative-not-shareable")["severity"] == "violation"
    assert result.verdicts["redistribution"]["answer"] == "no"


def test_a_private_derivative_of_an_nd_model_may_be_made_and_used_but_not_shared():
    base = model("nd-base", "cc-by-nd-4.0")
    kept = model("kept", "cc-by-nd-4.0", visibility="private")
    derive(kept, base)

    result = services.analyse_model(kept.pk)

    assert not result.has_violations
    f = finding(result, "derivative-not-shareable")
    assert f["severity"] == "obligation" and "keep this model private" in f["text"]
    assert result.verdicts["redistribution"]["answer"] == "no"


def test_verbatim_redistribution_of_an_nd_model_is_allowed_with_attribution():
    nd = model("nd", "cc-by-nd-4.0")

    result = services.analyse_model(nd.pk)

    assert result.findings == []
    redistribution = result.verdicts["redistribution"]
    assert redistribution["answer"] == "conditional"
    assert redistribution["reasons"] == []
    assert [c["text"] for c in redistribution["conditions"]] == [
        "Keep the notices and the licence text of CC-BY-ND-4.0 with every copy you share."
    ]
    assert result.verdicts["commercial"]["answer"] == "yes"


def test_verbatim_redistribution_of_an_nc_nd_model_is_allowed_for_non_commercial_purposes_only():
    nc_nd = model("nc-nd", "cc-by-nc-nd-4.0")

    result = services.analyse_model(nc_nd.pk)

    redistribution = result.verdicts["redistribution"]
    assert redistribution["answer"] == "conditional" and redistribution["reasons"] == []
    assert "Share it only for non-commercial purposes, as CC-BY-NC-ND-4.0 requires." in [
        c["text"] for c in redistribution["conditions"]
    ]
    assert result.verdicts["commercial"]["answer"] == "no"
