"""Customcrm takes a bearer token."""

from __future__ import annotations

import requests
from requests.auth import AuthBase


class BearerToken(AuthBase):
    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request
