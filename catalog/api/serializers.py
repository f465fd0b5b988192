import json
import threading

from django.db import connection
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User
from catalog import revisions, selectors
from catalog.bulk import MAX_ITEMS
from catalog.models import (
    CNNModule,
    Commit,
    CommitChange,
    Dataset,
    DatasetFile,
    DatasetRelationship,
    Domain,
    Family,
    FileColumn,
    FileVersion,
    Media,
    MediaType,
    MLModel,
    ModelDataset,
    ModelLineage,
    Ref,
    Task,
)
from licensing.models import License


def _asset_ref(asset) -> dict:
    return {"id": asset.pk, "owner": asset.owner.username, "name": asset.name}


class AssetRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    owner = serializers.CharField()
    name = serializers.CharField()


class FileEntrySerializer(serializers.Serializer):
    """A path of an asset's repository with its latest ready version."""

    path = serializers.CharField()
    version = serializers.IntegerField()
    size = serializers.IntegerField(allow_null=True)
    sha256 = serializers.CharField(allow_null=True)
    updated_at = serializers.DateTimeField()


class ModelDatasetRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The link's id (DELETE .../datasets/{id}/ removes it).")
    dataset = AssetRefSerializer()
    role = serializers.ChoiceField(choices=ModelDataset.Role.choices)


class TaskSerializer(serializers.ModelSerializer):
    class Meta:
        model = Task
        fields = ["slug", "name", "modality"]


class AssetSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    media = serializers.SlugRelatedField(
        many=True,
        slug_field="slug",
        queryset=MediaType.objects.all(),
        required=False,
        help_text=f"Any of: {', '.join(Media.values)}",
    )
    tasks = serializers.SlugRelatedField(many=True, slug_field="slug", queryset=Task.objects.all(), required=False)
    license = serializers.SlugRelatedField(
        slug_field="key",
        queryset=License.objects.all(),
        required=False,
        allow_null=True,
        help_text="Licence key, e.g. apache-2.0",
    )
    license_category = serializers.CharField(source="license.category", read_only=True, default=None)
    authors = serializers.SlugRelatedField(
        many=True, slug_field="username", queryset=User.objects.all(), required=False
    )

    def validate(self, attrs: dict) -> dict:
        from licensing.services import complete_license_fields

        # license_declared resolved as by every door; a clash of names is the service's 400 (the database's
        # unique constraint, not a query beforehand)
        return complete_license_fields(super().validate(attrs))


class ListRowSerializer(AssetSerializer):
    """A list row built straight from the instance, by a plan derived once per class from its declared
    fields: DRF's generic path (a get_attribute and a to_representation per field, a related manager per
    relation and row) cost a page of 50 rows more CPU than its queries. The output is DRF's own
    (test_request_cost compares the two), so the fields stay the schema's single description."""

    @classmethod
    def _plan_of(cls, serializer) -> list[tuple] | None:
        if "_row_plan" not in cls.__dict__:
            cls._row_plan = _row_plan(serializer)
        return cls._row_plan

    def to_representation(self, instance) -> dict:
        cls = type(self)
        if cls._plan_of(self) is None:  # a subclass with fields of other kinds (the detail serializers)
            return super().to_representation(instance)
        row = {}
        loaded = instance.__dict__.get("_row_slugs", {})
        for name, attrs, convert, many_slug in cls._row_plan:
            if many_slug is not None:
                if name in loaded:
                    row[name] = loaded[name]
                else:
                    row[name] = [getattr(item, many_slug) for item in getattr(instance, attrs[0]).all()]
                continue
            value = instance
            for attr in attrs:
                value = getattr(value, attr)
                if value is None:
                    break
            row[name] = value if value is None or convert is None else convert(value)
        return row


