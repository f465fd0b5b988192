"""The catalogue API. Reads start from ``visible_to`` and writes from ``editable_by``; an asset the
caller may not see is 404, one they may see but not change is 403."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, Prefetch
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, permissions, status
from rest_framework import serializers as serializers_
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.services import MANAGE_REFUSED
from catalog import bulk, downloads, files, filters, revisions, selectors, services
from catalog.response_cache import CachedResponseMixin
from catalog.api import serializers as s
from catalog.api import detail, facets
from catalog.api import schema  # noqa: F401  (filter annotations for the OpenAPI schema)
from catalog.api.pagination import KeysetPagination
from catalog.models import (
    CNNModule,
    Commit,
    CommitChange,
    Dataset,
    FileVersion,
    MLModel,
    ModelDataset,
    ModelLineage,
    RepoFile,
    Task,
)


class AssetLookupMixin:
    """Finds the asset by id or owner/name in the URL, through visible_to (404) and, for writes,
    editable_by (403); ``manage`` (visibility, deletion, sharing) needs manageable_by (403)."""

    asset_model = MLModel
    manage_action = "do this"  # the end of the 403 message when manage is missing

    def lookup_queryset(self):
        """What the asset is read with (views that show it whole load its parts in the same lookup)."""
        return self.asset_model.objects.select_related("owner").defer("search_vector", "card")

    def get_asset(self, *, write: bool = False, manage: bool = False):
        kwargs, user = self.kwargs, self.request.user
        assets = self.lookup_queryset()
        if "pk" in kwargs:
            asset = get_object_or_404(assets.visible_to(user), pk=kwargs["pk"])
        else:
            asset = assets.named(f"{kwargs['owner']}/{kwargs['name']}", user=user)
        if manage and not asset.is_manageable_by(self.request.user):
            raise PermissionDenied(MANAGE_REFUSED.format(self.manage_action))
        if write and not asset.is_editable_by(self.request.user):
            raise PermissionDenied("You may not change this asset.")
        return asset


class AssetListView(CachedResponseMixin, AssetLookupMixin, generics.ListCreateAPIView):
    pagination_class = KeysetPagination
    sorts: dict = {}

    def get_ordering(self):
        searching = bool(self.request.query_params.get("search", "").strip())
        return filters.ordering(self.request.query_params.get("sort"), searching, self.sorts)

    def filter_queryset(self, queryset):
        if not any(param in self.filterset_class.base_filters for param in self.request.query_params):
            return queryset  # nothing to filter or validate: the FilterSet (a form, a copy of every filter) is skipped
        filterset = self.filterset_class(self.request.query_params, queryset=queryset, request=self.request)
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        return filterset.qs


class AssetDetailView(CachedResponseMixin, AssetLookupMixin, generics.RetrieveUpdateDestroyAPIView):
    manage_action = "delete it"

    def get_object(self):
        # A change of visibility needs manage too: the service refuses it (403) for write grantees.
        return self.get_asset(
            write=self.request.method not in permissions.SAFE_METHODS, manage=self.request.method == "DELETE"
        )

    def perform_destroy(self, instance):
        services.delete_asset(user=self.request.user, asset=instance, request=self.request)


def _model_detail_queryset():
    return (
        MLModel.objects.select_related("owner", "license", "transformer", "cnn", "rnn")
        .defer("search_vector")
        .prefetch_related(
            "media", "tasks", "authors", Prefetch("cnn__modules", queryset=CNNModule.objects.order_by("position"))
        )
    )


def list_columns(model, fields: list[str]) -> list[str]:
    """What a list row reads (``only``): the list fields that are the asset's own columns, and of its owner and
    licence what the row shows. Everything else stays in the database: cards, search vectors, licence terms,
    and the owner's and licence's other columns, whose timestamps were parsed for every row and shown by none
    (a third of a search page's CPU in the database driver's date parsing at 1,000,000 models)."""
    own = {field.name for field in model._meta.concrete_fields if not field.is_relation}
    return [*(name for name in fields if name in own), "owner__username", "license__key", "license__category"]


MODEL_LIST_COLUMNS = list_columns(MLModel, s.MODEL_LIST_FIELDS)
DATASET_LIST_COLUMNS = list_columns(Dataset, s.DATASET_LIST_FIELDS)


def _model_list_queryset(user):
    # media and tasks: read for the whole page by the list serializer (serializers.ListRows)
    return MLModel.objects.visible_to(user).select_related("owner", "license").only(*MODEL_LIST_COLUMNS)


SEARCH_PARAMS = [OpenApiParameter("search", str, description="Full-text query (names rank above cards)")]


@extend_schema_view(
    get=extend_schema(
        summary="List models",
        description="Filters combine with AND; `sort` defaults to `relevance` with `search`, else `updated`.",
    ),
    post=extend_schema(summary="Create a model (you become its owner)"),
)
class ModelListView(AssetListView):
    serializer_class = s.MLModelListSerializer
    filterset_class = filters.MLModelFilter
    sorts = filters.MODEL_SORTS

    def get_queryset(self):
        return _model_list_queryset(self.request.user)

    def get_serializer_class(self):
        return s.MLModelSerializer if self.request.method == "POST" else s.MLModelListSerializer

    def create(self, request, *args, **kwargs):
        # Read as one item of a bulk write and written by the same writer (catalog.bulk): the schema's
        # request body stays MLModelSerializer's, whose representation answers.
        item = s.validated(s.ModelCreateSerializer, request.data)
        try:
            model = bulk.api_create(MLModel, request.user, item, request=request)
        except bulk.BulkError as exc:
            if exc.forbidden:
                raise PermissionDenied(exc.message) from None
            raise ValidationError({exc.field or "detail": [exc.message]}) from None
        return Response(s.created_representation(s.MLModelSerializer, model), status=status.HTTP_201_CREATED)


BULK_DESCRIPTION = (
    "At most {max} items, written in one transaction: an invalid item (400) or one you may not write (403: "
    "another's namespace, a {kind} you may not change) is named by its index and nothing is written. An item "
    "updates the {kind} of that owner/name when there is one you may change (only the fields it gives), else "
    "creates it in the owner's namespace (yours; admins and curators: anyone's). One audit event records the batch."
)


class AssetBulkView(APIView):
    """Create or update many assets in one request, upserted by owner/name (catalog.bulk)."""

    permission_classes = [permissions.IsAuthenticated]
    asset_model, serializer_class = MLModel, s.BulkModelsSerializer

    def post(self, request):
        serializer = self.serializer_class(data=request.data)
        if not serializer.is_valid():
            raise ValidationError(_item_errors(serializer.errors))
        try:
            result = bulk.api_write(self.asset_model, request.user, serializer.validated_data["items"], request=request)
        except bulk.BulkError as exc:
            if exc.forbidden:
                raise PermissionDenied(str(exc)) from None
            raise ValidationError(
                {"items": {str(exc.index): {exc.field or "detail": [exc.message]}}, "detail": str(exc)}
            ) from None
        return Response(result.summary(), status=status.HTTP_200_OK)


def _bulk_view(name: str, asset_model, serializer_class):
    """The bulk endpoint of one kind of asset, with its own schema."""
    described = extend_schema(
        summary=f"Create or update many {asset_model.plural} (upsert by owner/name)",
        description=BULK_DESCRIPTION.format(max=bulk.MAX_ITEMS, kind=asset_model.kind),
        request=serializer_class,
        responses={200: OpenApiTypes.OBJECT},
    )
    attributes = {"asset_model": asset_model, "serializer_class": serializer_class, "__doc__": AssetBulkView.__doc__}
    return extend_schema_view(post=described)(type(name, (AssetBulkView,), attributes))


ModelBulkView = _bulk_view("ModelBulkView", MLModel, s.BulkModelsSerializer)
DatasetBulkView = _bulk_view("DatasetBulkView", Dataset, s.BulkDatasetsSerializer)


def _item_errors(errors: dict) -> dict:
    """DRF's per-item errors as ``{"items": {"3": {...}}, "detail": "items[3]: name: ..."}``."""
    items = errors.get("items")
    if isinstance(items, list):
        items = dict(enumerate(items))
    if not isinstance(items, dict) or not all(isinstance(e, dict) for e in items.values()):
        return errors  # the list itself is wrong: missing, empty, too long
    named = {str(i): e for i, e in items.items() if e}
    first, fields = next(iter(named.items()))
    field_name, messages = next(iter(fields.items()))
    return {"items": named, "detail": f"items[{first}]: {field_name}: {_first_message(messages)}"}


