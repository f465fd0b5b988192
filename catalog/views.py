from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.core.paginator import Paginator
from django.db.models import Count, OuterRef, Prefetch, Subquery
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.text import capfirst
from django.views.decorators.http import require_POST

from accounts.services import MANAGE_REFUSED
from catalog import downloads, files, filters, forms, graph, revisions, search, selectors, services, usage
from catalog.api import facets
from catalog.discovery import data as data_discovery
from catalog.discovery import evaluations
from catalog.forms import UploadForm
from catalog.models import (
    Asset,
    Dataset,
    DatasetRelationshipColumnLink,
    EvaluationResult,
    FileVersion,
    MLModel,
    ModelDataset,
    ModelLineage,
    RepoFile,
)
from openmodelhub.params import ascii_int


def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "catalog/home.html",
        {
            "counts": selectors.catalogue_counts(user),
            "recent_models": selectors.recently_updated_models(user),
            "popular_models": selectors.most_downloaded_models(user),
            "recent_datasets": selectors.recently_updated_datasets(user),
        },
    )


def _repo_files(asset):
    """The asset's present paths with their latest ready version, and for a path with none its newest
    version's status and rejection reason (shown instead of a bare "no ready version")."""
    newest = FileVersion.objects.filter(file=OuterRef("pk")).order_by("-number")
    return (
        RepoFile.objects.of(asset)
        .present()
        .with_latest()
        .annotate(
            newest_status=Subquery(newest.values("status")[:1]), newest_reason=Subquery(newest.values("reason")[:1])
        )
        .order_by("path")
    )


def _asset_page_context(request: HttpRequest, asset, repo_files) -> dict:
    """What model and dataset pages share: files, likes, permissions and the usage snippets."""
    can_edit = _can_edit(request.user, asset)
    return {
        "repo_files": repo_files,
        "liked": selectors.likes_asset(request.user, asset),
        "usage": usage.snippets(request, asset, [f.path for f in repo_files if f.latest_id]),
        "can_edit": can_edit,
        "can_manage": can_edit and asset.is_manageable_by(request.user),  # manage includes write
    }


SUITED_ON_PAGE = 5  # datasets suited to the model on its page (the API gives more)
RELATED_ON_PAGE = 20  # files that could extend a dataset file


def model_detail(request: HttpRequest, owner: str, name: str) -> HttpResponse:
    model = selectors.model_detail_queryset().named(f"{owner}/{name}", user=request.user)
    return _model_page(request, model)


def _model_page(request: HttpRequest, model: MLModel, evaluation_form=None, status: int = 200) -> HttpResponse:
    base_edges, derivative_edges = selectors.visible_lineage(model, request.user)
    context = {
        "model": model,
        "base_edges": base_edges,
        "derivative_edges": derivative_edges,
        "dataset_links": selectors.visible_dataset_links(model, request.user),
        "evaluations": selectors.model_evaluations(model, request.user),
        **_asset_page_context(request, model, list(_repo_files(model))),
    }
    if context["can_edit"]:
        context["evaluation_form"] = evaluation_form or forms.EvaluationForm(user=request.user, prefix="evaluation")
    return render(request, "catalog/model_detail.html", context, status=status)


def dataset_detail(request: HttpRequest, owner: str, name: str) -> HttpResponse:
    dataset = selectors.dataset_detail_queryset().named(f"{owner}/{name}", user=request.user)
    models_using = selectors.visible_model_links(dataset, request.user).order_by("model__name", "role")
    relationships = dataset.relationships.select_related("from_file", "to_file").prefetch_related(
        Prefetch(
            "column_links",
            queryset=DatasetRelationshipColumnLink.objects.select_related("from_column", "to_column").order_by(
                "link_order"
            ),
        )
    )
    board = selectors.leaderboard(dataset, request.GET, request.user)
    return render(
        request,
        "catalog/dataset_detail.html",
        {
            "dataset": dataset,
            "models_using": models_using,
            "board": board,
            "relationships": relationships,
            "ethics": [
                (capfirst(Dataset._meta.get_field(flag).verbose_name), getattr(dataset, flag))
                for flag in Dataset.ETHICS_FLAGS
            ],
            **_asset_page_context(request, dataset, list(_repo_files(dataset))),
        },
        status=400 if board is not None and board.error else 200,
    )


