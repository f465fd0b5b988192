import json
from functools import lru_cache
from pathlib import Path

import jsonschema
import pyshacl
import pytest
import rdflib
from rdflib import OWL, RDF, RDFS, SH, XSD, BNode, Literal, URIRef
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from django.core.management import call_command
from django.core.management.base import CommandError

from catalog.models import Commit, FileVersion, Ref, RepoFile
from licensing import bom
from licensing.management.commands._common import Operator
from licensing.services import license_fields
from licensing.tests.factories import dataset, derive, license_for, model, train

pytestmark = pytest.mark.django_db

SPDX_DATA = Path(__file__).resolve().parent.parent / "data" / "spdx"
SPDX_SCHEMA = SPDX_DATA / "spdx-json-schema-3.0.1.json"
SPDX_MODEL = SPDX_DATA / "spdx-model.ttl"  # the official SPDX 3.0.1 ontology with its SHACL shapes
SHA = "a" * 64
OID = "0123456789abcdef0123456789abcdef01234567"


def validate_spdx(document: dict) -> None:
    """Both official checks: the SPDX 3.0.1 JSON schema and the SHACL shapes of the SPDX 3.0.1 model."""
    errors = schema_errors(document)
    assert not errors, errors[:5]
    violations = shacl_violations(spdx_rdf(document))
    assert not violations, violations[:10]


def schema_errors(document: dict) -> list[str]:
    schema = json.loads(SPDX_SCHEMA.read_text())
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(document), key=lambda e: e.json_path)
    return [f"{e.json_path}: {e.message[:200]}" for e in errors]


@lru_cache(maxsize=1)
def spdx_model() -> tuple[rdflib.Graph, rdflib.Graph, frozenset]:
    """The vendored SPDX 3.0.1 model, parsed once: (shapes, class hierarchy, the model's own individuals).

    The shapes run on a data graph that also holds the model's ``rdf:type`` and ``rdfs:subClassOf``
    triples, so that class targets and ``sh:class`` follow the SPDX hierarchy (an ``ai_AIPackage`` is a
    ``software_Package`` is an ``Element``). The rest of the ontology (comments, ranges) plays no part
    in SHACL and only makes pyshacl five times slower."""
    shapes = rdflib.Graph().parse(SPDX_MODEL, format="turtle")
    hierarchy = rdflib.Graph()
    for triple in (*shapes.triples((None, RDFS.subClassOf, None)), *shapes.triples((None, RDF.type, None))):
        hierarchy.add(triple)
    return shapes, hierarchy, frozenset(shapes.subjects(RDF.type, OWL.NamedIndividual))


def spdx_rdf(document: dict) -> rdflib.Graph:
    """The document as RDF, read with the SPDX project's own bindings (spdx-python-model): their JSON-LD
    reader knows the 3.0.1 context, so nothing is fetched, and refuses values the model cannot hold.

    Their RDF writer (0.0.6) has two faults of its own, corrected here so that they are not blamed on the
    export: a reference to a blank node (``"creationInfo": "_:creationinfo"``) comes out as the IRI
    ``<_:...>`` instead of that blank node, and date-times come out as plain strings although every
    SPDX 3.0.1 date-time property is an ``xsd:dateTimeStamp``."""
    from spdx_python_model import v3_0_1 as spdx

    class Encoder(spdx.RDFEncoder):
        def write_iri(self, v: str, compact: str | None = None) -> None:
            self.graph.add((self.subject, self.predicate, BNode(v[2:]) if v.startswith("_:") else URIRef(v)))

        def write_datetime(self, v: str) -> None:
            self.graph.add((self.subject, self.predicate, Literal(v, datatype=XSD.dateTimeStamp)))

    objects = spdx.SHACLObjectSet()
    spdx.JSONLDDeserializer().deserialize_data(json.loads(json.dumps(document)), objects)
    graph = rdflib.Graph()
    objects.encode(Encoder(graph), spdx.EncodeState(objects))
    return graph


