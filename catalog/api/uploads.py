"""Resumable uploads ending in one commit, for scripts and for the "Files and versions" page
(static/js/uploads.js): the same sessions and the same commit as the Hugging Face protocol
(catalog/uploads.py), under /api/v1/{models|datasets}/{owner}/{name}/.

1. ``POST uploads/`` ``{"size": n}`` opens a session: the content is sent in ``part_count`` parts of
   ``part_size`` bytes (the last one shorter);
2. ``PUT uploads/{id}/parts/{n}`` sends part ``n`` as the raw body (``Content-Length`` required), in
   any order; the body is streamed to the staging folder, never held in memory;
3. ``GET uploads/{id}`` says which parts arrived, so an interrupted transfer sends only the others;
4. ``POST uploads/{id}/complete`` hashes the assembled content (its SHA-256 and size come back);
5. ``POST commits/`` names completed uploads by path (and paths to delete) and writes ONE commit,
   after the whole file pipeline (inspection, encryption, storage) ran on every file.

Every endpoint needs write permission on the asset (a stranger gets 404, a reader 403). A session
belongs to the user who opened it: another user's id answers like a missing one.
"""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import uploads
from catalog.api import views as v
from catalog.api.schema import ErrorSerializer
from catalog.api.serializers import CommitChangeSerializer
from catalog.models import Commit, UploadSession

MAX_FILES_PER_COMMIT = 10_000


class NewUploadSerializer(serializers.Serializer):
    size = serializers.IntegerField(min_value=0, help_text="The file's size in bytes.")


class UploadSessionSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid", help_text="The upload's id (in the URLs below, and in a commit).")
    size = serializers.IntegerField()
    part_size = serializers.IntegerField(help_text="Bytes per part; the last part holds the rest.")
    part_count = serializers.IntegerField()
    received_parts = serializers.ListField(child=serializers.IntegerField(), help_text="Part numbers received.")
    sha256 = serializers.CharField(help_text="Once completed: the SHA-256 of the content; empty before.")
    expires_at = serializers.DateTimeField(help_text="Unless committed by then, the received bytes are dropped.")


class ReceivedPartsSerializer(serializers.Serializer):
    received_parts = serializers.ListField(child=serializers.IntegerField())


class CompletedSerializer(serializers.Serializer):
    sha256 = serializers.CharField()
    size = serializers.IntegerField()


class CommitFileSerializer(serializers.Serializer):
    path = serializers.CharField(max_length=1000, help_text="Where the file goes in the repository.")
    upload = serializers.UUIDField(help_text="A completed upload's id.")


class NewCommitSerializer(serializers.Serializer):
    message = serializers.CharField(max_length=1000, help_text="The commit's summary.")
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=65536)
    files = CommitFileSerializer(many=True, required=False, default=list, max_length=MAX_FILES_PER_COMMIT)
    delete = serializers.ListField(
        child=serializers.CharField(max_length=1000),
        required=False,
        default=list,
        max_length=MAX_FILES_PER_COMMIT,
        help_text="Paths to delete in the same commit.",
    )
    parent_commit = serializers.CharField(
        required=False,
        allow_null=True,
        default=None,
        max_length=40,
        help_text="The commit id the change was prepared on: if main has moved since, 412 and nothing changes.",
    )


class CommitResultSerializer(serializers.Serializer):
    commit = serializers.CharField(help_text="The new commit's id.")
    url = serializers.URLField(help_text="The commit's page.")
    files = CommitChangeSerializer(many=True, help_text="What the commit changed, path by path.")


ERROR_RESPONSES = {
    400: OpenApiResponse(ErrorSerializer, description="Parts are missing (named), or an upload named is not complete."),
    404: OpenApiResponse(ErrorSerializer, description="No such asset or upload, or a deleted path does not exist."),
    412: OpenApiResponse(ErrorSerializer, description="parent_commit is no longer the head of main: nothing changed."),
    422: OpenApiResponse(ErrorSerializer, description="A file was refused by inspection (the reason): nothing stored."),
}


def _refused(exc: uploads.UploadError) -> Response:
    return Response({"detail": str(exc)}, status=exc.status)