def _first_message(messages) -> str:
    while isinstance(messages, dict | list) and messages:
        messages = next(iter(messages.values())) if isinstance(messages, dict) else messages[0]
    return str(messages)


def _save_model(request, data: dict, model: MLModel | None = None) -> MLModel:
    data = dict(data)
    if "architecture" in data:
        arch = dict(data["architecture"])
        data["architecture"] = (
            {**arch, "modules": [dict(m) for m in arch.get("modules", [])]} if "modules" in arch else arch
        )
    return services.save_model(user=request.user, data=data, model=model, request=request)


@extend_schema_view(
    get=extend_schema(summary="A model with its parts"),
    put=extend_schema(summary="Replace a model's metadata"),
    patch=extend_schema(summary="Change a model's metadata"),
    delete=extend_schema(summary="Delete a model"),
)
class ModelDetailView(AssetDetailView):
    serializer_class = s.MLModelSerializer

    def get_queryset(self):
        return _model_detail_queryset()

    def lookup_queryset(self):
        return _model_detail_queryset()

    def retrieve(self, request, *args, **kwargs):
        # Read as values (catalog.api.detail): the same bytes as the serializer's, without instances.
        return Response(detail.model_detail(request.user, **_lookup(kwargs)))

    def perform_update(self, serializer):
        serializer.instance = _save_model(self.request, serializer.validated_data, serializer.instance)