def graph_page(request: HttpRequest) -> HttpResponse:
    """The neighbourhood of ``?asset=`` drawn by static/js/graph.js, which expands it through the API."""
    if not request.GET.get("asset", "").strip():
        return render(request, "catalog/graph.html", {"help": graph.REFERENCE_HELP})
    try:
        reference, depth, limit = graph.arguments(request.GET)
        root = graph.resolve(reference, request.user)
    except graph.BadArgument as error:
        context = {"help": f"{error.field}: {error}", "reference": request.GET.get("asset", "")}
        return render(request, "catalog/graph.html", context, status=400)
    data = graph.neighbourhood(root, request.user, depth=depth, limit=limit)
    return render(request, "catalog/graph.html", {"root": root, "data": data, "nodes": data["nodes"]})


# --- evaluation results (catalog.discovery.evaluations) --------------------------------------------


def _evaluation_of(request: HttpRequest, owner: str, name: str, pk: int):
    """A result of a model the user may change: hidden model or result 404, visible but not editable 403."""
    model = _editable(request, MLModel, owner, name)
    result = get_object_or_404(
        EvaluationResult.objects.visible_to(request.user).select_related("model__owner", "dataset__owner"),
        pk=pk,
        model=model,
    )
    return model, result


def _save_evaluation(request: HttpRequest, form, model: MLModel, result=None) -> bool:
    if not form.is_valid():
        return False
    try:
        saved = evaluations.save_result(
            user=request.user, data={"model": model, **form.cleaned_data}, result=result, request=request
        )
    except ValidationError as exc:
        _apply_errors(form, exc)
        return False
    messages.success(request, f"{saved.metric} on {saved.dataset.full_name} ({saved.split}) saved.")
    return True


@login_required
@require_POST
def evaluation_add(request: HttpRequest, owner: str, name: str) -> HttpResponse:
    model = _editable(request, MLModel, owner, name)
    form = forms.EvaluationForm(request.POST, user=request.user, prefix="evaluation")
    if _save_evaluation(request, form, model):
        return redirect(f"{model.get_absolute_url()}#evaluations")
    model = selectors.model_detail_queryset().get(pk=model.pk)
    return _model_page(request, model, evaluation_form=form, status=400)


@login_required
def evaluation_edit(request: HttpRequest, owner: str, name: str, pk: int) -> HttpResponse:
    model, result = _evaluation_of(request, owner, name, pk)
    form = forms.EvaluationForm(request.POST or None, user=request.user, result=result)
    if request.method == "POST":
        if _save_evaluation(request, form, model, result):
            return redirect(f"{model.get_absolute_url()}#evaluations")
    status = 400 if form.errors else 200
    return render(
        request, "catalog/evaluation_form.html", {"model": model, "result": result, "form": form}, status=status
    )


@login_required
@require_POST
def evaluation_delete(request: HttpRequest, owner: str, name: str, pk: int) -> HttpResponse:
    model, result = _evaluation_of(request, owner, name, pk)
    evaluations.delete_result(user=request.user, result=result, request=request)
    messages.success(request, f"{result.metric} on {result.dataset.full_name} ({result.split}) deleted.")
    return redirect(f"{model.get_absolute_url()}#evaluations")


