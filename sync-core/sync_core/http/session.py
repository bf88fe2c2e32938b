"""The one `requests.Session` a plugin talks to one system through."""

from __future__ import annotations

import os

import requests


def new_session(base_url: str, *, ca_bundle: str | None = None) -> requests.Session:
    """A session for requests to `base_url`, with proxy and CA settings read from the environment once, here.

    Every request goes to one host, so there is no need for requests' `trust_env`, which scans os.environ several
    times per request. `ca_bundle` overrides REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE.
    """
    if ca_bundle and not os.path.isfile(ca_bundle):
        # requests would say so only at the first request, in words that name no setting.
        msg = f"ca_bundle {ca_bundle!r} is not a file: set ca_bundle to the path of a PEM file of certificate " \
              "authorities"
        raise FileNotFoundError(msg)
    session = requests.Session()
    session.trust_env = False
    session.proxies.update(requests.utils.get_environ_proxies(base_url))
    session.verify = ca_bundle or os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    return session