def _lookup(kwargs: dict) -> dict:
    """The detail URL's reference: an id or an owner and a name."""
    return {"pk": kwargs["pk"]} if "pk" in kwargs else {"owner": kwargs["owner"], "name": kwargs["name"]}


def _by_id(view, prefix: str, summary: str):
    """The same detail view addressed by id, with operationIds of its own."""
    ops = {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}
    parameters = [OpenApiParameter("id", int, OpenApiParameter.PATH, description=f"The {summary}'s id")]
    return extend_schema_view(
        **{
            method: extend_schema(operation_id=f"{prefix}_by_id_{op}", parameters=parameters)
            for method, op in ops.items()
        }
    )(type(f"{view.__name__}ById", (view,), {"__doc__": view.__doc__}))


ModelDetailByIdView = _by_id(ModelDetailView, "models", "model")


def _dataset_list_queryset(user):
    # media, tasks and domains: read for the whole page by the list serializer (serializers.ListRows)
    return Dataset.objects.visible_to(user).select_related("owner", "license").only(*DATASET_LIST_COLUMNS)


@extend_schema_view(get=extend_schema(summary="List datasets"), post=extend_schema(summary="Create a dataset"))
class DatasetListView(AssetListView):
    asset_model = Dataset
    filterset_class = filters.DatasetFilter
    sorts = filters.DATASET_SORTS

    def get_queryset(self):
        return _dataset_list_queryset(self.request.user)

    def get_serializer_class(self):
        return s.DatasetSerializer if self.request.method == "POST" else s.DatasetListSerializer

    def perform_create(self, serializer):
        serializer.instance = _save_dataset(self.request, serializer.validated_data)


def _save_dataset(request, data: dict, dataset: Dataset | None = None) -> Dataset:
    return services.save_dataset(user=request.user, data=dict(data), dataset=dataset, request=request)