@require_POST
def asset_like(request: HttpRequest, kind: str, owner: str, name: str) -> HttpResponse:
    """Like (``liked=1``) or unlike (``liked=0``) from the asset's page: a CSRF-checked POST, idempotent."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.META.get("HTTP_REFERER") or request.path)
    asset = _asset(request, kind, owner, name)
    liked = request.POST.get("liked")
    if liked not in ("0", "1"):
        return HttpResponse("liked must be 1 (like) or 0 (unlike).", status=400, content_type="text/plain")
    services.set_like(user=request.user, asset=asset, liked=liked == "1", request=request)
    return redirect(asset.get_absolute_url())


# --- lists and search -------------------------------------------------------------------------

PAGE_SIZE = 20
LISTS = {
    "models": (MLModel, filters.MLModelFilter, selectors.MODEL_FACETS, "catalog/model_list.html"),
    "datasets": (Dataset, filters.DatasetFilter, selectors.DATASET_FACETS, "catalog/dataset_list.html"),
}


def asset_list(request: HttpRequest, kind: str) -> HttpResponse:
    """A list with the API's FilterSet as a facet sidebar; every parameter is in the URL (GET)."""
    model_cls, filterset_class, facet_specs, template = LISTS[kind]
    base = selectors.list_queryset(model_cls, request.user)
    filterset = filterset_class(request.GET, queryset=base, request=request)
    query = request.GET.get("search", "").strip()
    context = {
        "kind": kind,
        "form": filterset.form,
        "facets": [],
        "page": None,
        "query": query,
        "sorts": list(filters.SORT_LABELS[kind].items()),
        "sort": request.GET.get("sort") or ("relevance" if query else "updated"),
        "facet_params": [spec.param for spec in facet_specs] + ["violations"],
        "violations_only": request.GET.get("violations", "").lower() in filters.StrictBooleanField.TRUE,
    }
    if not filterset.is_valid():
        return render(request, template, context, status=400)
    ordering = filters.ordering(filterset.form.cleaned_data.get("sort"), bool(query), selectors.SORTS[kind])
    try:
        context["page"] = selectors.keyset_page(filterset.qs, ordering, request.GET.get("cursor"), PAGE_SIZE)
    except ValueError as exc:
        context["cursor_error"] = str(exc)
        return render(request, template, context, status=400)
    context["facets"] = facets.sidebar(request, kind, request.GET)
    return render(request, template, context)


def model_list(request: HttpRequest) -> HttpResponse:
    return asset_list(request, "models")


def dataset_list(request: HttpRequest) -> HttpResponse:
    return asset_list(request, "datasets")


def search_page(request: HttpRequest) -> HttpResponse:
    """Both lists' best matches for a query, each linking to its full, filterable list."""
    query = request.GET.get("q", "").strip()
    results = {}
    if query:
        for kind, model_cls in (("models", MLModel), ("datasets", Dataset)):
            matches = search.apply(selectors.list_queryset(model_cls, request.user), query)
            results[kind] = list(matches.order_by(*filters.ordering(None, True, selectors.SORTS[kind]))[:10])
    return render(request, "catalog/search.html", {"query": query, "results": results})


# --- create, edit, delete ---------------------------------------------------------------------


