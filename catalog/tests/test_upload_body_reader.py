"""Request bodies read straight from gunicorn's socket (catalog.uploads._gunicorn_body) under a real
gunicorn: the bytes gunicorn read ahead with the head come first, a pipelined next request on the same
connection is left intact, and a body cut short is a clear error that closes the connection."""

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from catalog import uploads

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "OMH_VAR_DIR": str(tmp_path_factory.mktemp("var")),
        "DJANGO_SETTINGS_MODULE": "openmodelhub.settings",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "catalog.tests.gunicorn_body_app:app", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--threads", "2", "--log-level", "warning"],
        cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail("gunicorn did not start: " + (process.stderr.read() if process.stderr else ""))
            time.sleep(0.05)
    yield port
    process.terminate()
    process.wait(timeout=30)


def put(path: str, body: bytes, length: int | None = None) -> bytes:
    head = (
        f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body) if length is None else length}\r\n\r\n"
    )
    return head.encode() + body


def responses(connection: socket.socket, count: int) -> list[tuple[int, dict]]:
    data, answers = b"", []
    while len(answers) < count:
        chunk = connection.recv(65536)
        if not chunk:
            break
        data += chunk
        while b"\r\n\r\n" in data:
            head, rest = data.split(b"\r\n\r\n", 1)
            length = int(
                next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
            )
            if len(rest) < length:
                break
            answers.append((int(head.split(b" ")[1]), json.loads(rest[:length])))
            data = rest[length:]
    return answers


def test_a_body_comes_straight_from_the_socket_and_a_pipelined_request_stays_intact(server):
    large = os.urandom(3 * 1024 * 1024 + 5)  # several receive blocks
    small = b"the next request's body"
    with socket.create_connection(("127.0.0.1", server), timeout=30) as connection:
        connection.sendall(put("/a", small) + put("/b", large) + put("/c", small))  # pipelined
        answers = responses(connection, 3)
    assert [status for status, _ in answers] == [200, 200, 200]
    for (_, answer), sent in zip(answers, (small, large, small), strict=True):
        assert answer == {
            "direct": True,
            "sha256": hashlib.sha256(sent).hexdigest(),
            "size": len(sent),
            # whole receive blocks from the body's start (what gunicorn read ahead included), then the rest:
            # blocks stay aligned to the encryption chunks, which are then encrypted without a copy
            "block_sizes": sorted({min(len(sent), uploads.RECEIVE_BLOCK), len(sent) % uploads.RECEIVE_BLOCK}),
        }


def test_a_body_cut_short_is_an_error_and_the_connection_is_not_reused(server):
    with socket.create_connection(("127.0.0.1", server), timeout=30) as connection:
        connection.sendall(put("/a", b"x" * 1000, length=2 * 1024 * 1024))
        connection.shutdown(socket.SHUT_WR)  # the client goes away mid-body
        answers = responses(connection, 1)
        assert connection.recv(1) == b""  # closed after the answer
    assert answers[0][0] == 400 and "ended after 1,000 of 2,097,152 bytes" in answers[0][1]["error"]
