"""Bad input answers 400 with a message and param and writes nothing; auth, routing and headers."""

from __future__ import annotations

import socket
from typing import Any

import invoiced
import pytest
import requests

from tests.conftest import SandboxStarter
from tests.sandbox_invoiced.conftest import API_KEY, Api, official_client, unique

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def counts(api: Api) -> Any:
    """Asserts, after the test, that no customer, invoice, item or event was written."""

    def snapshot() -> tuple[int, ...]:
        return tuple(api.total(path) for path in ("/customers", "/invoices", "/items", "/events"))

    before = snapshot()
    yield
    assert snapshot() == before


@pytest.mark.usefixtures("counts")
@pytest.mark.parametrize(
    ("path", "body", "param", "message_start"),
    [
        ("/customers", b"{not json", "request", "The request body is not valid JSON"),
        ("/customers", b"[1, 2]", "request", "The request body must be a JSON object."),
        ("/customers", {"name": ["a"]}, "name", "Invalid value for `name`"),
        ("/customers", {"name": "x", "autopay": "maybe"}, "autopay", "Invalid value for `autopay`"),
        ("/customers", {"name": "x", "credit_limit": "lots"}, "credit_limit", "Invalid value for `credit_limit`"),
        ("/customers", {"name": "x", "type": "alien"}, "type", "`type` must be one of"),
        ("/customers", {"name": "x" * 256}, "name", "`name` must be between 1 and 255"),
        ("/customers", {"name": "x", "country": "Norway"}, "country", "Invalid value for `country`"),
        ("/customers", {"name": "x", "metadata": "flat"}, "metadata", "Metadata must be an object"),
        (
            "/customers",
            {"name": "x", "metadata": {f"k{i}": "v" for i in range(11)}},
            "metadata",
            "There can only be up to 10 metadata values. 11 values were provided.",
        ),
        (
            "/customers",
            {"name": "x", "metadata": {"k" * 41: "v"}},
            "metadata",
            f"The `{'k' * 41}` metadata key exceeds the 40 character limit.",
        ),
        (
            "/customers",
            {"name": "x", "metadata": {"k": "v" * 256}},
            "metadata",
            "The provided value for metadata.k exceeds the 255 character limit.",
        ),
        ("/items", {"name": "x", "unit_cost": "NaN"}, "unit_cost", "Invalid value for `unit_cost`"),
        # Numbers are kept trimmed, so a blank one would be stored as "".
        ("/customers", {"name": "x", "number": "   "}, "number", "`number` must be between 1 and 32"),
        ("/invoices", {"customer": 1, "number": " \t "}, "number", "`number` must be between 1 and 32"),
        ("/invoices", {"customer": "abc"}, "customer", "No such customer: abc"),
    ],
)
def test_bad_bodies(api: Api, path: str, body: Any, param: str, message_start: str) -> None:
    kwargs = {"data": body, "headers": JSON} if isinstance(body, bytes) else {"json": body}
    response = api.post(path, **kwargs)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["type"] == "invalid_request"
    assert error["param"] == param
    assert error["message"].startswith(message_start)


