"""Invoiced takes the API key as the Basic-auth username with a blank password."""

from __future__ import annotations

from requests.auth import HTTPBasicAuth


def invoiced_auth(api_key: str) -> HTTPBasicAuth:
    return HTTPBasicAuth(api_key, "")
