"""The OpenAPI document is current, served, and the service keeps to it under schemathesis fuzzing."""

from __future__ import annotations

import itertools
import json
import zlib
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from sandbox.customcrm import openapi
from sandbox.customcrm.app import MAX_IDEMPOTENCY_KEY
from sandbox.customcrm.entities import ENTITIES
from tests.sandbox_customcrm.conftest import TOKEN, Api, new_body

# Seeded records no test deletes, for the references of generated orders.
LIVE_REFERENCES = {"customer_id": "cus_1", "owner_user_id": "usr_1", "product_id": "prd_1"}
UNIQUE = itertools.count(1)
ANSWERS: dict[str, set[int]] = {}  # "METHOD /path" -> statuses the fuzz got
CONFIG = SchemathesisConfig()
SCHEMA = schemathesis.openapi.from_path(openapi.DOCUMENT_PATH, config=CONFIG)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def test_the_committed_document_is_generated_from_the_entity_definitions() -> None:
    assert openapi.main(["--check"]) == 0, "run: python -m sandbox.customcrm.openapi"


def test_the_service_serves_the_committed_document(api: Api) -> None:
    assert api.get("/openapi.json").json() == json.loads(openapi.DOCUMENT_PATH.read_text())


@pytest.fixture(scope="module")
def fuzz_targets(api: Api) -> dict[str, list[str]]:
    """Records of the fuzz's own to read, change and delete, so other tests keep the seeded ones."""
    return {
        collection: [api.post(f"/v1/{collection}", new_body(collection)).json()["id"] for _ in range(4)]
        for collection in ("customers", "products", "users", "orders")
    }


def aim_at_live_records(case: schemathesis.Case, pool: list[str]) -> None:
    """Make a valid request reach the code behind the checks for ids, references and unique values.

    Generated ids, references and versions almost never exist, and generated unique values and idempotency
    keys repeat, so untouched most valid requests would stop at 404, 422, 412 or 409 before the body is ever
    stored and rendered back. A share of each kind is left alone to keep those answers checked too.
    """
    fingerprint = zlib.crc32(repr((case.path_parameters, case.query, case.headers, case.body)).encode())
    if (case.path_parameters or {}).get("id") is not None:
        # The whole case picks the record, so the many bodies of one generated id spread over the pool;
        # one slot in (pool + 1) keeps probing an unknown id.
        slot = fingerprint % (len(pool) + 1)
        if slot < len(pool):
            case.path_parameters["id"] = pool[slot]
    headers = case.headers or {}
    if "If-Match" in headers and fingerprint % 4:
        headers["If-Match"] = "*"
    if "Idempotency-Key" in headers:
        headers["Idempotency-Key"] = _fresh(headers["Idempotency-Key"], MAX_IDEMPOTENCY_KEY)
    if not isinstance(case.body, dict):
        return
    entity = ENTITIES[case.operation.path.split("/")[2]]
    for field in entity.uniques:
        if isinstance(case.body.get(field.name), str):
            case.body[field.name] = _fresh(case.body[field.name], field.max_length)
    for name, live in LIVE_REFERENCES.items():
        if case.body.get(name) is not None:
            case.body[name] = live
    for line in case.body.get("lines") or []:
        if isinstance(line, dict) and line.get("product_id") is not None:
            line["product_id"] = LIVE_REFERENCES["product_id"]


def _fresh(value: str, max_length: int) -> str:
    """`value` made unique by a prefix, unless that would make it too long."""
    fresh = f"{next(UNIQUE)}-{value}"
    return fresh if len(fresh) <= max_length else value


@pytest.fixture(scope="module")
def fuzz_coverage(request: pytest.FixtureRequest) -> Iterator[None]:
    """Guards the fuzz itself, once every operation's fuzz has run: an operation that never answered 2xx never had
    its stored and rendered records checked against the document. A session that selected only some operations
    (`-k`) has the check of what it ran, not of the whole document."""
    yield
    selected = [item for item in request.session.items if item.originalname == FUZZ_TEST]
    document = json.loads(openapi.DOCUMENT_PATH.read_text())
    operations = {f"{m.upper()} {p}" for p, item in document["paths"].items() for m in item if m != "parameters"}
    if len(selected) == len(operations):
        assert set(ANSWERS) == operations, f"operations the fuzz never called: {sorted(operations - set(ANSWERS))}"
    assert not {op for op in ANSWERS if not any(200 <= s < 300 for s in ANSWERS[op])}, ANSWERS


FUZZ_TEST = "test_fuzzed_requests_get_documented_answers"


@SCHEMA.parametrize()
@settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_fuzzed_requests_get_documented_answers(
    case: schemathesis.Case, api: Api, fuzz_targets: dict[str, list[str]], fuzz_coverage: None
) -> None:
    if case.meta is not None and case.meta.generation.mode is GenerationMode.POSITIVE:
        aim_at_live_records(case, fuzz_targets[case.operation.path.split("/")[2]])
    response = case.call_and_validate(base_url=api.url, headers={"Authorization": f"Bearer {TOKEN}"}, checks=CHECKS)
    ANSWERS.setdefault(f"{case.operation.method.upper()} {case.operation.path}", set()).add(response.status_code)
