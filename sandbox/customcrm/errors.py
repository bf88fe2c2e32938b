"""Every refusal of the Customcrm contract as data: status, code and meaning, declared once.

The service renders its errors from this table, the OpenAPI generator documents them from it, and a test
checks that the error table in docs/customcrm-contract.md is `markdown_table()` of it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str  # stable and machine-readable: clients branch on it, never on the message
    when: str  # what the client did, for the contract document
    retry: str  # what the client should do next
    # The OpenAPI response documenting this status (`{ref}` in its description stands for status and code);
    # None when the document leaves the refusal out or another refusal's response already covers its status.
    response: str | None = None
    description: str = ""


REFUSALS: tuple[Refusal, ...] = (
    Refusal(
        400, "invalid_json", "the body is not a JSON object (malformed, not UTF-8, too deep, over 1 MB)",
        "no, fix the body", "BadRequest", "The body is not a JSON object ({ref}).",
    ),
    Refusal(
        401, "unauthorized", "missing or wrong token", "no",
        "Unauthorized", "Missing or wrong bearer token ({ref}).",
    ),
    Refusal(404, "not_found", "no such record or path", "no", "NotFound", "No record with this id ({ref})."),
    Refusal(405, "method_not_allowed", "method not offered on this path (`Allow` lists them)", "no"),
    Refusal(
        409, "conflict", "a unique value is taken (`fields` names it and the holder)", "no, link to the holder",
        "Conflict", "A unique field is already used by another record ({ref}; `fields` names it).",
    ),
    Refusal(
        410, "deleted", "PATCH of a deleted record", "no",
        "Gone", "The record is deleted and cannot be changed ({ref}).",
    ),
    Refusal(
        412, "version_mismatch", "If-Match is stale (`current_version`)", "re-read, re-apply",
        "PreconditionFailed", "If-Match does not match the current version ({ref}).",
    ),
    Refusal(
        422, "validation_failed", "the request breaks the contract (`fields`)", "no, fix the request",
        "ValidationFailed", "The request breaks the contract ({ref}; `fields` says why per field).",
    ),
    Refusal(
        422, "idempotency_key_reused", "the key came with another body (`fields` names `Idempotency-Key`)",
        "no, new key",
    ),
    Refusal(
        429, "rate_limited", "too many requests; `Retry-After` gives seconds", "yes, after the wait",
        "RateLimited", "Too many requests ({ref}); retry after Retry-After seconds.",
    ),
    Refusal(
        500, "internal_error", "unexpected failure", "yes, with backoff; creates with the same Idempotency-Key",
        "ServerError", "Unexpected failure ({ref}); safe to retry.",
    ),
)

BY_CODE: dict[str, Refusal] = {r.code: r for r in REFUSALS}


def openapi_description(refusal: Refusal) -> str:
    return refusal.description.format(ref=f"{refusal.status}, `{refusal.code}`")


def markdown_table() -> str:
    rows = [f"| {r.status} | `{r.code}` | {r.when} | {r.retry} |" for r in REFUSALS]
    return "\n".join(["| status | code | when | retry? |", "|---|---|---|---|", *rows]) + "\n"
