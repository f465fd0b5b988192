"""Build a large, realistic synthetic catalogue for benchmarks and load tests.

Rows are generated in Python from a seeded random generator and written in batches: with
PostgreSQL through ``COPY ... FROM STDIN`` (psycopg 3), elsewhere with ``executemany`` inserts.
Model and dataset ids are reserved up front so that many-to-many rows, architecture details and
lineage edges can be written without reading anything back. Lineage edges always point at a
model with a smaller id, so the generated lineage is acyclic by construction.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, models, transaction

from accounts.models import Affiliation, User
from catalog import cache_scopes
from catalog.models import (
    CNNDetails,
    CNNModule,
    Dataset,
    DatasetFile,
    Domain,
    MediaType,
    MLModel,
    ModelDataset,
    ModelLineage,
    RNNDetails,
    Task,
    TransformerDetails,
)
from licensing.models import License
from openmodelhub.progress import progress

# A few licences created when the licence table is (nearly) empty: key, SPDX id, name, category, weight.
FALLBACK_LICENSES = [
    ("apache-2.0", "Apache-2.0", "Apache License 2.0", "permissive", 30),
    ("mit", "MIT", "MIT License", "permissive", 20),
    ("cc-by-4.0", "CC-BY-4.0", "Creative Commons Attribution 4.0", "permissive", 8),
    ("bsd-new", "BSD-3-Clause", "BSD 3-Clause License", "permissive", 4),
    ("openrail-m", "", "BigScience OpenRAIL-M", "use_restricted", 8),
    ("llama-3-community", "", "Llama 3 Community License", "proprietary", 8),
    ("cc-by-nc-4.0", "CC-BY-NC-4.0", "Creative Commons Attribution-NonCommercial 4.0", "non_commercial", 6),
    ("gpl-3.0", "GPL-3.0-only", "GNU General Public License 3.0", "copyleft", 3),
    ("cc0-1.0", "CC0-1.0", "Creative Commons Zero 1.0", "public_domain", 3),
]

# slug, name, modality: used when the task table is empty.
FALLBACK_TASKS = [
    ("text-generation", "Text generation", "text"),
    ("text-classification", "Text classification", "text"),
    ("token-classification", "Token classification", "text"),
    ("question-answering", "Question answering", "text"),
    ("translation", "Translation", "text"),
    ("summarization", "Summarization", "text"),
    ("image-classification", "Image classification", "image"),
    ("object-detection", "Object detection", "image"),
    ("image-segmentation", "Image segmentation", "image"),
    ("text-to-image", "Text to image", "multimodal"),
    ("automatic-speech-recognition", "Automatic speech recognition", "audio"),
    ("audio-classification", "Audio classification", "audio"),
    ("text-to-speech", "Text to speech", "audio"),
    ("video-classification", "Video classification", "video"),
    ("tabular-classification", "Tabular classification", "tabular"),
    ("tabular-regression", "Tabular regression", "tabular"),
    ("time-series-forecasting", "Time series forecasting", "tabular"),
    ("visual-question-answering", "Visual question answering", "multimodal"),
    ("reinforcement-learning", "Reinforcement learning", "other"),
]

FALLBACK_DOMAINS = [
    "healthcare",
    "finance",
    "education",
    "legal",
    "science",
    "e-commerce",
    "social-media",
    "news",
    "government",
    "automotive",
    "agriculture",
    "entertainment",
    "code",
    "biology",
    "climate",
]

FIRST = [
    "ada",
    "bela",
    "chen",
    "dara",
    "emil",
    "fatma",
    "goran",
    "hana",
    "ivo",
    "jun",
    "kira",
    "lars",
    "mina",
    "noor",
    "omar",
    "pia",
    "quinn",
    "rafa",
    "sana",
    "tomas",
    "uma",
    "vera",
    "wei",
    "xena",
    "yuki",
    "zoe",
]
ORGS = ["lab", "ai", "research", "labs", "group", "nlp", "vision", "ml", "data", "collective"]
MODEL_STEMS = {
    "transformer": [
        "llama",
        "mistral",
        "qwen",
        "phi",
        "gemma",
        "falcon",
        "bert",
        "roberta",
        "t5",
        "gpt",
        "bloom",
        "deberta",
        "whisper",
        "vit",
        "clip",
        "bart",
        "electra",
        "olmo",
        "pythia",
        "mpt",
    ],
    "cnn": ["resnet", "efficientnet", "convnext", "mobilenet", "yolo", "unet", "densenet", "vgg", "regnet"],
    "rnn": ["lstm", "gru", "seq2seq", "deepspeech", "wavernn", "charrnn"],
    "other": ["xgboost", "mamba", "rwkv", "diffusion", "gbdt", "tabnet", "ppo-agent", "nerf"],
}
ARCH_NAMES = {
    "transformer": [
        "LlamaForCausalLM",
        "MistralForCausalLM",
        "BertForMaskedLM",
        "T5ForConditionalGeneration",
        "ViTForImageClassification",
        "WhisperForConditionalGeneration",
        "GPT2LMHeadModel",
    ],
    "cnn": ["ResNet", "EfficientNet", "ConvNeXt", "MobileNetV3", "YOLOv8", "UNet"],
    "rnn": ["LSTM", "GRU", "BiLSTM-CRF", "Seq2Seq"],
    "other": ["Mamba", "RWKV", "GradientBoosting", "UNet2DConditionModel", ""],
}
SUFFIXES = ["base", "large", "small", "instruct", "chat", "v2", "tiny", "xl", "uncased", "distilled", "code", "med"]
FAMILY_MEDIA = {
    "transformer": [("text", 70), ("image", 10), ("audio", 6), ("multimodal", 10), ("video", 2), ("tabular", 2)],
    "cnn": [("image", 80), ("video", 10), ("audio", 6), ("other", 4)],
    "rnn": [("text", 40), ("audio", 35), ("tabular", 20), ("other", 5)],
    "other": [("tabular", 35), ("image", 20), ("text", 15), ("other", 20), ("multimodal", 10)],
}
FILE_KINDS = [
    ("csv", "text/csv"),
    ("parquet", "application/vnd.apache.parquet"),
    ("jsonl", "application/jsonl"),
    ("json", "application/json"),
    ("arrow", "application/vnd.apache.arrow.file"),
    ("tar", "application/x-tar"),
]
RELATIONS = [
    ("fine_tune", 45),
    ("adapter", 18),
    ("quantization", 18),
    ("merge", 6),
    ("distillation", 7),
    ("continued_pretraining", 6),
]
LEVELS = ["", "low", "medium", "high"]
BALANCES = ["", "balanced", "moderately_imbalanced", "highly_imbalanced"]
ETHICS_TRUE_SHARE = {
    "informed_consent": 0.45,
    "transparency": 0.6,
    "user_control": 0.3,
    "equity_non_discrimination": 0.4,
    "security_measures_in_place": 0.55,
    "data_quality_documented": 0.65,
    "anonymization_applied": 0.5,
    "record_keeping_policy_exists": 0.35,
    "purpose_limitation_respected": 0.5,
    "accountability_defined": 0.4,
}


class Picker:
    """A weighted choice with the cumulative weights computed once (random.choices recomputes them)."""

    def __init__(self, values, weights):
        self.values = list(values)
        self.cumulative = list(itertools.accumulate(weights))
        self.total = self.cumulative[-1]

    @classmethod
    def of(cls, pairs) -> Picker:
        return cls([p[0] for p in pairs], [p[1] for p in pairs])

    def __call__(self, rnd: random.Random):
        return self.values[bisect.bisect_right(self.cumulative, rnd.random() * self.total)]


FAMILY = Picker(("transformer", "cnn", "rnn", "other"), (70, 12, 5, 13))
TRAINING = Picker(("pretrain", "finetune", "rl", ""), (35, 55, 4, 6))
ROLE = Picker(("trained_on", "evaluated_on", "fine_tuned_on"), (60, 25, 15))
RELATION = Picker.of(RELATIONS)
MEDIA_BY_FAMILY = {family: Picker.of(pairs) for family, pairs in FAMILY_MEDIA.items()}
DATASET_MEDIA = Picker(("text", "image", "audio", "video", "tabular", "multimodal", "other"), (40, 20, 8, 4, 18, 7, 3))
FILE_COUNT = Picker((1, 2, 3, 4), (35, 35, 20, 10))


class RowWriter:
    """Writes tuples into a table: COPY on PostgreSQL, executemany elsewhere.

    Columns not named by the generator get the field's Python default, so that fields added to the
    models later (with a default) do not break the command.
    """

    def __init__(self, model: type[models.Model], columns: list[str]):
        fields = {f.attname: f for f in model._meta.concrete_fields if not getattr(f, "generated", False)}
        unknown = set(columns) - set(fields)
        if unknown:
            raise CommandError(f"{model.__name__} has no column(s) {sorted(unknown)}")
        self.model = model
        self.fields = [fields[c] for c in columns]
        skipped = [f for name, f in fields.items() if name not in columns and not f.primary_key]
        self.extra_fields = [f for f in skipped if not (f.null and not f.has_default())]
        self.extra_values = tuple(self._default(f) for f in self.extra_fields)
        self.all_fields = self.fields + self.extra_fields
        self.table = model._meta.db_table
        self.count = 0

    @staticmethod
    def _default(f):
        value = f.get_default()
        if connection.vendor == "postgresql":
            return f.get_db_prep_save(value, connection)
        return value

    def write(self, rows: list[tuple]) -> None:
        if not rows:
            return
        qn = connection.ops.quote_name
        cols = ", ".join(qn(f.column) for f in self.all_fields)
        extra = self.extra_values
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {qn(self.table)} ({cols}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row + extra)
            else:
                fields = self.all_fields
                prepared = [
                    tuple(f.get_db_prep_save(v, connection) for f, v in zip(fields, row + extra, strict=True))
                    for row in rows
                ]
                marks = ", ".join(["%s"] * len(fields))
                cursor.executemany(f"INSERT INTO {qn(self.table)} ({cols}) VALUES ({marks})", prepared)
        self.count += len(rows)


def reserve_ids(model: type[models.Model], n: int) -> int:
    """Reserve n consecutive primary keys and return the first one."""
    table = model._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f'LOCK TABLE "{table}" IN EXCLUSIVE MODE')
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            seq = cursor.fetchone()[0]
            cursor.execute(
                f'SELECT GREATEST((SELECT COALESCE(MAX(id), 0) FROM "{table}"), (SELECT last_value FROM {seq}))'
            )
            first = cursor.fetchone()[0] + 1
            cursor.execute("SELECT setval(%s, %s)", [seq, first + n - 1])
            return first
        cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')
        return cursor.fetchone()[0] + 1


@dataclass
class Plan:
    models: int
    datasets: int
    users: int
    affiliations: int
    batch: int
    seed: int
    made: dict = field(default_factory=dict)


class Command(BaseCommand):
    help = (
        "Generate a realistic synthetic catalogue: users and affiliations, models (media, tasks, licences, "
        "log-normal parameter counts, architecture details, lineage trees with merges), datasets (EXAI fields, "
        "ethics flags, domains, file metadata) and model-dataset links. Uses COPY on PostgreSQL. Safe to run "
        "twice: every run adds new rows with new names. Shows progress: a bar on a terminal, a line every "
        "OMH_PROGRESS_SECONDS otherwise, nothing with --verbosity 0."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--models", type=int, required=True, help="number of models to create")
        parser.add_argument("--datasets", type=int, required=True, help="number of datasets to create")
        parser.add_argument("--users", type=int, help="number of owners to create (default: models/500, at least 20)")
        parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
        parser.add_argument("--batch", type=int, default=10_000, help="rows per batch and transaction (default 10000)")
        parser.add_argument("--dry-run", action="store_true", help="print the plan and write nothing")

    def handle(self, *args, **opts) -> None:
        for name in ("models", "datasets", "batch"):
            if opts[name] is None or opts[name] < (1 if name == "batch" else 0):
                raise CommandError(f"--{name} must be {'positive' if name == 'batch' else 'zero or more'}.")
        if opts["users"] is not None and opts["users"] < 1:
            raise CommandError("--users must be positive.")
        n_users = opts["users"] or max(20, (opts["models"] + opts["datasets"]) // 500)
        plan = Plan(opts["models"], opts["datasets"], n_users, max(3, n_users // 40), opts["batch"], opts["seed"])
        self.stdout.write(
            f"Plan: {plan.models:,} models, {plan.datasets:,} datasets, {plan.users:,} users, "
            f"{plan.affiliations:,} affiliations (seed {plan.seed}, batches of {plan.batch:,}, {connection.vendor})"
        )
        if opts["dry_run"]:
            self.stdout.write("Dry run: nothing written.")
            return
        started = time.perf_counter()
        Generator(plan, self.stdout, opts["verbosity"]).run()
        if any(plan.made.values()):
            cache_scopes.bump_generation()  # cached insights and facet counts include the new rows
        elapsed = time.perf_counter() - started
        for label, count in plan.made.items():
            self.stdout.write(f"  {label:<28} {count:>12,}")
        rate = plan.models / elapsed if elapsed else 0
        self.stdout.write(self.style.SUCCESS(f"Done in {elapsed:.1f} s ({rate:,.0f} models/s)."))


class Generator:
    def __init__(self, plan: Plan, stdout, verbosity: int = 1):
        self.plan = plan
        self.out = stdout
        self.verbosity = verbosity
        self.rnd = random.Random(plan.seed)
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.start = self.now - timedelta(days=4 * 365)

    # --- reference tables -------------------------------------------------------------------
    def prepare_reference_data(self) -> None:
        if License.objects.count() < 3:
            for key, spdx, name, category, _ in FALLBACK_LICENSES:
                License.objects.get_or_create(key=key, defaults={"spdx_id": spdx, "name": name, "category": category})
        weights = {k: w for k, _, _, _, w in FALLBACK_LICENSES}
        licenses = list(License.objects.values_list("id", "key"))
        self.license = Picker([pk for pk, _ in licenses], [weights.get(key, 1) for _, key in licenses])
        self.license_keys = dict(licenses)
        if not Task.objects.exists():
            Task.objects.bulk_create([Task(slug=s, name=n, modality=m) for s, n, m in FALLBACK_TASKS])
        self.tasks_by_media: dict[str, list[int]] = {}
        all_tasks = list(Task.objects.values_list("id", "modality"))
        for task_id, modality in all_tasks:
            self.tasks_by_media.setdefault(modality, []).append(task_id)
        self.all_task_ids = [t for t, _ in all_tasks]
        if Domain.objects.count() < 5:
            for slug in FALLBACK_DOMAINS:
                Domain.objects.get_or_create(slug=slug, defaults={"name": slug.replace("-", " ").capitalize()})
        self.domain_ids = list(Domain.objects.values_list("id", flat=True))
        self.media = list(MediaType.objects.values_list("slug", flat=True))

    def make_people(self) -> None:
        plan, rnd = self.plan, self.rnd
        tag = reserve_ids(User, 0)  # keeps names unique across runs
        affiliations = Affiliation.objects.bulk_create(
            [
                Affiliation(name=f"{rnd.choice(FIRST).title()} {rnd.choice(ORGS).title()} {tag}-{i}")
                for i in range(plan.affiliations)
            ]
        )
        users = [
            User(
                username=f"{rnd.choice(FIRST)}-{rnd.choice(ORGS)}-{tag + i}",
                email=f"u{tag + i}@example.org",
                password="!synthetic",
                role=User.Role.USER,
            )
            for i in range(plan.users)
        ]
        # User.save() would set the staff flags; bulk_create skips it and role "user" needs none.
        users = User.objects.bulk_create(users, batch_size=plan.batch)
        if not users[0].pk:
            users = list(User.objects.filter(username__in=[u.username for u in users]))
        self.user_ids = [u.pk for u in users]
        # Activity follows a power law: a few owners upload most assets.
        self.owner = Picker(self.user_ids, [1.0 / (rank + 1) ** 0.9 for rank in range(len(self.user_ids))])
        self.user_names = {u.pk: u.username for u in users}
        Membership = User.affiliations.through
        links = [
            Membership(user_id=uid, affiliation_id=rnd.choice(affiliations).pk)
            for uid in self.user_ids
            if rnd.random() < 0.7
        ]
        Membership.objects.bulk_create(links, batch_size=plan.batch)
        plan.made["users"] = len(users)
        plan.made["affiliations"] = len(affiliations)
        plan.made["affiliation memberships"] = len(links)

    def created_at(self) -> datetime:
        # More assets every month: the density grows linearly over the four years.
        span = (self.now - self.start).total_seconds()
        return self.start + timedelta(seconds=span * math.sqrt(self.rnd.random()))

    # --- models -----------------------------------------------------------------------------
    def run(self) -> None:
        self.prepare_reference_data()
        self.make_people()
        first_dataset = reserve_ids(Dataset, self.plan.datasets) if self.plan.datasets else None
        self.dataset_range = (first_dataset, self.plan.datasets)
        self.make_datasets()  # first: models link to them
        self.make_models()

    def make_models(self) -> None:
        plan = self.plan
        if not plan.models:
            return
        first = reserve_ids(MLModel, plan.models)
        # Link rows first: the foreign keys are deferred to the commit, and the search-vector trigger
        # on the model rows then sees their tasks, instead of a link trigger rewriting every model.
        w = {
            "tasks": RowWriter(MLModel.tasks.through, ["mlmodel_id", "task_id"]),
            "model": RowWriter(
                MLModel,
                [
                    "id",
                    "owner_id",
                    "name",
                    "card",
                    "visibility",
                    "license_id",
                    "license_declared",
                    "downloads",
                    "likes",
                    "created_at",
                    "updated_at",
                    "training_type",
                    "architecture_family",
                    "architecture_name",
                    "parameter_count",
                ],
            ),
            "media": RowWriter(MLModel.media.through, ["mlmodel_id", "mediatype_id"]),
            "authors": RowWriter(MLModel.authors.through, ["mlmodel_id", "user_id"]),
            "lineage": RowWriter(ModelLineage, ["model_id", "base_id", "relation", "created_at"]),
            "transformer": RowWriter(
                TransformerDetails,
                ["model_id", "decoder_count", "attention_size", "up_size", "down_size", "embedding_size"],
            ),
            "cnn": RowWriter(CNNDetails, ["model_id", "module_count"]),
            "cnn_modules": RowWriter(CNNModule, ["cnn_id", "position", "conv_size", "pooling_type"]),
            "rnn": RowWriter(RNNDetails, ["model_id", "criterion", "batch_size", "input_size"]),
            "datasets": RowWriter(ModelDataset, ["model_id", "dataset_id", "role"]),
        }
        with progress(plan.models, "models", stdout=self.out, verbosity=self.verbosity) as bar:
            for start in range(0, plan.models, plan.batch):
                ids = range(first + start, first + min(plan.models, start + plan.batch))
                rows = {key: [] for key in w}
                for model_id in ids:
                    self.model_rows(model_id, first, rows)
                with transaction.atomic():
                    for key, writer in w.items():
                        writer.write(rows[key])
                bar.advance(len(ids))
        labels = {
            "model": "models",
            "media": "model media",
            "tasks": "model tasks",
            "authors": "model authors",
            "lineage": "lineage edges",
            "transformer": "transformer details",
            "cnn": "CNN details",
            "cnn_modules": "CNN modules",
            "rnn": "RNN details",
            "datasets": "model-dataset links",
        }
        for key, writer in w.items():
            plan.made[labels[key]] = writer.count

    def model_rows(self, model_id: int, first: int, rows: dict) -> None:
        rnd = self.rnd
        family = FAMILY(rnd)
        owner = self.owner(rnd)
        stem = rnd.choice(MODEL_STEMS[family])
        name = f"{stem}-{rnd.choice(SUFFIXES)}-{model_id}"
        params = None if rnd.random() < 0.03 else int(min(2e12, max(1e3, rnd.lognormvariate(math.log(3e8), 2.2))))
        created = self.created_at()
        updated = min(self.now, created + timedelta(days=rnd.expovariate(1 / 30)))
        license_id = None
        if rnd.random() > 0.12:
            license_id = self.license(rnd)
        downloads = int(rnd.lognormvariate(4, 2.5))
        training = TRAINING(rnd)
        card = (
            f"# {name}\n\nA {family} model for {stem} style workloads, "
            f"{'fine-tuned' if training == 'finetune' else 'trained'} by {self.user_names[owner]}."
        )
        rows["model"].append(
            (
                model_id,
                owner,
                name,
                card,
                "public" if rnd.random() < 0.85 else "private",
                license_id,
                self.license_keys.get(license_id, ""),
                downloads,
                int(downloads * rnd.random() * 0.05),
                created,
                updated,
                training,
                family,
                rnd.choice(ARCH_NAMES[family]),
                params,
            )
        )
        media = {MEDIA_BY_FAMILY[family](rnd)}
        if rnd.random() < 0.1:
            media.add(rnd.choice(self.media))
        tasks: set[int] = set()
        for m in media:
            rows["media"].append((model_id, m))
            candidates = self.tasks_by_media.get(m) or self.all_task_ids
            tasks.add(rnd.choice(candidates))
        if rnd.random() < 0.25:
            tasks.add(rnd.choice(self.all_task_ids))
        rows["tasks"].extend((model_id, t) for t in tasks)
        rows["authors"].append((model_id, owner))
        self.architecture_rows(model_id, family, rows)
        self.lineage_rows(model_id, first, created, rows)
        if self.dataset_range[0] and rnd.random() < 0.3:
            ds_first, ds_n = self.dataset_range
            role = ROLE(rnd)
            rows["datasets"].append((model_id, ds_first + rnd.randrange(ds_n), role))

    def architecture_rows(self, model_id: int, family: str, rows: dict) -> None:
        rnd = self.rnd
        if family == "transformer":
            emb = rnd.choice((512, 768, 1024, 2048, 4096, 5120, 8192))
            rows["transformer"].append((model_id, rnd.choice((6, 12, 24, 32, 40, 80)), emb, emb * 4, emb, emb))
        elif family == "cnn":
            n = rnd.randint(2, 5)
            rows["cnn"].append((model_id, n))
            rows["cnn_modules"].extend(
                (model_id, pos, rnd.choice((3, 5, 7)), rnd.choice(("max", "avg"))) for pos in range(1, n + 1)
            )
        elif family == "rnn":
            rows["rnn"].append(
                (
                    model_id,
                    rnd.choice(("cross_entropy", "ctc", "mse")),
                    rnd.choice((16, 32, 64)),
                    rnd.choice((40, 80, 128, 256)),
                )
            )

    def lineage_rows(self, model_id: int, first: int, created: datetime, rows: dict) -> None:
        """Derive from earlier models only (smaller id), so the graph has no cycle."""
        rnd = self.rnd
        earlier = model_id - first
        if earlier < 2 or rnd.random() > 0.4:
            return
        relation = RELATION(rnd)
        if rnd.random() < 0.5:
            # A popular foundation model among the first 1% ...
            bases = {first + rnd.randrange(max(1, min(earlier, self.plan.models // 100)))}
        else:
            # ... or a recent model, which may itself be derived: this grows deep chains.
            bases = {model_id - 1 - rnd.randrange(min(earlier, 50))}
        if relation == "merge":
            for _ in range(rnd.randint(1, 2)):
                bases.add(first + rnd.randrange(earlier))
        rows["lineage"].extend((model_id, base, relation, created) for base in bases if base != model_id)

    # --- datasets ---------------------------------------------------------------------------
    def make_datasets(self) -> None:
        plan = self.plan
        if not plan.datasets:
            return
        first, _ = self.dataset_range
        ethics = list(ETHICS_TRUE_SHARE)
        w = {  # link rows first, as for models
            "tasks": RowWriter(Dataset.tasks.through, ["dataset_id", "task_id"]),
            "domains": RowWriter(Dataset.domains.through, ["dataset_id", "domain_id"]),
            "dataset": RowWriter(
                Dataset,
                [
                    "id",
                    "owner_id",
                    "name",
                    "card",
                    "visibility",
                    "license_id",
                    "license_declared",
                    "downloads",
                    "likes",
                    "created_at",
                    "updated_at",
                    "year",
                    "objective",
                    "access",
                    "availability",
                    "num_citations",
                    "instances_number",
                    "features_number",
                    "representativity_level",
                    "sample_balance_level",
                    "split",
                    "has_missing_values",
                    "global_missing_percentage",
                    "temporal_factors",
                    "metadata_provided_with_dataset",
                    "external_documentation_available",
                    *ethics,
                ],
            ),
            "media": RowWriter(Dataset.media.through, ["dataset_id", "mediatype_id"]),
            "files": RowWriter(
                DatasetFile,
                [
                    "dataset_id",
                    "path",
                    "logical_role",
                    "format",
                    "mime_type",
                    "size_bytes",
                    "row_count",
                    "description",
                    "created_at",
                    "updated_at",
                ],
            ),
        }
        with progress(plan.datasets, "datasets", stdout=self.out, verbosity=self.verbosity) as bar:
            for start in range(0, plan.datasets, plan.batch):
                ids = range(first + start, first + min(plan.datasets, start + plan.batch))
                rows = {key: [] for key in w}
                for dataset_id in ids:
                    self.dataset_rows(dataset_id, ethics, rows)
                with transaction.atomic():
                    for key, writer in w.items():
                        writer.write(rows[key])
                bar.advance(len(ids))
        labels = {
            "dataset": "datasets",
            "media": "dataset media",
            "tasks": "dataset tasks",
            "domains": "dataset domains",
            "files": "dataset files",
        }
        for key, writer in w.items():
            plan.made[labels[key]] = writer.count

    def dataset_rows(self, dataset_id: int, ethics: list[str], rows: dict) -> None:
        rnd = self.rnd
        owner = self.owner(rnd)
        media = DATASET_MEDIA(rnd)
        topic = rnd.choice(FALLBACK_DOMAINS)
        name = f"{topic}-{media}-{rnd.choice(('corpus', 'bench', 'set', 'collection', 'records'))}-{dataset_id}"
        created = self.created_at()
        instances = int(min(5e10, rnd.lognormvariate(math.log(50_000), 2.0)))
        downloads = int(rnd.lognormvariate(3, 2.5))
        license_id = self.license(rnd) if rnd.random() > 0.2 else None
        missing = rnd.random() < 0.4

        def flag(share: float):
            return None if rnd.random() < 0.3 else rnd.random() < share

        rows["dataset"].append(
            (
                dataset_id,
                owner,
                name,
                f"# {name}\n\nA {media} dataset about {topic}.",
                "public" if rnd.random() < 0.85 else "private",
                license_id,
                self.license_keys.get(license_id, ""),
                downloads,
                int(downloads * rnd.random() * 0.05),
                created,
                min(self.now, created + timedelta(days=7)),
                min(self.now.year, max(1990, int(2026 - rnd.expovariate(1 / 5)))),
                f"Support research on {topic}.",
                rnd.choice(("public", "restricted", "academic")),
                rnd.choice(("online", "on_request", "archived")),
                int(rnd.expovariate(1 / 80)),
                instances,
                rnd.randint(2, 500),
                rnd.choice(LEVELS),
                rnd.choice(BALANCES),
                flag(0.6),
                missing,
                round(rnd.uniform(0.1, 30), 2) if missing else None,
                flag(0.3),
                flag(0.7),
                flag(0.6),
                *(flag(ETHICS_TRUE_SHARE[e]) for e in ethics),
            )
        )
        rows["media"].append((dataset_id, media))
        tasks = {rnd.choice(self.tasks_by_media.get(media) or self.all_task_ids)}
        if rnd.random() < 0.3:
            tasks.add(rnd.choice(self.all_task_ids))
        rows["tasks"].extend((dataset_id, t) for t in tasks)
        rows["domains"].extend((dataset_id, d) for d in set(rnd.sample(self.domain_ids, rnd.randint(1, 2))))
        n_files = FILE_COUNT(rnd)
        roles = ("training_data", "test_data", "validation_data", "metadata")
        for i in range(n_files):
            fmt, mime = rnd.choice(FILE_KINDS)
            share = (0.8, 0.1, 0.1, 0.0)[i]
            rows["files"].append(
                (
                    dataset_id,
                    f"data/{roles[i].split('_')[0]}.{fmt}",
                    roles[i],
                    fmt,
                    mime,
                    int(instances * rnd.uniform(50, 2000) * max(share, 0.001)),
                    int(instances * share),
                    "",
                    created,
                    created,
                )
            )
