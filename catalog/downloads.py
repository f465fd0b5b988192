"""A file version as an HTTP response, for the pages, the REST API and the Hub API alike: Range
requests, ETag (the SHA-256) and If-None-Match, HEAD without a read, and a download counted and
audited once per GET."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header

from catalog import crypto, files
from catalog.models import FileVersion

log = logging.getLogger(__name__)


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
    head = request.method == "HEAD"  # the same headers, but not a download: nothing counted, audited or read
    if not head:
        files.record_download(
            user=request.user, asset=asset, version=version, partial=download.partial, request=request
        )
    response = StreamingHttpResponse(
        () if head else _guarded(download),
        status=206 if download.partial else 200,
        content_type=version.content_type or "application/octet-stream",
    )
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
