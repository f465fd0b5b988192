"""A local server that speaks the OpenAI chat-completions protocol and answers scripted replies.

Tests point OPENAI_BASE_URL at it; nothing of ours is patched, so the real ``openai`` client, the
prompt, the guard and the database all run as in production.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Reply = str | int | Callable[[dict], "str | int"]


class FakeLLM:
    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.default: Reply | None = None
        self.requests: list[dict] = []
        self.delay_seconds = 0.0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def script(self, *replies: Reply) -> FakeLLM:
        """Answer these, in order (a string is the assistant's text; an int an HTTP error status)."""
        self.replies = list(replies)
        return self

    def start(self) -> FakeLLM:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def messages(self, n: int = -1) -> list[dict]:
        return self.requests[n]["messages"]

    def _next(self, body: dict) -> Reply:
        reply = self.replies.pop(0) if self.replies else self.default
        if reply is None:
            return 500
        return reply(body) if callable(reply) else reply

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append(body)
                reply = fake._next(body) if self.path.endswith("/chat/completions") else 404
                if fake.delay_seconds:
                    time.sleep(fake.delay_seconds)
                if isinstance(reply, int):
                    payload = {"error": {"message": "scripted failure", "type": "server_error", "code": None}}
                    return self._send(reply, payload)
                self._send(
                    200,
                    {
                        "id": f"chatcmpl-{len(fake.requests)}",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model", "fake"),
                        "choices": [
                            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": reply}}
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    },
                )

            def _send(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out first
                    pass

        return Handler


def sql_reply(sql: str) -> str:
    return f"Here is the query:\n```sql\n{sql}\n```"
