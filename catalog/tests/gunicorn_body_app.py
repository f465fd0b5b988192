"""A WSGI application for test_upload_body_reader: reads a request body as the upload views do
(``catalog.uploads``) under a real gunicorn, and answers what it received and how."""

import hashlib
import json

import django

django.setup()

from django.core.handlers.wsgi import WSGIRequest  # noqa: E402

from catalog import uploads  # noqa: E402


def app(environ, start_response):
    request = WSGIRequest(environ)
    length = int(environ.get("CONTENT_LENGTH") or 0)
    blocks = uploads._read_exactly(request, length)
    digest, size, status, sizes = hashlib.sha256(), 0, "200 OK", set()
    answer = {"direct": blocks.__name__ == "_receive"}  # straight from the socket, or through wsgi.input
    try:
        for block in blocks:
            digest.update(block)
            size += len(block)
            sizes.add(len(block))
    except uploads.UploadError as exc:
        status, answer["error"] = "400 Bad Request", str(exc)
    answer.update(sha256=digest.hexdigest(), size=size, block_sizes=sorted(sizes))
    body = json.dumps(answer).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
