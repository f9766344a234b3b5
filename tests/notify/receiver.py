"""A real HTTP server on 127.0.0.1 (free port) in a thread, for webhook and lookup tests.

    with Receiver([Reply(500), Reply(200, '{"ok": true}')]) as rx:
        ... rx.url ...; rx.requests -> [Seen(method, path, headers, body)]
    rx.stop() / rx.start()   take it down and bring it back on the same port

Replies are used in order; the last one repeats. `delay_s` holds the answer back (a slow
receiver); `handler` computes a reply from the request instead (a lookup endpoint).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: str = "{}"
    delay_s: float = 0.0
    content_type: str = "application/json"


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    def __init__(self, replies: list[Reply] | None = None,
                 handler: Callable[[Seen], Reply] | None = None, port: int = 0):
        self.replies = list(replies or [Reply()])
        self.handler = handler
        self.requests: list[Seen] = []
        self.port = port
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _next(self, seen: Seen) -> Reply:
        if self.handler is not None:
            return self.handler(seen)
        with self._lock:
            return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]

    def start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                seen = Seen(self.command, self.path, {k: v for k, v in self.headers.items()}, body)
                with owner._lock:
                    owner.requests.append(seen)
                reply = owner._next(seen)
                if reply.delay_s:
                    time.sleep(reply.delay_s)  # the receiver's own thread: a slow far end
                data = reply.body.encode("utf-8")
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up waiting

            do_POST = do_GET = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Receiver:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