class ListRows(serializers.ListSerializer):
    """A page of lean rows: the slugs of every many relation the rows show (media, tasks, domains) are
    read for the whole page in one statement (``relation_slugs``), rather than prefetched as model instances
    with a manager and a queryset per row and relation."""

    def to_representation(self, data) -> list:
        rows = list(data.all() if hasattr(data, "all") else data)
        relations = [(name, attrs[0], slug) for name, attrs, _, slug in type(self.child)._plan_of(self.child) or []]
        relations = [relation for relation in relations if relation[2] is not None]
        if rows and relations:
            by_pk = {row.pk: row for row in rows}
            for row in rows:
                row.__dict__["_row_slugs"] = {name: [] for name, _, _ in relations}
            model = type(rows[0])
            for index, pk, value in relation_slugs(model, tuple(relations), list(by_pk)):
                by_pk[pk].__dict__["_row_slugs"][relations[index][0]].append(value)
        return [self.child.to_representation(row) for row in rows]


def relation_slugs(model, relations: tuple, ids: list[int]) -> list[tuple[int, int, str]]:
    """(relation's index, row id, slug) of every row of ``ids`` in each many relation ``(name, field, slug
    field)``, ordered by relation then slug: one statement for the page, its text built once per list
    (``_relation_slugs_sql``), the ids one array parameter on PostgreSQL (a JSON array on SQLite)."""
    sql = _relation_slugs_sql(model, relations, connection.vendor)
    ids_param = ids if connection.vendor == "postgresql" else json.dumps(ids)
    with connection.cursor() as cursor:
        cursor.execute(sql, [ids_param] * len(relations))
        return cursor.fetchall()


_RELATION_SQL: dict = {}


def _relation_slugs_sql(model, relations: tuple, vendor: str) -> str:
    key = (model, relations, vendor)
    if key not in _RELATION_SQL:
        quote = connection.ops.quote_name
        matching = "= ANY(%s)" if vendor == "postgresql" else "IN (SELECT value FROM json_each(%s))"
        arms = []
        for index, (_, field_name, slug) in enumerate(relations):
            field = model._meta.get_field(field_name)
            through, target = field.remote_field.through._meta, field.related_model._meta
            source = through.get_field(field.m2m_field_name()).column
            target_column = through.get_field(field.m2m_reverse_field_name()).column
            if target.get_field(slug).primary_key:  # the slug is the target's key (media types): no join
                value, join = f"t.{quote(target_column)}", ""
            else:
                value = f"x.{quote(target.get_field(slug).column)}"
                join = f" JOIN {quote(target.db_table)} x ON x.{quote(target.pk.column)} = t.{quote(target_column)}"
            arms.append(
                f"SELECT {index} AS r, t.{quote(source)} AS pk, {value} AS slug FROM {quote(through.db_table)} t"
                f"{join} WHERE t.{quote(source)} {matching}"
            )
        _RELATION_SQL[key] = " UNION ALL ".join(arms) + " ORDER BY 1, 3"
    return _RELATION_SQL[key]


def _row_plan(serializer) -> list[tuple] | None:
    """(name, source attributes, converter or None, slug of a many relation or None) per readable field;
    None when a field is of another kind. Plain model values go out as they are; dates, times and single
    relations through DRF's own field."""
    plan = []
    for field in serializer._readable_fields:
        if isinstance(field, serializers.ManyRelatedField):
            plan.append((field.field_name, field.source_attrs, None, field.child_relation.slug_field))
        elif isinstance(field, serializers.RelatedField | serializers.DateField | serializers.DateTimeField):
            plan.append((field.field_name, field.source_attrs, field.to_representation, None))
        elif isinstance(field, serializers.CharField | serializers.IntegerField | serializers.BooleanField):
            plan.append((field.field_name, field.source_attrs, None, None))
        elif isinstance(field, serializers.ChoiceField) and all(isinstance(key, str) for key in field.choices):
            plan.append((field.field_name, field.source_attrs, None, None))
        else:
            return None
    return plan


MODEL_LIST_FIELDS = [
    "id",
    "owner",
    "name",
    "visibility",
    "media",
    "tasks",
    "training_type",
    "architecture_family",
    "architecture_name",
    "parameter_count",
    "release_date",
    "license",
    "license_category",
    "license_declared",
    "downloads",
    "likes",
    "created_at",
    "updated_at",
]


class MLModelListSerializer(ListRowSerializer):
    class Meta:
        model = MLModel
        fields = MODEL_LIST_FIELDS
        read_only_fields = fields
        list_serializer_class = ListRows


class CNNModuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = CNNModule
        fields = ["conv_size", "pooling_type"]


class ArchitectureSerializer(serializers.Serializer):
    """Details by family; only the family's own keys are used."""

    family = serializers.ChoiceField(choices=Family.choices)
    decoder_count = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    attention_size = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    up_size = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    down_size = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    embedding_size = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    module_count = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    modules = CNNModuleSerializer(many=True, required=False)
    criterion = serializers.CharField(required=False, allow_blank=True, max_length=100)
    batch_size = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    input_size = serializers.IntegerField(min_value=0, required=False, allow_null=True)


# The detail fields of each family with a table of its own (the relation is named like the family).
ARCHITECTURE_FIELDS = {
    "transformer": ["decoder_count", "attention_size", "up_size", "down_size", "embedding_size"],
    "cnn": ["module_count"],
    "rnn": ["criterion", "batch_size", "input_size"],
}


def architecture_of(model: MLModel) -> dict:
    data = {"family": model.architecture_family}
    for family, fields in ARCHITECTURE_FIELDS.items():
        details = getattr(model, family, None) if model.architecture_family == family else None
        if details is not None:
            data.update({f: getattr(details, f) for f in fields})
            if family == "cnn":
                data["modules"] = [
                    {"conv_size": m.conv_size, "pooling_type": m.pooling_type} for m in details.modules.all()
                ]
    return data


class MLModelSerializer(AssetSerializer):
    """A model with its parts. Writable: name, card, visibility, media, tasks, training type, architecture
    (family and details), parameter count, release date, licence, authors."""

    architecture = ArchitectureSerializer(required=False, write_only=True)
    architecture_details = serializers.SerializerMethodField()
    bases = serializers.SerializerMethodField()
    derivatives = serializers.SerializerMethodField()
    datasets = serializers.SerializerMethodField()
    files = serializers.SerializerMethodField()
    sha = serializers.SerializerMethodField(help_text="The commit id at the head of main (null: no commit yet).")

    class Meta:
        model = MLModel
        fields = [
            *MODEL_LIST_FIELDS,
            "card",
            "authors",
            "architecture",
            "architecture_details",
            "bases",
            "derivatives",
            "datasets",
            "files",
            "sha",
        ]
        read_only_fields = [
            "id",
            "owner",
            "license_category",
            "downloads",
            "likes",
            "created_at",
            "updated_at",
            "architecture_family",
        ]

    @extend_schema_field(ArchitectureSerializer)
    def get_architecture_details(self, obj) -> dict:
        return architecture_of(obj)

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_bases(self, obj) -> list:
        if self.context.get("created"):
            return []
        return [{"model": _asset_ref(e.base), "relation": e.relation} for e in self._lineage(obj)[0]]

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_derivatives(self, obj) -> list:
        if self.context.get("created"):
            return []
        return [{"model": _asset_ref(e.model), "relation": e.relation} for e in self._lineage(obj)[1]]

    def _lineage(self, obj) -> tuple[list, list]:
        """Bases and derivatives, read together once per serialized model."""
        if not hasattr(obj, "_visible_lineage"):
            obj._visible_lineage = selectors.visible_lineage(obj, self.context["request"].user)
        return obj._visible_lineage

    @extend_schema_field(ModelDatasetRefSerializer(many=True))
    def get_datasets(self, obj) -> list:
        if self.context.get("created"):
            return []
        links = selectors.visible_dataset_links(obj, self.context["request"].user)
        return [{"id": link.pk, "dataset": _asset_ref(link.dataset), "role": link.role} for link in links]

    @extend_schema_field(FileEntrySerializer(many=True))
    def get_files(self, obj) -> list:
        return files_of(obj)

    def get_sha(self, obj) -> str | None:
        commit = head_of(obj)
        return commit.oid if commit else None