@extend_schema_view(
    get=extend_schema(summary="A dataset with its EXAI metadata, files, columns and relationships"),
    put=extend_schema(summary="Replace a dataset's metadata"),
    patch=extend_schema(summary="Change a dataset's metadata"),
    delete=extend_schema(summary="Delete a dataset"),
)
class DatasetDetailView(AssetDetailView):
    asset_model = Dataset
    serializer_class = s.DatasetSerializer

    def retrieve(self, request, *args, **kwargs):
        # Read as values (catalog.api.detail): the same bytes as the serializer's, without instances.
        return Response(detail.dataset_detail(request.user, **_lookup(kwargs)))

    def lookup_queryset(self):
        return Dataset.objects.select_related("owner", "license").prefetch_related(
            "media",
            "tasks",
            "domains",
            "authors",
            "files__columns",
            "relationships__from_file",
            "relationships__to_file",
            "relationships__column_links__from_column",
            "relationships__column_links__to_column",
        )

    def perform_update(self, serializer):
        serializer.instance = _save_dataset(self.request, serializer.validated_data, serializer.instance)


DatasetDetailByIdView = _by_id(DatasetDetailView, "datasets", "dataset")


# --- lineage and dataset links ------------------------------------------------------------------


def _resolve(model_cls, ref: str, user):
    found = filters.visible_ref(model_cls, ref, user).first()  # hidden reads as missing
    if found is None:
        raise ValidationError(
            {"base" if model_cls is MLModel else "dataset": [f"No visible {model_cls._meta.verbose_name} {ref!r}."]}
        )
    return found


@extend_schema_view(
    get=extend_schema(
        summary="A model's base models (this model derives from them)", responses=s.LineageEdgeSerializer(many=True)
    ),
    post=extend_schema(summary="Add a base model", request=s.NewLineageEdgeSerializer),
)
class ModelLineageView(AssetLookupMixin, APIView):
    serializer_class = s.LineageEdgeSerializer

    def get(self, request, **kwargs):
        model = self.get_asset()
        edges = selectors.visible_bases(model, request.user).select_related("model__owner")
        return Response(s.LineageEdgeSerializer(edges, many=True).data)

    def post(self, request, **kwargs):
        model = self.get_asset(write=True)
        data = s.NewLineageEdgeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        base = _resolve(MLModel, data.validated_data["base"], request.user)
        edge = services.add_base_model(
            user=request.user, model=model, base=base, relation=data.validated_data["relation"], request=request
        )
        return Response(s.LineageEdgeSerializer(edge).data, status=status.HTTP_201_CREATED)


class _ModelLinkView(AssetLookupMixin, APIView):
    """DELETE one of a model's lineage edges or dataset links (by its id) through the services."""

    def remove(self, request, link_id: int, links, service, argument: str) -> Response:
        link = get_object_or_404(links, pk=link_id, model=self.get_asset(write=True))
        service(user=request.user, request=request, **{argument: link})
        return Response(status=status.HTTP_204_NO_CONTENT)


class ModelLineageEdgeView(_ModelLinkView):
    serializer_class = s.LineageEdgeSerializer

    @extend_schema(summary="Remove a base model", responses={204: None})
    def delete(self, request, edge_id: int, **kwargs):
        return self.remove(
            request,
            edge_id,
            ModelLineage.objects.select_related("model__owner", "base__owner"),
            services.remove_base_model,
            "edge",
        )


@extend_schema_view(
    post=extend_schema(
        summary="Record that the model uses a dataset",
        request=s.DatasetLinkSerializer,
        responses={201: s.ModelDatasetRefSerializer},
    )
)
class ModelDatasetsView(AssetLookupMixin, APIView):
    serializer_class = s.DatasetLinkSerializer

    @extend_schema(
        summary="Datasets the model was trained, fine-tuned or evaluated on",
        responses=s.ModelDatasetRefSerializer(many=True),
    )
    def get(self, request, **kwargs):
        model = self.get_asset()
        return Response(s.MLModelSerializer(model, context={"request": request}).get_datasets(model))

    def post(self, request, **kwargs):
        model = self.get_asset(write=True)
        data = s.DatasetLinkSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        dataset = _resolve(Dataset, data.validated_data["dataset"], request.user)
        link = services.link_dataset(
            user=request.user, model=model, dataset=dataset, role=data.validated_data["role"], request=request
        )
        return Response(
            {
                "id": link.pk,
                "dataset": {"id": dataset.pk, "owner": dataset.owner.username, "name": dataset.name},
                "role": data.validated_data["role"],
            },
            status=status.HTTP_201_CREATED,
        )


