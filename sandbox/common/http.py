"""A small threaded JSON-over-HTTP server that both sandboxes run on.

The server owns everything that is the same for both systems: HTTP/1.1 keep-alive, reading
the request, fault injection, turning an unexpected exception into a logged 500, and writing
the response. A system plugs in an `App` that turns a `Request` into a `Response`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import ssl
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from sandbox.common.faults import Fault, FaultInjector

log = logging.getLogger("sandbox")
FAULT_LOG_PREFIX = "fault injected: "


@dataclass
class Request:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: Message
    body: bytes
    raw_query: str = ""

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


@dataclass
class Response:
    status: int
    body: Any = None  # JSON-serialisable; None sends an empty body
    headers: dict[str, str] = field(default_factory=dict)


class App(Protocol):
    """What a sandbox system provides to the shared server."""

    def handle(self, request: Request) -> Response: ...

    def fault_response(self, fault: Fault) -> Response:
        """The system's own rendering of an injected 500 or 429, or of an unexpected error."""
        ...

    def malformed_request(self, message: str) -> Response:
        """The system's own 400 for a request the server cannot even read (e.g. a bad Content-Length)."""
        ...

    def admission(self, request: Request) -> contextlib.AbstractContextManager[Response | None]:
        """Hold the request 'in flight' for its whole life; yield a refusal to answer it instead."""
        ...


def _json_default(value: object) -> object:
    # Sandboxes keep money as Decimal; JSON numbers are what the real APIs send.
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    msg = f"cannot encode {type(value).__name__} as JSON"
    raise TypeError(msg)


def encode_json(body: Any) -> bytes:
    return json.dumps(body, default=_json_default, separators=(",", ":")).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, keep-alive clients wait ~40 ms per request.
    disable_nagle_algorithm = True
    server: SandboxServer

    def _serve(self) -> None:
        split = urlsplit(self.path)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            # The body's end is unknown, so the connection cannot be reused after answering.
            self.close_connection = True
            self._send(self.server.app.malformed_request("the Content-Length header is not a number"))
            return
        body = self.rfile.read(length) if length > 0 else b""
        if len(body) < length:
            # The client went away before its body was complete (killed between the two writes of headers and
            # body, say). A real server never handles such a request: nothing is done, nothing is answered.
            log.info("request cut short: %s %s sent %d of %d body bytes; dropped unhandled", self.command,
                     split.path, len(body), length)
            self.close_connection = True
            return
        request = Request(
            method=self.command,
            path=split.path,
            query=parse_qsl(split.query, keep_blank_values=True),
            headers=self.headers,
            body=body,
            raw_query=split.query,
        )
        app, injector = self.server.app, self.server.injector
        fault, delay = injector.draw(request.method)
        if fault is Fault.HEADERS_ONLY:
            if body:
                request.body = b""  # what a server that did not wait for the body would have handled
            else:
                fault = Fault.NONE  # nothing to cut short
        if fault is not Fault.NONE:
            # One line per fault, always: what a soak run counts its faults met by.
            log.info("%s%s %s %s", FAULT_LOG_PREFIX, fault.value, request.method, request.path)
        if fault is Fault.DROP:
            injector.wait(delay)
            self._drop()
            return
        with app.admission(request) as refusal:
            injector.wait(delay)
            if refusal is not None:
                response = refusal
            elif fault in (Fault.SERVER_ERROR, Fault.RATE_LIMIT):
                response = app.fault_response(fault)
            else:
                response = self._handle_safely(app, request)
        if fault in (Fault.AMBIGUOUS_WRITE, Fault.HEADERS_ONLY):
            self._drop()  # handled (and committed, if it could be); the client never hears of it
            return
        self._send(response)

    def __getattr__(self, name: str) -> Any:
        # The stdlib looks up `do_<METHOD>`; send every method to the app, which answers 405 in
        # its own error format instead of the stdlib's 501 HTML page.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def _handle_safely(self, app: App, request: Request) -> Response:
        try:
            return app.handle(request)
        except Exception:  # a bug in the sandbox: log it loudly, answer like the real system would
            log.error("unhandled error on %s %s\n%s", request.method, self.path, traceback.format_exc())
            return app.fault_response(Fault.SERVER_ERROR)

    def _send(self, response: Response) -> None:
        payload = b"" if response.body is None else encode_json(response.body)
        self.send_response(response.status)
        headers = {"Content-Type": "application/json", **response.headers}
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        if self.server.verbose:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # bursts of concurrent clients must queue, not be refused

    def __init__(
        self, address: tuple[str, int], app: App, injector: FaultInjector, *, verbose: bool = False,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(address, _Handler)
        self.app = app
        self.injector = injector
        self.verbose = verbose
        self.tls = tls

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake runs here, in the connection's own thread, so a client that refuses the certificate
        # (or never speaks TLS) holds up no one else.
        if self.tls is not None:
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as refused:
                log.info("TLS handshake with %s failed: %s", client_address[0], refused)
                return
        super().finish_request(request, client_address)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host}:{port}"


def tls_context(cert_path: str, key_path: str) -> ssl.SSLContext:
    """A server context that presents the certificate chain in `cert_path` (PEM) with its key."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context


@contextlib.contextmanager
def no_admission_control(_request: Request) -> Iterator[None]:
    yield None