def shacl_violations(graph: rdflib.Graph) -> list[str]:
    """pyshacl's results against the official shapes, "focus path value: message" ([] when it conforms).

    Left out: results about the model's own named individuals (``NoAssertionLicense``, ``NoneElement``,
    ...) when the document says nothing about them. The 3.0.1 model types them as Elements without the
    ``creationInfo`` its shapes demand (spdx/spec-parser#153, spdx/spdx-3-model#936), so they fail even
    for an empty graph (``test_only_the_models_own_individuals_are_excused``)."""
    shapes, hierarchy, individuals = spdx_model()
    _conforms, report, _text = pyshacl.validate(graph, shacl_graph=shapes, ont_graph=hierarchy, inference="none")
    lines = []
    for result in report.subjects(RDF.type, SH.ValidationResult):
        focus = report.value(result, SH.focusNode)
        if focus in individuals and (focus, None, None) not in graph:
            continue
        path, value, message = (report.value(result, p) for p in (SH.resultPath, SH.value, SH.resultMessage))
        lines.append(f"{focus} {path} {value}: {message}")
    return sorted(lines)


def validate_cyclonedx(document: dict) -> None:
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(document))
    assert error is None, str(error)


@pytest.fixture
def lineage(owner):
    base = model(
        "Llama-3.1-8B",
        "llama-3.1-license-2024",
        owner=owner,
        architecture_family="transformer",
        architecture_name="LlamaForCausalLM",
    )
    quant = model("Llama-3.1-8B-GGUF", "llama-3.1-license-2024", owner=owner)
    derive(quant, base, "quantization")
    train(base, dataset("web-text", "cc-by-4.0", owner=owner, card="A corpus"))
    train(base, dataset("odd-data", declared="Custom licence", owner=owner))
    train(base, dataset("bench", "mit", owner=owner), role="evaluated_on")
    secret = model("secret", "apache-2.0", owner=owner, visibility="private")
    derive(base, secret, "continued_pretraining")
    weights = RepoFile.objects.create(model=quant, path="model.Q4_K_M.gguf")
    FileVersion.objects.create(file=weights, number=1, status="ready", size=123, sha256=SHA, storage_key="k/1")
    commit = Commit.objects.create(model=quant, oid=OID, number=1, message="Upload weights")
    Ref.objects.create(model=quant, name=Ref.MAIN, kind="branch", commit=commit)
    return quant


@pytest.fixture
def combined(lineage, owner):
    """The issue's cases in one lineage: an AND expression upstream (a dataset under CC-BY-4.0 AND
    CC-BY-NC-ND-4.0), a dataset with no licence at all and one with an unrecognised licence."""
    for key in ("cc-by-4.0", "cc-by-nc-nd-4.0"):
        license_for(key)
    base = lineage.bases.get()
    declared = "CC-BY-4.0 AND CC-BY-NC-ND-4.0"
    pictures = dataset("pictures", owner=owner, declared=declared)
    type(pictures).objects.filter(pk=pictures.pk).update(**license_fields(declared))
    train(base, pictures)
    train(base, dataset("unlabelled", owner=owner))
    return lineage


def packages_list(document: dict) -> list[dict]:
    return [e for e in document["@graph"] if e["type"] in ("ai_AIPackage", "dataset_DatasetPackage")]


def packages(document: dict) -> dict[str, dict]:
    return {e["name"]: e for e in packages_list(document)}


def licence_of(document: dict, package: dict, relation: str) -> list:
    """The licences a package has under ``relation``, as expressions (or the NoAssertionLicense individual)."""
    expressions = {
        e["spdxId"]: e["simplelicensing_licenseExpression"]
        for e in document["@graph"]
        if "simplelicensing_licenseExpression" in e
    }
    return [
        expressions.get(target, target)
        for e in document["@graph"]
        if e["type"] == "Relationship" and e["relationshipType"] == relation and e["from"] == package["spdxId"]
        for target in e["to"]
    ]