class ModelDatasetLinkView(_ModelLinkView):
    serializer_class = s.DatasetLinkSerializer

    @extend_schema(summary="Remove a model-dataset link", responses={204: None})
    def delete(self, request, link_id: int, **kwargs):
        return self.remove(
            request,
            link_id,
            ModelDataset.objects.select_related("model__owner", "dataset__owner"),
            services.unlink_dataset,
            "link",
        )


# --- files --------------------------------------------------------------------------------------


REVISION = OpenApiParameter(
    "revision",
    str,
    description="A commit id (full or at least 7 hex digits), a branch "
    "or a tag, also as refs/heads/<name> or refs/tags/<name>; default: main",
)


def _commit_or_404(asset, revision: str | None):
    try:
        return revisions.resolve_revision(asset, revision)
    except revisions.RevisionNotFound as exc:
        raise NotFound(str(exc)) from None


class FilesView(AssetLookupMixin, APIView):
    parser_classes = [MultiPartParser, FormParser]
    serializer_class = s.UploadSerializer

    @extend_schema(
        summary="The files at a revision (default: the head of main) with their versions",
        responses=s.FileEntrySerializer(many=True),
        parameters=[REVISION],
    )
    def get(self, request, **kwargs):
        asset = self.get_asset()
        return Response(s.files_of(asset, _commit_or_404(asset, request.query_params.get("revision"))))

    @extend_schema(
        summary="Upload a new version of a path (multipart: file, path)",
        request=s.UploadSerializer,
        responses={201: s.FileVersionSerializer, 413: OpenApiResponse(description="Over the size limit")},
    )
    def post(self, request, **kwargs):
        asset = self.get_asset(write=True)
        payload = request.data  # parsing the body is what flags an over-size file (SizeLimitedUploadHandler)
        if getattr(request._request, "upload_too_large", False):
            return Response({"file": [files.too_large_message()]}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        data = s.UploadSerializer(data=payload)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        try:
            path = files.normalise_path(data.validated_data.get("path") or upload.name)
        except DjangoValidationError as exc:
            raise ValidationError({"path": exc.messages}) from None
        try:
            version = files.upload_file(user=request.user, asset=asset, path=path, content=upload, request=request)
        except DjangoValidationError as exc:
            raise ValidationError({"file": exc.messages}) from None
        version.refresh_from_db()
        return Response(s.FileVersionSerializer(version).data, status=status.HTTP_201_CREATED)


class FileVersionsView(AssetLookupMixin, generics.ListAPIView):
    serializer_class = s.FileVersionSerializer
    pagination_class = None

    @extend_schema(summary="Every version of a path, newest first (pending and rejected ones too)")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no URL
            return FileVersion.objects.none()
        repo_file = get_object_or_404(RepoFile.objects.of(self.get_asset()), path=self.kwargs["path"])
        return FileVersion.objects.filter(file=repo_file).select_related("file", "uploaded_by").order_by("-number")


class FileDownloadView(AssetLookupMixin, APIView):
    @extend_schema(
        summary="Download a file (Range, ETag = SHA-256)",
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            (206, "application/octet-stream"): OpenApiTypes.BINARY,
            304: OpenApiResponse(description="Not modified (If-None-Match)"),
            416: OpenApiResponse(description="Range not satisfiable"),
        },
        parameters=[
            OpenApiParameter("version", int, description="A version number (any ready version of the path)"),
            REVISION,
        ],
    )
    def get(self, request, path: str, **kwargs):
        asset = self.get_asset()
        try:
            version = files.find_version(
                asset, path, number=request.query_params.get("version"), revision=request.query_params.get("revision")
            )
        except ValueError as exc:
            raise ValidationError({"version": [str(exc)]}) from None
        except revisions.RevisionNotFound as exc:
            raise NotFound(str(exc)) from None
        if version is None:
            raise NotFound("No such file or version.")
        return downloads.download_response(request._request, asset, version)

    @extend_schema(summary="Delete a path (its history is kept)", responses={204: None})
    def delete(self, request, path: str, **kwargs):
        asset = self.get_asset(write=True)
        try:
            files.delete_path(user=request.user, asset=asset, path=path, request=request)
        except DjangoValidationError:
            raise NotFound("No such file.") from None
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- revisions ----------------------------------------------------------------------------------


