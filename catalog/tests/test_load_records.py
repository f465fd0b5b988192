import json
from collections import Counter

import pytest
from django.apps import apps
from django.contrib.auth.hashers import identify_hasher
from django.core.management import CommandError, call_command

from accounts.models import Affiliation, User
from catalog.models import CNNDetails, Dataset, MLModel, ModelDataset, ModelLineage, RNNDetails, TransformerDetails
from catalog.records import RecordError, load_records

pytestmark = pytest.mark.django_db


def table_counts() -> dict[str, int]:
    return {
        m._meta.label: m.objects.count()
        for m in apps.get_models()
        if m._meta.app_label in ("catalog", "accounts", "licensing")
    }


def write(tmp_path, data, name="records.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def load(path, *args):
    call_command("load_records", str(path), *args, stdout=open("/dev/null", "w"))


V1 = {
    "format": "openmodelhub/records-v1",
    "affiliations": [{"name": "Stanford University"}],
    "users": [{"username": "alice", "affiliations": ["Stanford University"], "password": "s3cret-pass"}],
    "licenses": [
        {"key": "apache-2.0", "spdx_id": "Apache-2.0", "name": "Apache License 2.0", "category": "permissive"}
    ],
    "tasks": [{"slug": "text-generation", "name": "Text generation", "modality": "text"}],
    "datasets": [
        {
            "owner": "alice",
            "name": "shop",
            "media": ["tabular"],
            "domains": ["Retail"],
            "license": "CC-BY-4.0",
            "instances_number": 10,
            "informed_consent": True,
            "global_missing_percentage": 2.5,
            "files": [
                {
                    "path": "users.csv",
                    "row_count": 3,
                    "columns": [
                        {
                            "name": "user_id",
                            "data_type_interpreted": "identifier",
                            "is_pii": True,
                            "is_primary_key_component": True,
                            "example_values": ["u1"],
                        },
                        {"name": "age", "data_type_interpreted": "numerical", "stats": {"min": 18}},
                    ],
                },
                {"path": "orders.csv", "columns": [{"name": "order_id"}, {"name": "customer_id"}]},
            ],
            "relationships": [
                {
                    "from_file": "orders.csv",
                    "to_file": "users.csv",
                    "relationship_type": "foreign_key",
                    "column_links": [{"from_column": "customer_id", "to_column": "user_id"}],
                }
            ],
        }
    ],
    "models": [
        {
            "owner": "alice",
            "name": "tiny-ft",
            "media": ["text"],
            "tasks": ["text-generation"],
            "training_type": "finetune",
            "license": "apache-2.0",
            "architecture": {"family": "transformer", "decoder_count": 2},
            "bases": [{"model": "alice/tiny", "relation": "fine_tune"}],
            "datasets": [{"dataset": "alice/shop", "role": "fine_tuned_on"}],
        },
        {
            "owner": "alice",
            "name": "tiny",
            "parameter_count": 5_000_000_000,
            "authors": ["alice"],
            "architecture": {
                "family": "cnn",
                "module_count": 2,
                "modules": [{"conv_size": 3, "pooling_type": "max"}, {"conv_size": 5, "pooling_type": "avg"}],
            },
        },
    ],
}


def test_it_loads_the_projects_own_format_with_every_part(tmp_path):
    load(write(tmp_path, V1))
    ft = MLModel.objects.get(owner__username="alice", name="tiny-ft")
    assert ft.license.key == "apache-2.0" and ft.transformer.decoder_count == 2
    assert [b.name for b in ft.bases.all()] == ["tiny"]
    assert ft.dataset_links.get().role == "fine_tuned_on"
    tiny = MLModel.objects.get(name="tiny")
    assert [(m.conv_size, m.pooling_type) for m in tiny.cnn.modules.all()] == [(3, "max"), (5, "avg")]
    assert tiny.parameter_count == 5_000_000_000
    shop = Dataset.objects.get(name="shop")
    assert shop.license is None and shop.license_declared == "CC-BY-4.0"  # kept, not dropped
    assert [d.slug for d in shop.domains.all()] == ["retail"]
    users_file = shop.files.get(path="users.csv")
    assert [(c.name, c.position, c.is_pii) for c in users_file.columns.all()] == [
        ("user_id", 1, True),
        ("age", 2, False),
    ]
    link = shop.relationships.get().column_links.get()
    assert (link.from_column.name, link.to_column.name) == ("customer_id", "user_id")
    alice = User.objects.get(username="alice")
    assert [a.name for a in alice.affiliations.all()] == ["Stanford University"]
    assert alice.check_password("s3cret-pass") and alice.password != "s3cret-pass"


def test_the_fingerprints_kept_from_what_was_written_equal_a_read_back(tmp_path):
    """New models are fingerprinted from the rows in memory (catalog.baselines.model_state), not read back:
    a read of the same rows gives the same fingerprints, every part of them (details, modules, links, bases)."""
    from catalog import baselines
    from catalog.models import LoadedRecord
    from licensing.services import resolve_license

    load(write(tmp_path, V1))
    kept = {r.object_id: r.state for r in LoadedRecord.objects.filter(kind=LoadedRecord.Kind.MODEL)}
    assert len(kept) == 2
    assert baselines.model_states(kept, resolve_license) == kept


def test_loading_the_same_file_twice_creates_no_duplicates(tmp_path):
    path = write(tmp_path, V1)
    load(path)
    before = table_counts()
    load(path)
    assert table_counts() == before


def test_dry_run_checks_everything_and_writes_nothing(tmp_path):
    before = table_counts()
    load(write(tmp_path, V1), "--dry-run")
    assert table_counts() == before


def with_change(section: str, index: int, **changes) -> dict:
    data = json.loads(json.dumps(V1))
    data[section][index].update(changes)
    return data


@pytest.mark.parametrize(
    "data,expected",
    [
        ('{"format": "openmodelhub/records-v1", "models": [', "malformed JSON"),
        (with_change("models", 1, architecture={"family": "mamba"}), "models[1] 'tiny', field 'architecture.family'"),
        (with_change("models", 1, parameter_count=-3), "models[1] 'tiny', field 'parameter_count'"),
        (with_change("models", 0, name=""), "models[0] '', field 'name'"),
        (with_change("datasets", 0, instances_number=-1), "field 'instances_number'"),
        (with_change("datasets", 0, global_missing_percentage=150), "field 'global_missing_percentage'"),
        (with_change("models", 0, bases=[{"model": "alice/nowhere", "relation": "fine_tune"}]), "unknown model"),
        (with_change("models", 0, media=["smell"]), "field 'media'"),
        (with_change("models", 0, colour="red"), "field 'colour': unknown field"),
        (with_change("models", 1, bases=[{"model": "alice/tiny-ft", "relation": "merge"}]), "cycle"),
        (with_change("users", 0, role="emperor"), "users[0], field 'role'"),
    ],
)
def test_bad_input_names_the_record_and_field_and_leaves_the_database_unchanged(tmp_path, data, expected):
    load(write(tmp_path, V1, "good.json"))  # something already there must survive untouched
    before = table_counts()
    with pytest.raises(CommandError, match="Nothing was written") as err:
        load(write(tmp_path, data))
    assert expected in str(err.value)
    assert table_counts() == before


def test_bad_input_after_good_records_rolls_everything_back(tmp_path):
    data = with_change(
        "models", 1, architecture={"family": "cnn", "modules": [{"conv_size": -1, "pooling_type": "max"}]}
    )
    before = table_counts()
    with pytest.raises(RecordError, match="conv_size"):
        load_records(data)
    assert table_counts() == before
    assert not Dataset.objects.filter(name="shop").exists()


def test_unknown_architecture_in_the_original_format_is_refused(tmp_path):
    data = {"model": [{"model_name": "X", "arch_name": "Mamba", "media_type": "text", "task": []}]}
    with pytest.raises(CommandError, match=r"model\[0\] 'X', field 'arch_name'"):
        load(write(tmp_path, data))
    assert not MLModel.objects.exists()


@pytest.mark.argon2
def test_the_original_seed_file_loads_completely(shared_data):
    load(shared_data / "openmodelhub-original" / "demo.json")
    original = json.loads((shared_data / "openmodelhub-original" / "demo.json").read_text())
    assert Affiliation.objects.count() == 12
    seed_users = User.objects.filter(username__in=[u["user_name"] for u in original["user"]])
    assert seed_users.count() == 28
    assert seed_users.filter(role="admin").count() == 2
    assert all(identify_hasher(u.password).algorithm == "argon2" for u in seed_users)
    assert seed_users.get(username="Alice").check_password("admin")
    assert Dataset.objects.count() == 100 and MLModel.objects.count() == 92
    families = Counter(MLModel.objects.values_list("architecture_family", flat=True))
    assert families == {"transformer": 52, "rnn": 30, "cnn": 10}
    assert TransformerDetails.objects.count() == 52 and RNNDetails.objects.count() == 30
    assert CNNDetails.objects.count() == 10
    resnets = MLModel.objects.filter(name__startswith="ResNet-50").order_by("name")
    assert [m.name for m in resnets] == ["ResNet-50", "ResNet-50-2"]
    assert resnets[0].cnn.modules.count() == 5
    hf = Dataset.objects.get(owner__username="JovialValley", name="syllable_totaldataset_3")
    assert hf.instances_number == 487 and hf.files.get().columns.count() == 5


def test_the_original_relationships_become_authors_and_dataset_links(shared_data):
    path = shared_data / "openmodelhub-original" / "demo_with_relationships.json"
    load(path)
    raw = json.loads(path.read_text())
    assert MLModel.authors.through.objects.count() == len({(r["model_id"], r["user_id"]) for r in raw["model_author"]})
    assert ModelDataset.objects.count() == len({(r["model_id"], r["ds_id"]) for r in raw["model_dataset"]})
    assert Dataset.authors.through.objects.count() == len({(r["user_id"], r["ds_id"]) for r in raw["user_ds"]})
    before = table_counts()
    load(path)
    assert table_counts() == before


def test_the_shipped_demo_fixtures_load_and_reload_cleanly(settings):
    from django.conf import settings as django_settings

    path = django_settings.BASE_DIR / "fixtures" / "demo.json"
    load(path)
    assert MLModel.objects.count() >= 200 and Dataset.objects.count() >= 150
    assert ModelLineage.objects.exists()
    assert MLModel.objects.filter(parameter_count__gt=0).count() >= 200
    before = table_counts()
    load(path)
    assert table_counts() == before
