"""Failures that no retry fixes end the run with a message naming the request, the cause and what to check."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from singer_sdk.exceptions import FatalAPIError

from tests.tap_customcrm.conftest import TOKEN, sync, tap_config


class _LoginPage(BaseHTTPRequestHandler):
    """What a mistyped api_url often reaches: a web server answering 200 with HTML."""

    def do_GET(self) -> None:
        body = b"<html><body>Please log in</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def web_page() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _LoginPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_an_api_url_that_is_not_a_customcrm_service_fails_at_once_saying_so(web_page: str) -> None:
    with pytest.raises(FatalAPIError) as failure:
        sync(tap_config(web_page))
    message = str(failure.value)
    assert message.startswith("GET /v1/users answered 200 with a body that is not JSON ("), message
    assert message.endswith("); is api_url a Customcrm service?"), message


def test_a_service_slower_than_request_timeout_fails_saying_which_setting_to_raise(
    start_sandbox: Callable[..., Any],
) -> None:
    slow = start_sandbox("customcrm", "--token", TOKEN, "--fault-latency-ms", "2500")
    with slow as sb, pytest.raises(FatalAPIError) as failure:
        sync(tap_config(sb.url, request_timeout=1, max_retries=1))  # 1 s: the least request_timeout allows
    assert str(failure.value) == (
        "GET /v1/users: ReadTimeout (timed out) -- no answer in time: the service is slow or stuck; "
        "raise request_timeout"
    )
