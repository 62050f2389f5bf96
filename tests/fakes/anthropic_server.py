"""A fake Anthropic Messages API: a real HTTP server on 127.0.0.1 with the real response shape.

Tests point the SDK at it through ANTHROPIC_BASE_URL (see `env_for`), script its answers,
make it fail with real error bodies and status codes, and read back every request it got
(to assert, for example, that images were attached). `latency` seconds delay every Messages
call (errors included), as a real model's generation time would; `calls` keeps each call's
(start, end) wall-clock times.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = str | Callable[[dict[str, Any]], str]

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "api_error",
    529: "overloaded_error",
}


def _tokens(text: str) -> int:
    """A stable stand-in for a tokenizer: one token per four characters, at least one."""
    return max(1, len(text) // 4)


class FakeAnthropic:
    """Context manager: `with FakeAnthropic() as fake: ... fake.url ...`."""

    def __init__(
        self, *, thinking: bool = False, retry_after: str | None = "0", latency: float = 0.0
    ) -> None:
        self.latency = latency  # seconds each Messages call takes
        self.calls: list[tuple[float, float]] = []  # (start, end) wall-clock time of each call
        self.thinking = thinking  # prepend a thinking block to every answer
        self.retry_after = retry_after  # header sent with 429/529 errors (None: none)
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.responses: list[dict[str, Any]] = []  # successful bodies sent, in order
        self._answers: deque[Answer] = deque()
        self._default: Answer = "ok"
        self._failures: deque[int] = deque()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # --- scripting -------------------------------------------------------------------

    def reply(self, *answers: Answer) -> None:
        """Queue answers, consumed one per request in order."""
        with self._lock:
            self._answers.extend(answers)

    def default(self, answer: Answer) -> None:
        """The answer used whenever the queue is empty."""
        with self._lock:
            self._default = answer

    def fail_next(self, status: int, n: int = 1) -> None:
        """The next `n` requests get an error response with this status."""
        with self._lock:
            self._failures.extend([status] * n)

    @staticmethod
    def images_in(request: dict[str, Any]) -> int:
        """How many image blocks a recorded request carried."""
        count = 0
        for message in request.get("messages", []):
            content = message.get("content")
            if isinstance(content, list):
                count += sum(1 for block in content if block.get("type") == "image")
        return count

    @staticmethod
    def text_of(request: dict[str, Any]) -> str:
        """All text the request sent (system and messages), for assertions on prompts."""
        parts: list[str] = []
        system = request.get("system")
        if isinstance(system, str):
            parts.append(system)
        for message in request.get("messages", []):
            content = message.get("content")
            if isinstance(content, str):
                parts.append(content)
            elif isinstance(content, list):
                parts.extend(b.get("text", "") for b in content if b.get("type") == "text")
        return "\n".join(parts)

    # --- server ----------------------------------------------------------------------

    def __enter__(self) -> FakeAnthropic:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence
                return

            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                if self.path.rstrip("/").split("?")[0] != "/v1/messages":
                    self._send(404, _error(404, f"no route {self.path}"))
                    return
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    self._send(400, _error(400, "body is not JSON"))
                    return
                started = time.time()
                status, payload, extra = fake._handle(body, dict(self.headers.items()))
                if fake.latency > 0:
                    time.sleep(max(0.0, started + fake.latency - time.time()))
                with fake._lock:
                    fake.calls.append((started, time.time()))
                self._send(status, payload, extra)

            def _send(
                self, status: int, payload: dict[str, Any], extra: dict[str, str] | None = None
            ) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.send_header("request-id", f"req_fake_{next(fake._ids)}")
                for key, value in (extra or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _handle(
        self, body: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        lowered = {k.lower(): v for k, v in headers.items()}
        with self._lock:
            self.requests.append(body)
            self.headers.append({k: v for k, v in lowered.items() if k != "x-api-key"})
            if not lowered.get("x-api-key") and not lowered.get("authorization"):
                return 401, _error(401, "x-api-key header is required"), {}
            if self._failures:
                status = self._failures.popleft()
                extra = {}
                if status in (429, 529) and self.retry_after is not None:
                    extra["retry-after"] = self.retry_after
                return status, _error(status, f"fake failure {status}"), extra
            answer = self._answers.popleft() if self._answers else self._default
        text = answer(body) if callable(answer) else answer
        content: list[dict[str, Any]] = []
        if self.thinking:
            content.append(
                {"type": "thinking", "thinking": "Let me think. {not json", "signature": "sig"}
            )
        content.append({"type": "text", "text": text})
        payload = {
            "id": f"msg_fake_{next(self._ids)}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", "unknown"),
            "content": content,
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {
                "input_tokens": _tokens(json.dumps(body.get("messages", []))[:20000]),
                "output_tokens": _tokens(text),
            },
        }
        with self._lock:
            self.responses.append(payload)
        return 200, payload, {}


def _error(status: int, message: str) -> dict[str, Any]:
    return {
        "type": "error",
        "error": {"type": ERROR_TYPES.get(status, "api_error"), "message": message},
    }


def env_for(fake: FakeAnthropic) -> dict[str, str]:
    """Environment that points the anthropic SDK at the fake."""
    return {"ANTHROPIC_BASE_URL": fake.url, "ANTHROPIC_API_KEY": "test-key-fake-anthropic"}
