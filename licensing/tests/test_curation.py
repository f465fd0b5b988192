"""Curated entries refine the imported licence terms; changing a licence's category keeps what ModelGo
says each reuse produces (licensing.knowledge.apply_curated)."""

import pytest

from licensing.knowledge import (
    Entry,
    apply_curated,
    apply_modelgo,
    apply_no_derivatives,
    build_entries,
    default_reuse,
    scancode_entries,
)


def imported_reuse() -> dict[str, dict]:
    entries = scancode_entries()
    apply_modelgo(entries)
    apply_no_derivatives(entries)
    return {key: dict(e.terms["reuse"]) for key, e in entries.items() if e.terms.get("modelgo_id")}


@pytest.mark.parametrize(
    "key, category", [("opt-175b", "non_commercial"), ("c-uda-1.0", "permissive"), ("seer", "non_commercial")]
)
def test_a_curated_category_keeps_modelgos_reuse_terms(key, category):
    imported, built = imported_reuse(), build_entries()[0]
    assert built[key].category == category and built[key].terms["modelgo_id"]
    assert built[key].terms["reuse"] == imported[key] != default_reuse(category)


def test_opt_175b_fine_tunes_may_not_be_shared_as_modelgo_reads_the_agreement():
    reuse = build_entries()[0]["opt-175b"].terms["reuse"]
    assert (reuse["fine_tune"], reuse["merge"], reuse["quantization"]) == ("unshared", "unshared", "copy")


def test_curated_reuse_still_overrides_the_imported_terms_and_entries_without_them_take_the_defaults(tmp_path):
    curated = tmp_path / "curated.yml"
    curated.write_text(
        "- {key: imported, category: non_commercial, reuse: {distillation: forbidden}}\n"
        "- {key: plain, category: non_commercial}\n"
    )
    entries = {"imported": Entry(key="imported", name="Imported"), "plain": Entry(key="plain", name="Plain")}
    entries["imported"].category = entries["plain"].category = "permissive"
    entries["imported"].terms = {"modelgo_id": "IMP", "reuse": {**default_reuse("permissive"), "fine_tune": "unshared"}}
    entries["plain"].terms = {"reuse": {**default_reuse("permissive"), "fine_tune": "unshared"}}

    apply_curated(entries, path=curated)

    assert entries["imported"].terms["reuse"] == {
        **default_reuse("permissive"),
        "fine_tune": "unshared",
        "distillation": "forbidden",
    }
    assert entries["imported"].commercial_use is False  # the category's other defaults still apply
    assert entries["plain"].terms["reuse"] == default_reuse("non_commercial")