class BulkModelItemSerializer(serializers.Serializer):
    """One model of a bulk write: the fields of a model's create, plus its owner (default: you). References
    (owner, tasks, licence, authors) are looked up for the whole batch at once (catalog.bulk)."""

    owner = serializers.CharField(required=False, max_length=150, help_text="Namespace; default: yours.")
    name = serializers.CharField(max_length=200)
    card = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    visibility = serializers.ChoiceField(choices=MLModel._meta.get_field("visibility").choices, required=False)
    media = serializers.ListField(child=serializers.ChoiceField(choices=Media.choices), required=False)
    tasks = serializers.ListField(child=serializers.CharField(max_length=100), required=False)
    training_type = serializers.ChoiceField(
        choices=MLModel._meta.get_field("training_type").choices, required=False, allow_blank=True
    )
    architecture = ArchitectureSerializer(required=False)
    architecture_name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    parameter_count = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    release_date = serializers.DateField(required=False, allow_null=True)
    license = serializers.CharField(required=False, allow_null=True, allow_blank=True, help_text="Licence key")
    license_declared = serializers.CharField(required=False, allow_blank=True, max_length=300)
    authors = serializers.ListField(child=serializers.CharField(max_length=150), required=False)


class BulkModelsSerializer(serializers.Serializer):
    items = BulkModelItemSerializer(many=True, allow_empty=False, max_length=MAX_ITEMS)


class ModelCreateSerializer(BulkModelItemSerializer):
    """``POST /api/v1/models/``'s input, read as one item of a bulk write (the model is yours: no owner).
    The response is ``MLModelSerializer``'s."""

    owner = None


class BulkDatasetItemSerializer(serializers.ModelSerializer):
    """One dataset of a bulk write: the fields of a dataset's create, plus its owner (default: you).
    References (owner, tasks, domains, licence, authors) are looked up for the whole batch at once."""

    owner = serializers.CharField(required=False, max_length=150, help_text="Namespace; default: yours.")
    card = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    media = serializers.ListField(child=serializers.ChoiceField(choices=Media.choices), required=False)
    tasks = serializers.ListField(child=serializers.CharField(max_length=100), required=False)
    domains = serializers.ListField(child=serializers.CharField(max_length=100), required=False)
    license = serializers.CharField(required=False, allow_null=True, allow_blank=True, help_text="Licence key")
    license_declared = serializers.CharField(required=False, allow_blank=True, max_length=300)
    authors = serializers.ListField(child=serializers.CharField(max_length=150), required=False)

    class Meta:
        model = Dataset
        fields = [
            "owner",
            "name",
            "card",
            "visibility",
            "media",
            "tasks",
            "domains",
            "license",
            "license_declared",
            "authors",
            *Dataset.IDENTIFICATION_FIELDS,
            *Dataset.TECHNICAL_FIELDS,
            *Dataset.ETHICS_FLAGS,
            "data_errors_description",
        ]
        validators = []  # owner/name: an upsert key here, not a constraint to check by query


class BulkDatasetsSerializer(serializers.Serializer):
    items = BulkDatasetItemSerializer(many=True, allow_empty=False, max_length=MAX_ITEMS)


def mark_created(serializer, asset, data: dict) -> None:
    """The asset was created by this request: it has no lineage, dataset links, files or commits yet, and
    exactly the media, tasks and authors it was given, so its representation reads none of them back."""
    serializer.context["created"] = True
    asset._head_commit = None
    if not hasattr(asset, "_prefetched_objects_cache"):  # catalog.bulk keeps the links it wrote
        asset._prefetched_objects_cache = {
            "media": sorted(data.get("media", []), key=lambda row: row.slug),
            "tasks": sorted(data.get("tasks", []), key=lambda row: row.slug),
            "authors": sorted(data.get("authors", []), key=lambda row: row.username),
        }


# DRF builds a serializer's fields for every instance (a deep copy of the declared fields, then each model
# field mapped to one): for one create that was ~40% of reading its input and writing its representation
# (bench/README.md, the write path). Neither ``run_validation`` nor ``to_representation`` keeps anything on
# the serializer, so the create reuses one instance per thread and serializer (fields built once).
_per_thread = threading.local()


def _shared(serializer_cls, **context):
    instances = _per_thread.__dict__.setdefault("serializers", {})
    key = (serializer_cls, tuple(sorted(context.items())))
    if key not in instances:
        instances[key] = serializer_cls(context=context)
    return instances[key]


