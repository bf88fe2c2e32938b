"""The error policy table: what is tolerated, retried or fatal (a pure function a target can reuse)."""

from __future__ import annotations

import pytest
from tap_invoiced.client import Action, classify


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (400, Action.FAIL),
        (401, Action.FAIL),
        (402, Action.FAIL),
        (403, Action.FAIL),
        (404, Action.FAIL),
        (408, Action.RETRY),
        (409, Action.FAIL),
        (429, Action.RETRY),
        (500, Action.RETRY),
        (502, Action.RETRY),
        (503, Action.RETRY),
    ],
)
def test_status_to_action(status: int, action: Action) -> None:
    verdict = classify(status)
    assert verdict is not None
    assert verdict.action is action
    assert verdict.reason


def test_success_is_no_error() -> None:
    assert classify(200) is None
    assert classify(204) is None


def test_a_missing_parent_is_tolerated_only_where_expected() -> None:
    tolerated = classify(404, missing_ok=True)
    assert tolerated is not None
    assert tolerated.action is Action.TOLERATE
    assert classify(500, missing_ok=True).action is Action.RETRY  # type: ignore[union-attr]