def _apply_errors(form, exc: ValidationError) -> None:
    """A service's ValidationError next to the fields it names (others above the form)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def _editable(request: HttpRequest, model_cls, owner: str, name: str, level: str = "write"):
    """An asset the user holds ``level`` on (accounts.models.Permission): hidden is 404, visible but
    not at that level is 403."""
    asset = model_cls.objects.select_related("owner").named(f"{owner}/{name}", user=request.user)
    if not asset.has_permission(request.user, level):
        raise PermissionDenied(
            "You may not change this asset." if level == "write" else MANAGE_REFUSED.format("delete it")
        )
    return asset


@login_required
def model_edit(request: HttpRequest, owner: str | None = None, name: str | None = None) -> HttpResponse:
    """Create (no owner/name) or edit a model; on the edit page also its base models and datasets."""
    model = _editable(request, MLModel, owner, name) if owner else None
    if model is not None:
        model = selectors.model_detail_queryset().get(pk=model.pk)
    saving = request.method == "POST" and request.POST.get("action", "save") == "save"
    lineage_forms = {}
    if request.method == "POST" and not saving:
        if model is None:
            raise Http404("Save the model first.")
        result = _lineage_action(request, model)
        if isinstance(result, HttpResponse):
            return result
        lineage_forms = result
    data = request.POST if saving else None
    form = forms.ModelForm(data, instance=model or MLModel(owner=request.user), user=request.user)
    architecture = forms.ArchitectureForms(data, model)
    if saving and form.is_valid() & architecture.is_valid(request.POST.get("architecture_family", "")):
        payload = {**form.service_data(), "architecture": architecture.data(form.cleaned_data["architecture_family"])}
        current = MLModel.objects.get(pk=model.pk) if model else None  # the service compares before and after
        try:
            saved = services.save_model(user=request.user, data=payload, model=current, request=request)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, f"{saved.full_name} {'saved' if model else 'created'}.")
            return redirect(saved.get_absolute_url() if model else files_url(saved))
    context = {
        "form": form,
        "architecture": architecture,
        "model": model,
        "can_manage": model is not None and model.is_manageable_by(request.user),
    }
    if model is not None:
        context |= {
            "base_form": forms.BaseModelForm(user=request.user, prefix="base"),
            "link_form": forms.DatasetLinkForm(user=request.user, prefix="link"),
            "base_edges": model.base_edges.select_related("base__owner"),
            "dataset_links": model.dataset_links.select_related("dataset__owner"),
            **lineage_forms,
        }
    return render(request, "catalog/model_form.html", context, status=400 if lineage_forms else 200)


def _lineage_action(request: HttpRequest, model: MLModel) -> HttpResponse | dict:
    """The base-model and dataset forms of the model's edit page, each its own POST through the
    services: a redirect when done, else the bound form with its errors."""
    action = request.POST.get("action")
    if action in ("remove-base", "unlink-dataset"):
        base = action == "remove-base"
        links = (
            ModelLineage.objects.select_related("model", "base__owner")
            if base
            else ModelDataset.objects.select_related("model", "dataset__owner")
        )
        link = get_object_or_404(links, model=model, pk=ascii_int(request.POST.get("id")))  # None: no such link
        if base:
            services.remove_base_model(user=request.user, edge=link, request=request)
            messages.success(request, f"{link.base.full_name} is no longer a base model of {model.full_name}.")
        else:
            services.unlink_dataset(user=request.user, link=link, request=request)
            messages.success(request, f"{link.dataset.full_name} is no longer linked to {model.full_name}.")
        return redirect(request.path)
    if action == "add-base":
        form, key = forms.BaseModelForm(request.POST, user=request.user, prefix="base"), "base_form"
    elif action == "link-dataset":
        form, key = forms.DatasetLinkForm(request.POST, user=request.user, prefix="link"), "link_form"
    else:
        raise Http404("Unknown action.")
    if form.is_valid():
        try:
            if action == "add-base":
                services.add_base_model(
                    user=request.user,
                    model=model,
                    base=form.cleaned_data["base"],
                    relation=form.cleaned_data["relation"],
                    request=request,
                )
                done = f"{model.full_name} now derives from {form.cleaned_data['base'].full_name}."
            else:
                services.link_dataset(
                    user=request.user,
                    model=model,
                    dataset=form.cleaned_data["dataset"],
                    role=form.cleaned_data["role"],
                    request=request,
                )
                done = f"{form.cleaned_data['dataset'].full_name} linked."
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, done)
            return redirect(request.path)
    return {key: form}


@login_required
def dataset_edit(request: HttpRequest, owner: str | None = None, name: str | None = None) -> HttpResponse:
    dataset = _editable(request, Dataset, owner, name) if owner else None
    form = forms.DatasetForm(request.POST or None, instance=dataset or Dataset(owner=request.user), user=request.user)
    if request.method == "POST" and form.is_valid():
        current = Dataset.objects.get(pk=dataset.pk) if dataset else None
        try:
            saved = services.save_dataset(user=request.user, data=form.service_data(), dataset=current, request=request)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, f"{saved.full_name} {'saved' if dataset else 'created'}.")
            return redirect(saved.get_absolute_url() if dataset else files_url(saved))
    return render(
        request,
        "catalog/dataset_form.html",
        {
            "form": form,
            "dataset": dataset,
            "can_manage": dataset is not None and dataset.is_manageable_by(request.user),
        },
    )


@login_required
def asset_delete(request: HttpRequest, kind: str, owner: str, name: str) -> HttpResponse:
    asset = _editable(request, Asset.of_plural(kind), owner, name, level="manage")
    if request.method == "POST":
        services.delete_asset(user=request.user, asset=asset, request=request)
        messages.success(request, f"{asset.full_name} deleted.")
        return redirect(f"catalog:{asset.kind}-list")
    return render(request, "catalog/asset_confirm_delete.html", {"asset": asset, "kind": kind})


# --- files ------------------------------------------------------------------------------------


def _asset(request: HttpRequest, kind: str, owner: str, name: str):
    return Asset.of_plural(kind).objects.select_related("owner").named(f"{owner}/{name}", user=request.user)


def _can_edit(user, asset) -> bool:
    return asset.is_editable_by(user)


def file_list(request: HttpRequest, kind: str, owner: str, name: str) -> HttpResponse:
    asset = _asset(request, kind, owner, name)
    can_edit = _can_edit(request.user, asset)
    form = UploadForm()
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied("You may not change this asset's files.")
        form = UploadForm(request.POST, request.FILES)
        if getattr(request, "upload_too_large", False):
            form.add_error("file", files.too_large_message())
        elif form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                path = files.normalise_path(form.cleaned_data["path"] or upload.name)
                version = files.upload_file(user=request.user, asset=asset, request=request, path=path, content=upload)
            except ValidationError as exc:
                form.add_error("path" if "path" not in locals() else "file", exc)
            else:
                version.refresh_from_db()
                if version.status == FileVersion.Status.REJECTED:
                    messages.error(request, f"{version.file.path} was rejected: {version.reason}")
                else:
                    messages.success(request, f"{version.file.path} version {version.number} is {version.status}.")
                return redirect(request.path)
    revision = request.GET.get("revision")
    commit = _commit_or_404(asset, revision)
    pending = (
        FileVersion.objects.filter(file__in=RepoFile.objects.of(asset))
        .exclude(status=FileVersion.Status.READY)
        .select_related("file")
        .order_by("-created_at")[:20]
    )
    return render(
        request,
        "catalog/files.html",
        {
            "asset": asset,
            "kind": kind,
            "files": revisions.files_at(commit),
            "commit": commit,
            "revision": revision or "",
            "recent_problems": [] if revision else pending,
            "form": form,
            "can_edit": can_edit and not revision,
        },
    )


def _commit_or_404(asset, revision: str | None):
    try:
        return revisions.resolve_revision(asset, revision)
    except revisions.RevisionNotFound as exc:
        raise Http404(str(exc)) from None


COMMITS_PER_PAGE = 50


def commit_list(request: HttpRequest, kind: str, owner: str, name: str) -> HttpResponse:
    """A repository's history (main, or what ``?revision=`` reaches), newest first."""
    asset = _asset(request, kind, owner, name)
    revision = request.GET.get("revision")
    try:
        history = revisions.list_commits(asset, revision).annotate(changed=Count("changes"))
    except revisions.RevisionNotFound as exc:
        raise Http404(str(exc)) from None
    page = Paginator(history, COMMITS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "catalog/commits.html",
        {"asset": asset, "kind": kind, "page": page, "revision": revision or "", "refs": revisions.list_refs(asset)},
    )