class CommitPagination(CursorPagination):
    ordering = "-number"
    page_size = 50
    max_page_size = 200
    page_size_query_param = "limit"


class CommitsView(AssetLookupMixin, generics.ListAPIView):
    serializer_class = s.CommitSerializer
    pagination_class = CommitPagination

    @extend_schema(summary="The history reaching a revision (default main), newest first", parameters=[REVISION])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Commit.objects.none()
        asset = self.get_asset()
        commit = _commit_or_404(asset, self.request.query_params.get("revision"))
        if commit is None:
            return Commit.objects.none()
        return (
            Commit.objects.of(asset)
            .filter(number__lte=commit.number)
            .select_related("parent")
            .annotate(changed=Count("changes"))
        )


class CommitDetailView(AssetLookupMixin, APIView):
    serializer_class = s.CommitDetailSerializer

    @extend_schema(summary="One commit with the files it changed (by commit id, short id, branch or tag)")
    def get(self, request, revision: str, **kwargs):
        commit = _commit_or_404(self.get_asset(), revision)
        if commit is None:
            raise NotFound("The repository has no commit yet.")
        commit = (
            Commit.objects.select_related("parent")
            .annotate(changed=Count("changes"))
            .prefetch_related(Prefetch("changes", queryset=CommitChange.objects.select_related("version")))
            .get(pk=commit.pk)
        )
        return Response(s.CommitDetailSerializer(commit).data)


class RefsView(AssetLookupMixin, APIView):
    serializer_class = s.RefSerializer

    @extend_schema(summary="The branch main and the tags, with the commits they name")
    def get(self, request, **kwargs):
        return Response(s.RefSerializer(revisions.list_refs(self.get_asset()), many=True).data)


class TagsView(AssetLookupMixin, APIView):
    serializer_class = s.NewTagSerializer

    @extend_schema(
        summary="Tag a commit (write permission)", request=s.NewTagSerializer, responses={201: s.RefSerializer}
    )
    def post(self, request, **kwargs):
        asset = self.get_asset(write=True)
        data = s.NewTagSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            ref = revisions.create_tag(
                asset=asset,
                name=data.validated_data["name"],
                user=request.user,
                revision=data.validated_data.get("revision") or None,
                request=request,
            )
        except revisions.RevisionNotFound as exc:
            raise ValidationError({"revision": [str(exc)]}) from None
        except ValueError as exc:
            raise ValidationError({"name": [str(exc)]}) from None
        return Response(s.RefSerializer(ref).data, status=status.HTTP_201_CREATED)


class TagDetailView(AssetLookupMixin, APIView):
    @extend_schema(summary="Delete a tag (write permission; main cannot be deleted)", responses={204: None})
    def delete(self, request, tag: str, **kwargs):
        asset = self.get_asset(write=True)
        try:
            revisions.delete_tag(asset=asset, name=tag, user=request.user, request=request)
        except revisions.RevisionNotFound:
            raise NotFound(f"No tag {tag!r}.") from None
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- vocabularies -------------------------------------------------------------------------------------


class TaskListView(generics.ListAPIView):
    serializer_class = s.TaskSerializer
    queryset = Task.objects.order_by("slug")
    pagination_class = None

    @extend_schema(summary="Every task, with its modality")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