@pytest.mark.usefixtures("counts")
@pytest.mark.parametrize(
    ("path", "body", "param", "message_start"),
    [
        # Once answered by a thread spinning for minutes (int() of the number while encoding it).
        ("/customers", b'{"name": "x", "credit_limit": 1e999999999}', "request", "The number 1e999999999 in the"),
        ("/customers", {"name": "x", "credit_limit": "1e999999999"}, "credit_limit", "`credit_limit` is out of range"),
        ("/customers", b'{"name": "x", "metadata": {"a": 1e999999}}', "request", "The number 1e999999 in the"),
        ("/items", {"name": "x", "unit_cost": "1e15"}, "unit_cost", "`unit_cost` is out of range: 1e15."),
        # Once 500s: integers SQLite cannot hold.
        ("/invoices", {"customer": 2**63}, "customer", f"No such customer: {2**63}"),
        ("/customers", {"name": "x", "owner": 2**64}, "owner", f"`owner` is out of range: {2**64}."),
        # Once 500s: recursion while parsing or unflattening.
        ("/customers", b'{"name": "x", "metadata": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "request",
         "The request body is nested more than 64 levels deep."),
        ("/customers", b'{"name": "x", "ship_to": ' + b'{"a": ' * 70 + b"1" + b"}" * 70 + b"}", "request",
         "The request body is nested more than 64 levels deep."),
        ("/customers", "name=x&metadata" + "[a]" * 5000 + "=1", "request",
         "The parameter metadata is nested more than 64 levels deep."),
    ],
)
def test_out_of_range_and_deeply_nested_input(api: Api, path: str, body: Any, param: str, message_start: str) -> None:
    if isinstance(body, bytes):
        response = api.post(path, data=body, headers=JSON)
    elif isinstance(body, str):
        response = api.post(path, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    else:
        response = api.post(path, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["param"] == param
    assert response.json()["message"].startswith(message_start)


def test_out_of_range_dates_and_deep_queries(api: Api, customer: Any, counts: None) -> None:
    date = api.post("/invoices", json={"customer": customer.id, "date": 2**63})
    assert (date.status_code, date.json()["param"]) == (400, "date")
    deep = api.get("/customers?metadata" + "[a]" * 5000 + "=1")
    assert (deep.status_code, deep.json()["param"]) == (400, "request")
    # Under another sort than the primary key, the backend serves any offset, even one past SQLite's OFFSET.
    far = api.get("/customers", params={"page": 10**17, "sort": "name asc"})
    assert (far.status_code, far.json()) == (200, [])


def test_a_bad_line_writes_nothing_at_all(api: Api, customer: Any, counts: None) -> None:
    good = {"name": "ok", "unit_cost": 1}
    for bad_line in ({"name": "no price"}, {"name": "x", "unit_cost": 1, "quantity": "two"}, "not an object"):
        response = api.post("/invoices", json={"customer": customer.id, "items": [good, bad_line]})
        assert response.status_code == 400, bad_line
        assert response.json()["param"] == "items"


def test_a_failed_patch_changes_nothing(api: Api, customer: Any) -> None:
    invoice = api.post("/invoices", json={"customer": customer.id, "items": [{"name": "a", "unit_cost": 2}]}).json()
    response = api.patch(
        f"/invoices/{invoice['id']}", json={"notes": "changed", "items": [{"name": "b", "unit_cost": "x"}]}
    )
    assert response.status_code == 400
    assert api.get(f"/invoices/{invoice['id']}").json() == invoice


@pytest.mark.usefixtures("counts")
@pytest.mark.parametrize(
    ("path", "param", "message"),
    [
        ("/customers?filter[shoe_size]=44", "shoe_size", "Invalid filter parameter: shoe_size"),
        ("/customers?filter[name][]=a", "name", "Invalid value for `name` filter parameter"),
        ("/customers?filter[active]=perhaps", "active", "Invalid value for `active` filter parameter"),
        ("/customers?metadata[bad key!]=1", "metadata", "Invalid filter parameter: bad key!"),
        ("/customers?page=two", "page", "Invalid value for `page`: expected a whole number, got 'two'."),
        ("/customers?per_page=1.5", "per_page", "Invalid value for `per_page`: expected a whole number, got '1.5'."),
        ("/customers?updated_after=yesterday", "updated_after", "Invalid value for `updated_after`"),
        ("/items?archived=sometimes", "archived", "Invalid value for `archived`"),
        ("/events?related_to=customer", "related_to", "Invalid value for `related_to`"),
        ("/customers/abc", "id", "Invalid customer ID: abc. Customer IDs are positive integers."),
        ("/invoices/1.5", "id", "Invalid invoice ID: 1.5. Invoice IDs are positive integers."),
    ],
)
def test_bad_queries_and_ids(api: Api, path: str, param: str, message: str) -> None:
    response = api.get(path)
    assert response.status_code == 400, response.text
    assert response.json()["param"] == param
    assert response.json()["message"].startswith(message)


def test_not_found_unknown_route_and_wrong_verb(api: Api) -> None:
    assert api.get("/customers/987654").json() == {
        "type": "invalid_request",
        "message": "Customer was not found: 987654",
    }
    unknown = api.get("/subscriptions/1")
    assert (unknown.status_code, unknown.json()["message"]) == (404, "Request was not recognized: GET /subscriptions/1")
    wrong = api.request("PUT", "/customers")
    assert (wrong.status_code, wrong.json()["message"]) == (405, "Method not allowed: PUT /customers")


def test_authentication_errors(sandbox: Any) -> None:
    missing = requests.get(sandbox.url + "/customers", timeout=10)
    assert missing.status_code == 401
    assert missing.json() == {
        "type": "invalid_request",
        "message": "Missing API key! HINT: You can pass in your API key as the username parameter "
        "using HTTP Basic Auth.",
    }
    with pytest.raises(invoiced.errors.AuthenticationError) as caught:
        official_client(sandbox.url, "sk_wrong_0123456789").Customer.list()
    assert caught.value.error["message"] == "We could not authenticate you with the API Key: sk_*************789"
    # The key may also come as the password, with a username in front.
    assert requests.get(sandbox.url + "/customers", auth=("company", API_KEY), timeout=10).status_code == 200


def test_headers_on_every_answer(api: Api, sandbox: Any) -> None:
    answers = [
        api.get("/customers"),
        api.post("/customers", json={"name": unique("Headers")}),
        api.get("/customers/0"),
        requests.get(sandbox.url + "/customers", timeout=10),
    ]
    for response in answers:
        assert response.headers["Content-Type"] == "application/json"
        assert response.headers["Cache-Control"] == "no-cache, no-store"
        assert response.headers["WWW-Authenticate"] == 'Basic realm="Invoiced"'
    deleted = api.delete(f"/customers/{answers[1].json()['id']}")
    assert (deleted.status_code, deleted.content) == (204, b"")


def test_a_malformed_content_length_gets_a_json_400(start_sandbox: SandboxStarter) -> None:
    # requests cannot send a broken header, so this speaks HTTP by hand.
    with start_sandbox("invoiced", "--api-key", "cl-test-key") as sandbox:
        host, port = sandbox.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as conn:
            conn.sendall(b"POST /customers HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n{}")
            # The server closes the connection after answering: the body's end was unknown.
            answer = b"".join(iter(lambda: conn.recv(65536), b"")).decode()
    assert answer.startswith("HTTP/1.1 400")
    assert '"message":"the Content-Length header is not a number"' in answer