def validated(serializer_cls, data) -> dict:
    """``serializer_cls(data=data)``'s validated data. Invalid input goes through DRF's own ``is_valid``,
    so that its 400 is DRF's to the byte (the no-data case included)."""
    try:
        return _shared(serializer_cls).run_validation(data)
    except serializers.ValidationError:
        serializer = serializer_cls(data=data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


def created_representation(serializer_cls, asset) -> dict:
    """What ``serializer_cls(asset).data`` answers for an asset this request created (``mark_created``):
    nothing in it depends on the caller, so one instance per thread writes it."""
    serializer = _shared(serializer_cls, created=True)
    mark_created(serializer, asset, {})
    return serializer.to_representation(asset)


def head_of(asset):
    """The head of main, looked up once per serialized asset (``sha`` and ``files`` both need it)."""
    if not hasattr(asset, "_head_commit"):
        asset._head_commit = revisions.head(asset)
    return asset._head_commit


def files_of(asset, commit=None) -> list:
    """The files at ``commit`` (default: the head of main) with their versions."""
    versions = revisions.files_at(commit if commit is not None else head_of(asset))
    return [
        {"path": path, "version": v.number, "size": v.size, "sha256": v.sha256, "updated_at": v.created_at}
        for path, v in versions.items()
    ]


DATASET_LIST_FIELDS = [
    "id",
    "owner",
    "name",
    "visibility",
    "media",
    "tasks",
    "domains",
    "license",
    "license_category",
    "license_declared",
    "year",
    "instances_number",
    "features_number",
    "downloads",
    "likes",
    "created_at",
    "updated_at",
]


class DatasetListSerializer(ListRowSerializer):
    domains = serializers.SlugRelatedField(many=True, slug_field="slug", queryset=Domain.objects.all(), required=False)

    class Meta:
        model = Dataset
        fields = DATASET_LIST_FIELDS
        read_only_fields = fields
        list_serializer_class = ListRows


class FileColumnSerializer(serializers.ModelSerializer):
    class Meta:
        model = FileColumn
        fields = [
            "name",
            "position",
            "data_type_original",
            "data_type_interpreted",
            "description",
            "is_primary_key_component",
            "is_nullable",
            "is_pii",
            "example_values",
            "stats",
        ]


class DatasetFileSerializer(serializers.ModelSerializer):
    columns = FileColumnSerializer(many=True, read_only=True)

    class Meta:
        model = DatasetFile
        fields = ["path", "logical_role", "format", "mime_type", "size_bytes", "row_count", "description", "columns"]


class RelationshipSerializer(serializers.ModelSerializer):
    from_file = serializers.CharField(source="from_file.path")
    to_file = serializers.CharField(source="to_file.path")
    column_links = serializers.SerializerMethodField()

    class Meta:
        model = DatasetRelationship
        fields = ["from_file", "to_file", "relationship_type", "description", "column_links"]

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_column_links(self, obj) -> list:
        return [
            {"from_column": link.from_column.name, "to_column": link.to_column.name, "order": link.link_order}
            for link in obj.column_links.all()
        ]


class DatasetSerializer(DatasetListSerializer):
    """A dataset with its EXAI metadata, described files and columns, relationships and models using it."""

    described_files = DatasetFileSerializer(source="files", many=True, read_only=True)
    relationships = RelationshipSerializer(many=True, read_only=True)
    models = serializers.SerializerMethodField()
    files = serializers.SerializerMethodField()
    sha = serializers.SerializerMethodField(help_text="The commit id at the head of main (null: no commit yet).")

    class Meta:
        model = Dataset
        fields = [
            *DATASET_LIST_FIELDS,
            "card",
            "authors",
            "objective",
            "access",
            "availability",
            "num_citations",
            "citation_link",
            "sources",
            "storage_uri",
            "features_description",
            "representativity_description",
            "representativity_level",
            "sample_balance_description",
            "sample_balance_level",
            "split",
            "missing_values_description",
            "has_missing_values",
            "global_missing_percentage",
            "missing_values_handling_method",
            "temporal_factors",
            "metadata_provided_with_dataset",
            "external_documentation_available",
            "documentation_link",
            "data_errors_description",
            *Dataset.ETHICS_FLAGS,
            "described_files",
            "relationships",
            "models",
            "files",
            "sha",
        ]
        read_only_fields = ["id", "owner", "license_category", "downloads", "likes", "created_at", "updated_at"]

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_models(self, obj) -> list:
        links = selectors.visible_model_links(obj, self.context["request"].user)
        return [{"model": _asset_ref(link.model), "role": link.role} for link in links]

    @extend_schema_field(FileEntrySerializer(many=True))
    def get_files(self, obj) -> list:
        return files_of(obj)

    def get_sha(self, obj) -> str | None:
        commit = head_of(obj)
        return commit.oid if commit else None


class LineageEdgeSerializer(serializers.ModelSerializer):
    model = serializers.SerializerMethodField()
    base = serializers.SerializerMethodField()

    class Meta:
        model = ModelLineage
        fields = ["id", "model", "base", "relation", "created_at"]

    @extend_schema_field(AssetRefSerializer)
    def get_model(self, obj) -> dict:
        return _asset_ref(obj.model)

    @extend_schema_field(AssetRefSerializer)
    def get_base(self, obj) -> dict:
        return _asset_ref(obj.base)


class NewLineageEdgeSerializer(serializers.Serializer):
    base = serializers.CharField(help_text="The base model, as owner/name or id.")
    relation = serializers.ChoiceField(choices=ModelLineage.Relation.choices)


class DatasetLinkSerializer(serializers.Serializer):
    dataset = serializers.CharField(help_text="The dataset, as owner/name or id.")
    role = serializers.ChoiceField(choices=ModelDataset.Role.choices)


class FileVersionSerializer(serializers.ModelSerializer):
    path = serializers.CharField(source="file.path", read_only=True)
    uploaded_by = serializers.CharField(source="uploaded_by.username", read_only=True, default=None)

    class Meta:
        model = FileVersion
        fields = [
            "path",
            "number",
            "status",
            "reason",
            "size",
            "sha256",
            "kind",
            "content_type",
            "inspection",
            "uploaded_by",
            "created_at",
            "processed_at",
        ]


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    path = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=500,
        help_text="Path in the repository; default: the uploaded file's name.",
    )