class _UploadView(v.AssetLookupMixin, APIView):
    def writable_asset(self):
        return self.get_asset(write=True)

    def session(self, asset) -> UploadSession:
        """The caller's own unexpired session named in the URL (someone else's is missing, too)."""
        session = uploads.find_session(asset, self.kwargs["upload_id"], self.request.user)
        if session.created_by_id != self.request.user.pk:
            raise uploads.EntryNotFound("There is no such upload (it may have expired or been committed).")
        return session

    def handle_exception(self, exc):
        if isinstance(exc, uploads.UploadError):
            return _refused(exc)
        return super().handle_exception(exc)


class UploadsView(_UploadView):
    @extend_schema(
        summary="Open a resumable upload (write permission)",
        request=NewUploadSerializer,
        responses={201: UploadSessionSerializer},
    )
    def post(self, request, **kwargs):
        asset = self.writable_asset()
        data = NewUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        session = uploads.create_session(user=request.user, asset=asset, size=data.validated_data["size"])
        return Response(UploadSessionSerializer(session).data, status=status.HTTP_201_CREATED)


class UploadDetailView(_UploadView):
    @extend_schema(summary="An upload's parts received so far (to resume it)", responses=UploadSessionSerializer)
    def get(self, request, **kwargs):
        return Response(UploadSessionSerializer(self.session(self.writable_asset())).data)


class UploadPartView(_UploadView):
    @extend_schema(
        summary="Send one part of an upload as the raw body (Content-Length required)",
        request={"application/octet-stream": OpenApiTypes.BINARY},
        responses={200: ReceivedPartsSerializer},
    )
    def put(self, request, number: int, **kwargs):
        session = self.session(self.writable_asset())
        # The raw request, not DRF's parsers: the part streams to its offset, never held in memory.
        raw = request._request
        uploads.receive_part(session, number, raw, _content_length(raw))
        return Response({"received_parts": session.received_parts})


class UploadCompleteView(_UploadView):
    @extend_schema(
        summary="Check an upload has every part and hash it",
        request=None,
        responses={200: CompletedSerializer, 400: ERROR_RESPONSES[400], 404: ERROR_RESPONSES[404]},
    )
    def post(self, request, **kwargs):
        session = uploads.complete(self.session(self.writable_asset()))
        return Response({"sha256": session.sha256, "size": session.size})


def _content_length(raw) -> int | None:
    value = raw.META.get("CONTENT_LENGTH") or ""
    if not value:
        return None
    if not value.isdigit():
        raise uploads.UploadError("Content-Length must be a number of bytes.")
    return int(value)


class CommitsView(_UploadView, v.CommitsView):
    """GET: the history (catalog.api.views.CommitsView); POST: a commit of completed uploads."""

    parser_classes = [JSONParser]  # files is a list of objects: JSON only

    @extend_schema(
        summary="Commit completed uploads and deletions as one commit (write permission)",
        request=NewCommitSerializer,
        responses={
            201: CommitResultSerializer,
            404: ERROR_RESPONSES[404],
            412: ERROR_RESPONSES[412],
            422: ERROR_RESPONSES[422],
        },
    )
    def post(self, request, **kwargs):
        asset = self.writable_asset()
        data = NewCommitSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        body = data.validated_data
        additions = [
            uploads.Addition(item["path"], staged=self.staged(asset, item["upload"])) for item in body["files"]
        ]
        created = uploads.commit(
            user=request.user,
            asset=asset,
            message=body["message"],
            description=body["description"],
            additions=additions,
            deletions=body["delete"],
            parent=body["parent_commit"] or None,
            request=request,
        )
        return Response(self.result(asset, created), status=status.HTTP_201_CREATED)

    def staged(self, asset, upload_id) -> uploads.Staged:
        staged = uploads.staged_session(asset, session_uuid=upload_id)
        if staged.session.created_by_id != self.request.user.pk:
            raise uploads.UploadError(
                f"The upload {upload_id} was not uploaded (or not completed) for this repository."
            )
        return staged

    def result(self, asset, created: Commit) -> dict:
        page = reverse("catalog:commit", args=[asset.plural, asset.owner.username, asset.name, created.oid])
        changes = created.changes.select_related("version")
        return {
            "commit": created.oid,
            "url": self.request.build_absolute_uri(page),
            "files": CommitChangeSerializer(changes, many=True).data,
        }
