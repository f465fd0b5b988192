import logging

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST

from accounts.services import can_manage_sharing
from catalog import crypto, files, selectors
from catalog.forms import UploadForm
from catalog.models import FileVersion, MLModel, RepoFile


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


def model_detail(request: HttpRequest, owner: str, name: str) -> HttpResponse:
    model = get_object_or_404(selectors.model_detail_queryset(request.user), owner__username=owner, name=name)
    visible = MLModel.objects.visible_to(request.user)
    context = {
        "model": model,
        "base_edges": model.base_edges.filter(base__in=visible).select_related("base__owner"),
        "derivative_edges": model.derivative_edges.filter(model__in=visible).select_related("model__owner"),
        "dataset_links": model.dataset_links.filter(
            dataset__in=selectors.dataset_detail_queryset(request.user)
        ).select_related("dataset__owner"),
        "can_share": can_manage_sharing(request.user, model),
    }
    return render(request, "catalog/model_detail.html", context)


def dataset_detail(request: HttpRequest, owner: str, name: str) -> HttpResponse:
    dataset = get_object_or_404(selectors.dataset_detail_queryset(request.user), owner__username=owner, name=name)
    models_using = (
        MLModel.objects.visible_to(request.user).filter(dataset_links__dataset=dataset).select_related("owner").distinct()
    )
    return render(request, "catalog/dataset_detail.html", {
        "dataset": dataset, "models_using": models_using, "can_share": can_manage_sharing(request.user, dataset),
    })


# --- files ------------------------------------------------------------------------------------



log = logging.getLogger(__name__)


def _asset(request: HttpRequest, kind: str, owner: str, name: str):
    return get_object_or_404(files.asset_of(kind).objects.visible_to(request.user).select_related("owner"),
                             owner__username=owner, name=name)


def _can_edit(user, asset) -> bool:
    return type(asset).objects.editable_by(user).filter(pk=asset.pk).exists()


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
    repo_files = RepoFile.objects.of(asset).present().with_latest().order_by("path")
    pending = FileVersion.objects.filter(file__in=RepoFile.objects.of(asset)).exclude(
        status=FileVersion.Status.READY).select_related("file").order_by("-created_at")[:20]
    return render(request, "catalog/files.html", {
        "asset": asset, "kind": kind, "files": repo_files, "recent_problems": pending, "form": form,
        "can_edit": can_edit,
    })


def file_history(request: HttpRequest, kind: str, owner: str, name: str, path: str) -> HttpResponse:
    asset = _asset(request, kind, owner, name)
    repo_file = get_object_or_404(RepoFile.objects.of(asset), path=path)
    versions = repo_file.versions.select_related("uploaded_by").order_by("-number")
    return render(request, "catalog/file_history.html", {
        "asset": asset, "kind": kind, "repo_file": repo_file, "versions": versions,
        "can_edit": _can_edit(request.user, asset),
    })


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
    number = request.GET.get("version")
    if number is not None and not number.isdigit():
        return HttpResponse("version must be a number", status=400, content_type="text/plain")
    version = files.latest_version(asset, path, int(number) if number else None)
    if version is None:
        raise Http404("No such file or version.")
    return download_response(request, asset, version)


def download_response(request: HttpRequest, asset, version: FileVersion) -> HttpResponse:
    etag = f'"{version.sha256}"'
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
        response["ETag"] = etag
        return response
    range_header = request.headers.get("Range")
    if range_header and request.headers.get("If-Range") not in (None, etag):
        range_header = None  # the client's partial copy is of another version: send it all
    try:
        download = files.prepare_download(version, range_header)
    except files.RangeNotSatisfiable:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{version.size}"
        return response
    files.record_download(user=request.user, asset=asset, version=version, partial=download.partial, request=request)
    response = StreamingHttpResponse(_guarded(download), status=206 if download.partial else 200,
                                     content_type=version.content_type or "application/octet-stream")
    response["Content-Length"] = str(download.length)
    response["ETag"] = etag
    response["Accept-Ranges"] = "bytes"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = content_disposition_header(True, version.file.path.rsplit("/", 1)[-1])
    if download.partial:
        response["Content-Range"] = f"bytes {download.start}-{download.end - 1}/{version.size}"
    return response


def _guarded(download: files.Download):
    try:
        yield from download.stream()
    except crypto.IntegrityError:
        log.error("integrity failure while serving %s v%s", download.version.file, download.version.number)
        raise  # the server aborts the response: the client gets a short, failed download, never wrong bytes


def files_url(asset) -> str:
    kind = "models" if asset._meta.model_name == "mlmodel" else "datasets"
    return reverse("catalog:files", kwargs={"kind": kind, "owner": asset.owner.username, "name": asset.name})
