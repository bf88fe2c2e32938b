"""The targets' HTTP client: one retry layer, a bounded number of requests in flight, and errors a user can act on.

The rules come from the system's own module in `sync_core.http` (the same the system's tap reads with): which
statuses are retried and which fail, how an answer or a missing answer is worded, how long to wait between tries.
Retries are the `backoff` library's, driven by `retry_waits`; nothing else here retries.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import backoff
import requests

from sync_core.crashpoints import CrashPoints, send_headers_only
from sync_core.http.policy import Action, HTTPRules, Verdict, describe_retry, refuses_retry, retry_waits
from sync_core.http.session import new_session
from sync_core.http.settings import plugin_version

# A 429 is waited out this long at most; after that the record is set aside like any other transient failure.
RATE_LIMIT_PATIENCE_SECONDS = 900

class RequestFailed(Exception):
    """A request that did not succeed, with what the system answered (never a secret)."""

    def __init__(self, message: str, *, status: int | None, answer: Any, transient: bool,
                 after_lost_answer: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.answer = answer
        self.transient = transient  # another try later may succeed (5xx, 429, no answer, after all retries)
        # An earlier try of this request got no answer: a system that keeps a key's first answer may have answered
        # this one from what that try sent, so the answer need not be about this request's body.
        self.after_lost_answer = after_lost_answer


class Stale(Exception):
    """The system refused a write because its record changed since it was read (a 412 to If-Match)."""


class RunStopped(Exception):
    """Credentials or account refused: no record can succeed, so the run stops with the setting to fix."""


class _Retry(Exception):
    def __init__(self, message: str, response: requests.Response | None) -> None:
        super().__init__(message)
        self.response = response


class InFlight:
    """At most `limit` requests at once. A 429 halves the pace; each run of successes wins one slot back."""

    def __init__(self, limit: int) -> None:
        self.ceiling = self.limit = limit
        self._busy = 0
        self._calm = 0
        self._lock = threading.Condition()
        self.rate_limited = 0

    def __enter__(self) -> InFlight:
        with self._lock:
            while self._busy >= self.limit:
                self._lock.wait()
            self._busy += 1
        return self

    def __exit__(self, *_exc: object) -> None:
        with self._lock:
            self._busy -= 1
            self._lock.notify()

    def slow_down(self) -> None:
        with self._lock:
            self.rate_limited += 1
            self.limit = max(1, self.limit // 2)
            self._calm = 0

    def calm(self) -> None:
        with self._lock:
            self._calm += 1
            if self.limit < self.ceiling and self._calm >= 4 * self.limit:
                self.limit += 1
                self._calm = 0
                self._lock.notify()


class ApiClient:
    def __init__(
        self,
        rules: HTTPRules,
        base_url: str,
        auth: requests.auth.AuthBase,
        *,
        max_in_flight: int,
        timeout: float,
        max_retries: int,
        retry_wait_seconds: float,
        user_agent: str,
        logger: logging.Logger,
        ca_bundle: str | None = None,
        crashes: CrashPoints | None = None,
    ) -> None:
        self.rules = rules
        self.crashes = crashes or CrashPoints()
        self.base_url = base_url.rstrip("/")
        try:
            self.session = new_session(self.base_url, ca_bundle=ca_bundle)
        except FileNotFoundError as missing:
            raise RunStopped(str(missing)) from None
        self.session.auth = auth
        self.session.headers.update({"Accept": "application/json", "User-Agent": user_agent})
        # One pool, to one host. Requests go to it directly (`_send_once`): the session's per-request merging of
        # settings and cookies, its hooks and its redirects cost a sixth of a target's CPU and serve nothing here.
        self.adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=max(max_in_flight, 1) + 4)
        self.session.mount("http://", self.adapter)
        self.session.mount("https://", self.adapter)
        self.in_flight = InFlight(max_in_flight)
        self.timeout = timeout
        self.max_retries = max_retries
        self.retry_wait_seconds = retry_wait_seconds
        self.logger = logger
        self.requests_sent = 0
        self.writes_sent = 0
        self._count_lock = threading.Lock()

    @classmethod
    def for_plugin(cls, rules: HTTPRules, base_url: str, auth: requests.auth.AuthBase, config: Mapping[str, Any], *,
                   plugin: str, logger: logging.Logger, crashes: CrashPoints | None = None) -> ApiClient:
        """A client with the plugin's HTTP settings (sync_core.http.settings; their defaults are the schema's)."""
        return cls(
            rules, base_url, auth,
            max_in_flight=int(config["max_in_flight"]),
            timeout=float(config["request_timeout"]),
            max_retries=int(config["max_retries"]),
            retry_wait_seconds=float(config["retry_wait_seconds"]),
            user_agent=config.get("user_agent") or f"{plugin}/{plugin_version(plugin)}",
            logger=logger,
            ca_bundle=config.get("ca_bundle"),
            crashes=crashes,
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        tolerated: Mapping[int, Verdict] | None = None,
    ) -> requests.Response:
        """Send one request, retrying what the policy calls retriable; raise RequestFailed or RunStopped."""
        request = requests.PreparedRequest()
        request.prepare(method=method, url=self.base_url + path, params=params, json=json,
                        headers={**self.session.headers, **(headers or {})}, auth=self.session.auth)
        failures = limited = 0
        lost = False

        def give_up(failure: BaseException) -> bool:
            nonlocal failures, limited, lost
            lost = lost or not isinstance(failure, _Retry)
            if _rate_limited(failure):
                limited += 1
                return False  # waited out (the pace drops meanwhile), never counted against max_retries
            if refuses_retry(failure):
                return True
            failures += 1
            return failures > self.max_retries

        send = backoff.on_exception(
            lambda: retry_waits(self.retry_wait_seconds),
            (_Retry, requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError),
            max_tries=None,
            max_time=RATE_LIMIT_PATIENCE_SECONDS,
            giveup=give_up,
            jitter=None,
            on_backoff=lambda details: self._log_retry(details, failures),
        )(self._send_once)
        try:
            return send(request, tolerated)
        except RequestFailed as failure:
            failure.after_lost_answer = lost
            raise
        except _Retry as failure:
            answer = _answer(failure.response)
            status = failure.response.status_code if failure.response is not None else None
            raise RequestFailed(f"{failure} ({_gave_up(failures, limited)})", status=status,
                                answer=answer, transient=True) from None
        except requests.RequestException as failure:
            if refuses_retry(failure):  # the same for every record: stop before any write
                raise RunStopped(self.rules.describe_failure(request, failure)) from None
            message = f"{self.rules.describe_failure(request, failure)} ({_gave_up(failures, limited)})"
            raise RequestFailed(message, status=None, answer=None, transient=True) from None

    def _send_once(
        self, request: requests.PreparedRequest, tolerated: Mapping[int, Verdict] | None
    ) -> requests.Response:
        if request.method == "POST" and "Idempotency-Key" in request.headers:
            self.crashes.reach("create-headers-sent", lambda: send_headers_only(request, self.timeout))
        with self.in_flight:
            with self._count_lock:
                self.requests_sent += 1
                if request.method not in ("GET", "HEAD"):
                    self.writes_sent += 1
            response = self.adapter.send(request, timeout=self.timeout, verify=self.session.verify,
                                         proxies=self.session.proxies)
            response.content  # noqa: B018 -- read whole now, so the connection goes back to the pool
        if response.is_redirect:
            # Not followed: a redirected write would lose its body, and an API root that redirects is a setting.
            where = response.headers.get("Location", "?")
            msg = (f"{request.method} {urlsplit(request.url or '').path} -> {response.status_code}, a redirect to "
                   f"{where}: set api_url to the address the API answers at")
            raise RunStopped(msg)
        verdict = self.rules.policy.classify(response.status_code, tolerated=tolerated)
        if verdict is None or verdict.action is Action.TOLERATE:
            self.in_flight.calm()
            return response
        message = self.rules.describe_error(response, verdict)
        if response.status_code == 429:
            self.in_flight.slow_down()
        if verdict.action is Action.RETRY:
            raise _Retry(message, response)
        if verdict.action is Action.STOP:
            raise RunStopped(message)
        raise RequestFailed(message, status=response.status_code, answer=_answer(response), transient=False)

    def _log_retry(self, details: Any, failures: int) -> None:
        failure = details.get("exception")
        if _rate_limited(failure):
            self.logger.info("%s; waiting %.2f s at a lower pace (rate limits do not count against max_retries)",
                             failure, details["wait"])
            return
        if not isinstance(failure, _Retry):
            failure = self.rules.describe_failure(details["args"][0], failure)
        self.logger.warning("%s", describe_retry(str(failure), failures, self.max_retries, details["wait"]))

    def close(self) -> None:
        self.session.close()


def _gave_up(failures: int, limited: int) -> str:
    text = f"gave up after {max(failures - 1, 0)} retries"
    if limited:
        text += f" and {limited} rate-limited waits (up to {RATE_LIMIT_PATIENCE_SECONDS} s in all)"
    return text


def _rate_limited(failure: BaseException | None) -> bool:
    response = getattr(failure, "response", None)
    return isinstance(failure, _Retry) and response is not None and response.status_code == 429


def _answer(response: requests.Response | None) -> Any:
    """What the system said, for the rejects file: its JSON body, else the first 500 characters of text."""
    if response is None:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text[:500]