def commit_detail(request: HttpRequest, kind: str, owner: str, name: str, revision: str) -> HttpResponse:
    asset = _asset(request, kind, owner, name)
    commit = _commit_or_404(asset, revision)
    if commit is None:
        raise Http404("The repository has no commit yet.")
    changes = commit.changes.select_related("version").order_by("path")
    return render(request, "catalog/commit.html", {"asset": asset, "kind": kind, "commit": commit, "changes": changes})


def file_history(request: HttpRequest, kind: str, owner: str, name: str, path: str) -> HttpResponse:
    asset = _asset(request, kind, owner, name)
    repo_file = get_object_or_404(RepoFile.objects.of(asset), path=path)
    versions = repo_file.versions.select_related("uploaded_by").order_by("-number")
    return render(
        request,
        "catalog/file_history.html",
        {
            "asset": asset,
            "kind": kind,
            "repo_file": repo_file,
            "versions": versions,
            "can_edit": _can_edit(request.user, asset),
        },
    )


@require_POST
def file_delete(request: HttpRequest, kind: str, owner: str, name: str, path: str) -> HttpResponse:
    asset = _asset(request, kind, owner, name)
    try:
        files.delete_path(user=request.user, asset=asset, path=path, request=request)
    except ValidationError as exc:
        raise Http404(" ".join(exc.messages)) from None
    messages.success(request, f"{path} deleted; its history is kept.")
    return redirect("catalog:files", kind=kind, owner=owner, name=name)