# --- facet counts -------------------------------------------------------------------------------


class FacetValueSerializer(serializers_.Serializer):
    value = serializers_.CharField()
    label = serializers_.CharField()
    count = serializers_.IntegerField()


def _facets_serializer(name: str, noun: str, params: str) -> type[serializers_.Serializer]:
    return type(
        name,
        (serializers_.Serializer,),
        {
            "total": serializers_.IntegerField(help_text=f"{noun} matching every filter."),
            "facets": serializers_.DictField(
                child=FacetValueSerializer(many=True), help_text=f"{params}: each value with its count, largest first."
            ),
        },
    )


class _FacetsView(CachedResponseMixin, generics.GenericAPIView):
    kind = ""  # "models" or "datasets" (catalog.api.facets.KINDS)
    filter_backends = [DjangoFilterBackend]
    response_cache_seconds = facets.CACHE_SECONDS  # the counts' own cache period: at most two periods old

    def get(self, request):
        return Response(facets.asset_facets(request, self.kind))


ModelFacetsSerializer = _facets_serializer(
    "ModelFacetsSerializer", "Models", "task, media, architecture, training_type, license_category"
)
DatasetFacetsSerializer = _facets_serializer(
    "DatasetFacetsSerializer", "Datasets", "media, task, domain, license_category"
)


@extend_schema_view(
    get=extend_schema(
        summary="Facet counts of the (filtered) model list", responses=ModelFacetsSerializer, filters=True
    )
)
class ModelFacetsView(_FacetsView):
    """Counts per task, media, architecture family, training type and licence category of the models you
    may see that match the filters (the model list's query parameters), every filter applied. Counts
    come from a cache, at most two minutes old (the counts' cache, then the response cache): the public
    catalogue's (everything, for admins and curators) per set of filters, plus those of the private
    models you may see."""

    kind, serializer_class, queryset = "models", ModelFacetsSerializer, MLModel.objects.none()
    filterset_class = filters.MLModelFilter  # documents the same query parameters as the list


@extend_schema_view(
    get=extend_schema(
        summary="Facet counts of the (filtered) dataset list", responses=DatasetFacetsSerializer, filters=True
    )
)
class DatasetFacetsView(_FacetsView):
    """Counts per media, task, domain and licence category of the datasets you may see that match the
    filters (the dataset list's query parameters, EXAI criteria included), every filter applied.
    Cached like the model facets: at most two minutes old."""

    kind, serializer_class, queryset = "datasets", DatasetFacetsSerializer, Dataset.objects.none()
    filterset_class = filters.DatasetFilter


# --- likes -------------------------------------------------------------------------------------


class LikeSerializer(serializers_.Serializer):
    liked = serializers_.BooleanField(help_text="Whether you like this asset (false when not logged in).")
    likes = serializers_.IntegerField(help_text="How many users like it.")


@extend_schema_view(
    get=extend_schema(summary="Whether you like this asset, and its number of likes", responses=LikeSerializer),
    post=extend_schema(
        summary="Like this asset (liking it again changes nothing)", request=None, responses=LikeSerializer
    ),
    delete=extend_schema(summary="Stop liking this asset (idempotent)", responses=LikeSerializer),
)
class LikeView(AssetLookupMixin, APIView):
    """Any user who may see an asset may like it; a read-scope token may only GET (403 otherwise)."""

    serializer_class = LikeSerializer

    def _answer(self, asset, liked: bool) -> Response:
        asset.refresh_from_db(fields=["likes"])
        return Response({"liked": liked, "likes": asset.likes})

    def get(self, request, **kwargs):
        asset = self.get_asset()
        return self._answer(asset, selectors.likes_asset(request.user, asset))

    def post(self, request, **kwargs):
        asset = self.get_asset()
        return self._answer(asset, services.set_like(user=request.user, asset=asset, liked=True, request=request))

    def delete(self, request, **kwargs):
        asset = self.get_asset()
        return self._answer(asset, services.set_like(user=request.user, asset=asset, liked=False, request=request))
