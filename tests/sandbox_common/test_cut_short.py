"""A write whose body never fully arrives: both sandboxes drop it unhandled, as real servers do, and a fault flag
brings back exactly the case a lenient server makes of it (handled with an empty body, that answer kept under the
Idempotency-Key), so the sync's handling of it stays tested."""

from __future__ import annotations

import base64
import json
import socket
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.conftest import SandboxStarter


@dataclass(frozen=True)
class System:
    name: str
    credential: tuple[str, str]  # the sandbox's flag and the secret
    path: str  # a collection to create in
    auth: dict[str, str]  # the header that authorises a request

    def body(self, marker: str) -> dict[str, Any]:
        if self.name == "invoiced":
            return {"name": marker}
        return {"name": marker, "org_number": marker, "email": f"{marker.lower()}@cut.example", "currency": "NOK"}

    def created(self, url: str, marker: str) -> list[Any]:
        params = {"filter[name]": marker} if self.name == "invoiced" else {"org_number": marker}
        found = requests.get(url + self.path, params=params, headers=self.auth, timeout=30).json()
        return found if isinstance(found, list) else found["data"]


INVOICED = System("invoiced", ("--api-key", "cut-short-key"), "/customers",
                  {"Authorization": "Basic " + base64.b64encode(b"cut-short-key:").decode()})
CUSTOMCRM = System("customcrm", ("--token", "cut-short-token"), "/v1/customers",
                   {"Authorization": "Bearer cut-short-token"})
SYSTEMS = pytest.mark.parametrize("system", [INVOICED, CUSTOMCRM], ids=lambda s: s.name)


def _headers_then_hang_up(url: str, system: System, body: bytes, key: str) -> None:
    """What a client killed between its two writes sends: the headers and part of the body, then nothing."""
    where = urlsplit(url)
    head = [f"POST {system.path} HTTP/1.1", f"Host: {where.netloc}", "Content-Type: application/json",
            f"Content-Length: {len(body)}", f"Idempotency-Key: {key}",
            *(f"{name}: {value}" for name, value in system.auth.items())]
    with socket.create_connection((where.hostname, where.port), timeout=10) as connection:
        connection.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body[: len(body) // 3])


def _post(url: str, system: System, body: dict[str, Any], key: str) -> requests.Response:
    return requests.post(url + system.path, json=body, timeout=30,
                         headers={**system.auth, "Idempotency-Key": key})


@SYSTEMS
def test_a_write_cut_short_is_dropped_unhandled(start_sandbox: SandboxStarter, system: System) -> None:
    marker, key = f"Cut{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
    with start_sandbox(system.name, *system.credential, "--verbose") as sandbox:
        _headers_then_hang_up(sandbox.url, system, json.dumps(system.body(marker)).encode(), key)
        deadline = time.monotonic() + 30
        while "request cut short" not in sandbox.log():
            assert time.monotonic() < deadline, sandbox.log()[-2000:]
            time.sleep(0.02)
        assert system.created(sandbox.url, marker) == []
        # Nothing was kept under the key either: the same key with the whole body creates the record, once.
        answer = _post(sandbox.url, system, system.body(marker), key)
        assert answer.status_code == 201, answer.text
        assert len(system.created(sandbox.url, marker)) == 1


@SYSTEMS
def test_the_headers_only_fault_handles_a_write_without_its_body(start_sandbox: SandboxStarter, system: System) -> None:
    faults = ("--fault-headers-only-rate", "0.5", "--fault-seed", "3")
    with start_sandbox(system.name, *system.credential, "--verbose", *faults) as sandbox:
        struck = 0
        for _ in range(12):
            marker, key = f"Head{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
            try:
                _post(sandbox.url, system, system.body(marker), key)
                continue  # not struck this time
            except requests.ConnectionError:
                pass
            # The retry with the same key and the whole body is answered what the empty body was answered.
            for _ in range(40):
                try:
                    answer = _post(sandbox.url, system, system.body(marker), key)
                    break
                except requests.ConnectionError:
                    continue
            if system.name == "invoiced":
                # Invoiced keeps a key's first answer, whatever the body: the refusal of the empty body.
                assert answer.status_code == 400, answer.text
                assert system.created(sandbox.url, marker) == []
            else:
                # Customcrm's contract keeps only a create that succeeded: the whole body is created, once.
                assert answer.status_code == 201, answer.text
                assert len(system.created(sandbox.url, marker)) == 1
            struck += 1
        assert struck >= 2
        assert "fault injected: headers_only POST" in sandbox.log()