# --- revisions ------------------------------------------------------------------------------------


class CommitSerializer(serializers.ModelSerializer):
    parent = serializers.CharField(source="parent.oid", read_only=True, default=None)
    author = serializers.CharField(source="author_name", read_only=True)
    files_changed = serializers.IntegerField(source="changed", read_only=True)

    class Meta:
        model = Commit
        fields = ["oid", "short_oid", "number", "parent", "author", "message", "created_at", "files_changed"]
        read_only_fields = fields


class CommitChangeSerializer(serializers.ModelSerializer):
    deleted = serializers.BooleanField(source="is_deletion", read_only=True)
    version = serializers.IntegerField(source="version.number", read_only=True, default=None)
    size = serializers.IntegerField(source="version.size", read_only=True, default=None)
    sha256 = serializers.CharField(source="version.sha256", read_only=True, default=None)

    class Meta:
        model = CommitChange
        fields = ["path", "deleted", "version", "size", "sha256"]
        read_only_fields = fields


class CommitDetailSerializer(CommitSerializer):
    changes = CommitChangeSerializer(many=True, read_only=True)

    class Meta(CommitSerializer.Meta):
        fields = [*CommitSerializer.Meta.fields, "changes"]
        read_only_fields = fields


class RefSerializer(serializers.ModelSerializer):
    commit = serializers.CharField(source="commit.oid", read_only=True)

    class Meta:
        model = Ref
        fields = ["name", "kind", "commit", "created_at", "updated_at"]
        read_only_fields = fields


class NewTagSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, help_text="Letters, digits, '.', '_' or '-'; not 'main'.")
    revision = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=255,
        help_text="Commit id, short id, branch or tag to tag; default main.",
    )