def test_every_spdx_package_has_exactly_one_declared_and_one_concluded_licence(combined, owner):
    document = bom.export(combined, "spdx", viewer=owner)

    validate_spdx(document)
    found = packages(document)
    for package in found.values():
        assert len(licence_of(document, package, "hasDeclaredLicense")) == 1, package["name"]
        assert len(licence_of(document, package, "hasConcludedLicense")) == 1, package["name"]
    pictures = found["owner/pictures"]
    assert licence_of(document, pictures, "hasDeclaredLicense") == ["CC-BY-4.0 AND CC-BY-NC-ND-4.0"]
    assert licence_of(document, pictures, "hasConcludedLicense") == ["CC-BY-4.0 AND CC-BY-NC-ND-4.0"]
    unlabelled = found["owner/unlabelled"]
    assert licence_of(document, unlabelled, "hasDeclaredLicense") == [bom.NO_ASSERTION_LICENSE]
    assert licence_of(document, unlabelled, "hasConcludedLicense") == [bom.NO_ASSERTION_LICENSE]
    odd = found["owner/odd-data"]  # declared, but nothing the hub knows: declared as given, nothing concluded
    assert licence_of(document, odd, "hasDeclaredLicense") == ["LicenseRef-omh-declared-custom-licence"]
    assert licence_of(document, odd, "hasConcludedLicense") == [bom.NO_ASSERTION_LICENSE]


def test_what_a_stranger_is_shown_conforms_as_well(combined, stranger):
    """The view with a private ancestor (unnamed, numbered ``hidden-model-1``) passes schema and shapes too."""
    document = bom.export(combined, "spdx", viewer=stranger)

    validate_spdx(document)
    hidden = [p for p in packages_list(document) if p["name"] == "a private upstream asset"]
    assert [p["spdxId"].rsplit("#", 1)[1] for p in hidden] == ["hidden-model-1"]
    assert "secret" not in json.dumps(document)


def test_the_cyclonedx_export_has_purls_expressions_pedigree_and_references(combined, owner):
    document = bom.export(combined, "cyclonedx", viewer=owner)

    validate_cyclonedx(document)
    root = document["metadata"]["component"]
    assert root["purl"] == f"pkg:huggingface/owner/Llama-3.1-8B-GGUF@{OID}"
    assert root["version"] == OID
    assert root["externalReferences"] == [{"type": "website", "url": combined.get_absolute_url()}]
    assert root["pedigree"] == {
        "variants": [
            {
                "type": "machine-learning-model",
                "name": "Llama-3.1-8B",
                "group": "owner",
                "purl": "pkg:huggingface/owner/Llama-3.1-8B",
            }
        ]
    }
    components = {c["name"]: c for c in document["components"]}
    base = components["Llama-3.1-8B"]
    assert base["pedigree"]["ancestors"] == [
        {"type": "machine-learning-model", "name": "secret", "group": "owner", "purl": "pkg:huggingface/owner/secret"}
    ]
    refs = {c["name"]: c["bom-ref"] for c in document["components"]}
    assert {d["ref"] for d in base["modelCard"]["modelParameters"]["datasets"]} == {
        refs["web-text"],
        refs["odd-data"],
        refs["pictures"],
        refs["unlabelled"],
    }
    assert base["modelCard"]["properties"] == [{"name": "openmodelhub:evaluatedOn", "value": refs["bench"]}]
    pictures = components["pictures"]
    assert pictures["type"] == "data" and pictures["data"][0]["type"] == "dataset"
    assert pictures["licenses"] == [{"expression": "CC-BY-4.0 AND CC-BY-NC-ND-4.0"}]
    assert pictures["purl"] == "pkg:huggingface/owner/pictures?repository_type=dataset"
    assert "licenses" not in components["unlabelled"]


def test_a_hidden_ancestor_stays_unnamed_in_the_pedigree(combined, stranger):
    document = bom.export(combined, "cyclonedx", viewer=stranger)

    validate_cyclonedx(document)
    base = {c["name"]: c for c in document["components"]}["Llama-3.1-8B"]
    assert base["pedigree"]["ancestors"] == [{"type": "machine-learning-model", "name": "a private upstream asset"}]
    assert "secret" not in json.dumps(document)