def file_download(request: HttpRequest, kind: str, owner: str, name: str, path: str) -> HttpResponse:
    asset = _asset(request, kind, owner, name)
    try:
        version = files.find_version(
            asset, path, number=request.GET.get("version"), revision=request.GET.get("revision")
        )
    except ValueError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain")
    except revisions.RevisionNotFound as exc:
        raise Http404(str(exc)) from None
    if version is None:
        raise Http404("No such file or version.")
    return downloads.download_response(request, asset, version)


def model_suited_datasets(request: HttpRequest, owner: str, name: str) -> HttpResponse:
    """ "Datasets suited to this model" (catalog.discovery.data): a page of its own, and with ``?partial=1``
    the section alone, which static/js/hub.js loads into the model page after it is shown (the ranking
    weighs licences and embeddings: the model page itself stays cheap)."""
    model = MLModel.objects.select_related("owner").named(f"{owner}/{name}", user=request.user)
    context = {
        "model": model,
        "suited_datasets": data_discovery.suited_datasets(model, request.user, limit=SUITED_ON_PAGE),
    }
    return _section(request, "catalog/_suited_datasets.html", context, title=f"Datasets suited to {model}", asset=model)


def dataset_recommendations(request: HttpRequest, owner: str, name: str) -> HttpResponse:
    """ "Models for this dataset" (catalog.recommend, for ``?purpose=``): a page of its own, and with
    ``?partial=1`` the section alone, loaded into the dataset page by static/js/hub.js."""
    dataset = Dataset.objects.select_related("owner").named(f"{owner}/{name}", user=request.user)
    return _section(
        request, "catalog/_recommendations.html", {"dataset": dataset}, title=f"Models for {dataset}", asset=dataset
    )


def _section(request: HttpRequest, template: str, context: dict, *, title: str, asset) -> HttpResponse:
    if request.GET.get("partial") == "1":
        return render(request, template, context)
    page = {**context, "section_template": template, "section_title": title, "asset": asset}
    return render(request, "catalog/asset_section.html", page)


def file_related(request: HttpRequest, owner: str, name: str, path: str) -> HttpResponse:
    """The files whose columns could extend a dataset file (union/join search, catalog.discovery.data)."""
    dataset = Dataset.objects.select_related("owner").named(f"{owner}/{name}", user=request.user)
    dataset_file = get_object_or_404(dataset.files.prefetch_related("columns"), path=path)
    found = data_discovery.related_files(dataset_file, request.user, limit=RELATED_ON_PAGE)
    context = {"dataset": dataset, "dataset_file": dataset_file, "related": found}
    return render(request, "catalog/related_files.html", context)


def files_url(asset) -> str:
    return reverse("catalog:files", kwargs={"kind": asset.plural, "owner": asset.owner.username, "name": asset.name})
