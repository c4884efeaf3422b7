"""How the app is served: uvicorn, with a bounded request head and a drain before shutdown.

`make run`, the image's CMD and the tests' servers all start uvicorn with `UVICORN_OPTIONS`
(tests/test_project.py checks that the Makefile and the Dockerfile carry them):

- `--http app.asgi:BoundedHttpTools` (this module's class, named through the module uvicorn
  serves, which a worker imports first for it: app/asgi.py says why): uvicorn's httptools
  protocol (its default), refusing a
  request whose head has more than MAX_HEADERS fields or MAX_HEAD_BYTES with a 431 as soon as it
  gets there, before buffering more. As it comes, uvicorn reads a head of any size (8 MB and
  100,000 fields were accepted), and the h11 protocol, which has a limit, is the slower one.
- `--timeout-graceful-shutdown`: what uvicorn waits for requests in flight before it stops,
  inside Docker's ten seconds between SIGTERM and SIGKILL.

And the app drains on SIGTERM (`Drain`): uvicorn's own shutdown closes its listening socket and
every idle keep-alive connection at once, so a request sent at that moment, on a connection the
client had every reason to reuse or one still in the accept queue, got no answer at all. For
SHUTDOWN_DRAIN_SECONDS the app keeps serving connections and answers each new request with a
503, `Retry-After` and `Connection: close` (/healthz too, so a balancer stops sending:
app/http/middleware.py `Draining`); requests already running finish as usual. Then uvicorn's graceful shutdown runs, and the lifespan writes
what the writer holds before the process exits.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from app.http.answers import HEADERS as SECURITY_HEADERS
from app.http.middleware import (
    HEAD_TOO_LARGE,
    MAX_HEAD_BYTES,
    MAX_HEADERS,
    early_response,
)

log = logging.getLogger("app")

GRACEFUL_SHUTDOWN_SECONDS = 5
# After a 431, how long the rest of what the client sends is read and dropped.
LINGER_SECONDS = 2.0
UVICORN_OPTIONS = (
    "--http",
    "app.asgi:BoundedHttpTools",
    "--timeout-graceful-shutdown",
    str(GRACEFUL_SHUTDOWN_SECONDS),
    "--no-proxy-headers",  # TRUSTED_PROXIES is the only switch (app/main.py)
)


class BoundedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol with a bounded head. Fields and the request line are counted
    as the parser hands them over. The parser keeps a field to itself until it ends, so a chunk
    that ends inside a head counts whole too, when all of it is that head's: one endless field
    is cut off at MAX_HEAD_BYTES. The two counts are kept apart (a field is in both) and each is
    held to the limit. (A chunk that also ends a request before the head, pipelined, is left to
    the first count: it holds at most one read of the head.)"""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = False
        self._between = True  # no request begun since the last one ended
        self._heads = 0  # heads begun on this connection
        self._head_bytes = 0  # of the head being read: its fields and request line
        self._chunk_bytes = 0  # of the same head: the chunks that began and ended inside it
        self._refused = False

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._head_bytes, self._chunk_bytes = True, 0, 0
        self._between = False
        self._heads += 1

    def on_url(self, url: bytes) -> None:
        if not self._refused:
            super().on_url(url)
            self._count(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._refused:
            super().on_header(name, value)
            self._count(len(name) + len(value) + 4)
            if len(self.headers) > MAX_HEADERS:
                self._refused = True

    def on_headers_complete(self) -> None:
        self._in_head = False
        if not self._refused:  # refused: no request for the app
            super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        self._between = True
        if not self._refused:
            super().on_message_complete()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # answered; the connection is closing
        between, inside, heads = self._between, self._in_head, self._heads
        super().data_received(data)
        same_head = (inside and self._heads == heads) or (between and self._heads == heads + 1)
        if self._in_head and same_head:  # every byte of the chunk is this head's
            self._chunk_bytes += len(data)
            self._refused = self._refused or self._chunk_bytes > MAX_HEAD_BYTES
        if self._refused:
            self._answer_431()

    def _count(self, n: int) -> None:
        self._head_bytes += n
        if self._head_bytes > MAX_HEAD_BYTES:
            self._refused = True

    def _answer_431(self) -> None:
        if self.transport.is_closing():  # the parser found worse, and uvicorn answered 400
            return
        path = self.url.split(b"?", 1)[0].decode("latin-1") if self.url else "/"
        body, kind = early_response(path, 431, "headers_too_large", HEAD_TOO_LARGE)
        head = [STATUS_LINE[431]]
        for name, value in [
            (b"content-type", kind),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
            *SECURITY_HEADERS,
        ]:
            head += [name, b": ", value, b"\r\n"]
        self.transport.write(b"".join([*head, b"\r\n", body]))
        # A lingering close, as web servers do: closed at once with the rest of the head still
        # coming, the socket would answer it with a reset, which can make the client drop the
        # 431 unread. So: end our side, discard what still comes, close a moment later.
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)


class Drain:
    """After SIGTERM: `draining` for `seconds`, then the signal goes on to uvicorn's handler.
    Installed by the lifespan in the server's main thread (signals are delivered there only);
    a server in another thread (the tests') keeps uvicorn's handling as it is."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.draining = False
        self._previous: Any = None

    def install(self) -> None:
        if self.seconds <= 0 or threading.current_thread() is not threading.main_thread():
            return
        self._previous = signal.getsignal(signal.SIGTERM)
        signal.signal(signal.SIGTERM, self._on_sigterm)

    def uninstall(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)
            self._previous = None

    def _on_sigterm(self, sig: int, frame: FrameType | None) -> None:
        previous = self._previous
        if not callable(previous):  # no handler of the server's to hand over to
            return
        if self.draining:  # a second SIGTERM: shut down now
            previous(sig, frame)
            return
        self.draining = True
        log.info("SIGTERM: refusing new requests for %.1f s, then shutting down", self.seconds)
        later = threading.Timer(self.seconds, previous, (sig, frame))
        later.daemon = True
        later.start()