def test_the_spdx_export_validates_against_the_spdx_3_schema(lineage, owner):
    document = bom.export(lineage, "spdx", viewer=owner)

    validate_spdx(document)
    types = {e["type"] for e in document["@graph"]}
    assert {
        "ai_AIPackage",
        "dataset_DatasetPackage",
        "simplelicensing_LicenseExpression",
        "software_File",
        "Bom",
        "SpdxDocument",
    } <= types
    relations = {e["relationshipType"] for e in document["@graph"] if e["type"] == "Relationship"}
    assert {"descendantOf", "trainedOn", "testedOn", "hasDeclaredLicense", "contains"} <= relations
    files = [e for e in document["@graph"] if e["type"] == "software_File"]
    assert files[0]["verifiedUsing"] == [{"type": "Hash", "algorithm": "sha256", "hashValue": SHA}]


def test_the_cyclonedx_export_validates_against_the_cyclonedx_1_6_schema(lineage, owner):
    document = bom.export(lineage, "cyclonedx", viewer=owner)

    validate_cyclonedx(document)
    root = document["metadata"]["component"]
    assert root["type"] == "machine-learning-model"
    assert root["components"][0]["hashes"] == [{"alg": "SHA-256", "content": SHA}]
    types = {c["type"] for c in document["components"]}
    assert types == {"machine-learning-model", "data"}
    licences = [c.get("licenses") for c in document["components"]]
    assert [{"license": {"id": "CC-BY-4.0"}}] in licences
    assert [{"license": {"name": "Custom licence"}}] in licences


def test_the_bom_does_not_name_assets_the_viewer_may_not_see(lineage, stranger):
    for fmt in bom.FORMATS:
        document = bom.export(lineage, fmt, viewer=stranger)
        (validate_spdx if fmt == "spdx" else validate_cyclonedx)(document)
        text = json.dumps(document)
        assert "secret" not in text
        assert "a private upstream asset" in text


def test_export_bom_writes_a_file(lineage, tmp_path):
    target = tmp_path / "bom.cdx.json"

    call_command("export_bom", "owner/Llama-3.1-8B-GGUF", "--format", "cyclonedx", "-o", str(target))

    document = json.loads(target.read_text())
    validate_cyclonedx(document)
    assert "secret" in target.read_text()  # the operator at the terminal sees everything


def test_export_bom_refuses_bad_input_and_writes_nothing(lineage, tmp_path):
    with pytest.raises(CommandError) as missing:
        call_command("export_bom", "owner/nope", "-o", str(tmp_path / "x.json"))
    with pytest.raises(CommandError) as bad_dir:
        call_command("export_bom", "owner/Llama-3.1-8B-GGUF", "-o", str(tmp_path / "no" / "x.json"))

    assert missing.value.returncode == 2 and "no model" in str(missing.value)
    assert bad_dir.value.returncode == 2
    assert list(tmp_path.iterdir()) == []


def test_the_operator_viewer_sees_everything(lineage):
    assert "owner/secret" in json.dumps(bom.export(lineage, "spdx", viewer=Operator()))


def test_the_shapes_catch_what_the_schema_lets_through(lineage, owner):
    """The SHACL check is real: a relationship to an element the document never declares is well-formed
    for the JSON schema, but the shapes require every ``to`` to be an SPDX Element."""
    document = bom.export(lineage, "spdx", viewer=owner)
    trained = next(e for e in document["@graph"] if e.get("relationshipType") == "trainedOn")
    nowhere = trained["from"].rsplit("#", 1)[0] + "#nowhere"
    trained["to"] = [nowhere]

    assert schema_errors(document) == []
    violations = shacl_violations(spdx_rdf(document))
    assert len(violations) == 1, violations
    assert violations[0] == (
        f"{trained['spdxId']} https://spdx.org/rdf/3.0.1/terms/Core/to {nowhere}: "
        "Value does not have class <https://spdx.org/rdf/3.0.1/terms/Core/Element>"
    )


def test_only_the_models_own_individuals_are_excused():
    """The 3.0.1 model's individuals fail its own shapes even with no document at all; that, and nothing
    else, is what ``shacl_violations`` leaves out."""
    shapes, hierarchy, individuals = spdx_model()
    _conforms, report, _text = pyshacl.validate(
        rdflib.Graph(), shacl_graph=shapes, ont_graph=hierarchy, inference="none"
    )
    failing = {report.value(r, SH.focusNode) for r in report.subjects(RDF.type, SH.ValidationResult)}

    assert failing and failing <= individuals
    assert shacl_violations(rdflib.Graph()) == []
