"""The one exception every handler raises to answer with an Invoiced-style error body."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answered as `{type, message, param}` with the real API's status and wording."""

    def __init__(self, status: int, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param

    @property
    def error_type(self) -> str:
        if self.status == 429:
            return "rate_limit_error"
        return "api_error" if self.status >= 500 else "invalid_request"

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.error_type, "message": self.message}
        if self.param:
            body["param"] = self.param
        return body


def invalid(message: str, param: str | None = None) -> ApiError:
    return ApiError(400, message, param)


def not_found(model: str, object_id: object) -> ApiError:
    return ApiError(404, f"{model} was not found: {object_id}")
