"""Licence version families: which later versions a derivative may be released under (docs/licensing.md)."""

import pytest

from licensing import services
from licensing.knowledge import build_entries
from licensing.tests.factories import derive, model

pytestmark = pytest.mark.django_db

LLAMA = {
    "llama-2-license-2023": "llama-2",
    "llama-3-license-2024": "llama-3",
    "llama-3.1-license-2024": "llama-3",
    "llama-3.2-license-2024": "llama-3",
    "llama-3.3-license-2024": "llama-3",
    "llama-4-license-2025": "llama-4",
}


def codes(result) -> dict[str, str]:
    return {f["code"]: f["severity"] for f in result.findings}


def test_the_llama_licences_are_in_their_families_with_their_later_versions():
    entries = build_entries()[0]

    assert {key: entries[key].terms.get("family") for key in LLAMA} == LLAMA
    assert entries["llama-3-license-2024"].terms["successors"] == [
        "llama-3.1-license-2024",
        "llama-3.2-license-2024",
        "llama-3.3-license-2024",
    ]
    assert entries["llama-3.2-license-2024"].terms["successors"] == ["llama-3.3-license-2024"]
    assert not entries["llama-3.3-license-2024"].terms.get("successors")
    assert not entries["llama-2-license-2023"].terms.get("successors")


def test_a_llama_3_derivative_relicensed_under_llama_3_1_is_not_a_relicensing_violation():
    base = model("Meta-Llama-3-8B", "llama-3-license-2024")
    tuned = model("Llama-3-8B-tuned", "llama-3.1-license-2024")
    derive(tuned, base)

    result = services.analyse_model(tuned.pk)

    assert not result.has_violations
    assert "relicensed-derivative" not in codes(result)
    assert codes(result)["successor-licence"] == "obligation"
    successor = next(f for f in result.findings if f["code"] == "successor-licence")
    assert "Meta Llama 3 Community License Agreement still governs" in successor["text"]


@pytest.mark.parametrize(
    "upstream, declared",
    [
        ("llama-3.1-license-2024", "llama-3-license-2024"),  # an earlier version does not grant the later material
        ("llama-2-license-2023", "llama-3-license-2024"),  # another generation's agreement
        ("llama-3.3-license-2024", "llama-4-license-2025"),
        ("llama-3-license-2024", "apache-2.0"),
    ],
)
def test_a_llama_derivative_under_anything_but_a_later_version_of_its_family_is_still_a_violation(upstream, declared):
    base = model("base", upstream)
    tuned = model("tuned", declared)
    derive(tuned, base)

    result = services.analyse_model(tuned.pk)

    assert codes(result).get("relicensed-derivative") == "violation"


def test_a_successor_outside_the_family_is_refused_when_the_knowledge_base_is_built(tmp_path):
    curated = tmp_path / "curated.yml"
    curated.write_text(
        "- {key: old-1, name: Old 1, category: proprietary, family: old, successors: [other-2]}\n"
        "- {key: other-2, name: Other 2, category: proprietary, family: other}\n"
    )

    with pytest.raises(ValueError, match="successor 'other-2' is not a licence of the same family"):
        build_entries(curated=curated)
