"""A system's HTTP rules applied to the SDK's RESTStream: the base of each tap's one base stream.

It reads the settings every plugin declares alike (`request_timeout`, `max_retries`, `retry_wait_seconds`) and
keeps the SDK's backoff as the only retry loop. The tap's own base stream adds the URL, auth and paging.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterator, Mapping
from datetime import datetime, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import requests
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.singerlib import RecordMessage
from singer_sdk.streams import RESTStream

from sync_core.http.policy import Action, HTTPRules, Verdict, describe_retry, refuses_retry, retry_waits
from sync_core.http.session import new_session
from sync_core.http.settings import plugin_version

if TYPE_CHECKING:
    from backoff.types import Details
    from singer_sdk.helpers.types import Context, RequestFunc

_TToken = TypeVar("_TToken")


class HTTPRulesStream(RESTStream[_TToken]):
    """A RESTStream whose answers are judged by `rules` and whose failures are worded by them."""

    rules: ClassVar[HTTPRules]

    @cached_property
    def requests_session(self) -> requests.Session:
        try:
            return new_session(self.url_base, ca_bundle=self.config.get("ca_bundle"))
        except FileNotFoundError as missing:
            raise FatalAPIError(str(missing)) from None

    @property
    def http_headers(self) -> dict[str, str]:
        return {"Accept": "application/json"}

    @cached_property
    def user_agent(self) -> str:
        """The setting, or the tap and its version (the SDK's own default names only the SDK)."""
        return self.config.get("user_agent") or f"{self.tap_name}/{plugin_version(self.tap_name)}"

    @property
    def timeout(self) -> float:  # type: ignore[override]  # the SDK types it int; requests takes float
        return float(self.config["request_timeout"])

    # Records out.

    def _generate_record_messages(self, record: dict[str, Any]) -> Iterator[RecordMessage]:
        # Private SDK hook, the one that builds a RECORD message; none public can skip its first step, a walk of
        # every property of every record, nested objects too, against the catalog's selection: a fifth of a tap's
        # CPU per record (bench_tap_customcrm). When the catalog deselects nothing (the sync's, and any catalog
        # that selects whole streams) and values are not conformed (both taps: their APIs send JSON types), that
        # walk pops nothing and the rest is the stream maps alone, so that is all this does. Any other catalog
        # takes the SDK's own path; tests/sync_core/test_record_messages.py holds the two paths to the same output.
        if self._deselects_a_property or self.TYPE_CONFORMANCE_LEVEL is not TypeConformanceLevel.NONE:
            yield from super()._generate_record_messages(record)
            return
        for stream_map in self.stream_maps:
            mapped = stream_map.transform(record)
            if mapped is not None:
                yield RecordMessage(stream=stream_map.stream_alias, record=mapped, version=self._stream_version,
                                    time_extracted=datetime.now(timezone.utc))

    @cached_property
    def _deselects_a_property(self) -> bool:
        return not all(self.mask.values())

    # Errors: one table decides, one function words the message.

    def tolerated(self) -> Mapping[int, Verdict] | None:
        """Statuses expected for the request in flight (e.g. a 404 below a deleted parent); none by default."""
        return None

    def validate_response(self, response: requests.Response) -> None:
        verdict = self.rules.policy.classify(response.status_code, tolerated=self.tolerated())
        if verdict is None or verdict.action is Action.TOLERATE:
            return
        message = self.rules.describe_error(response, verdict)
        if verdict.retriable:
            raise RetriableAPIError(message, response)
        raise FatalAPIError(message)

    def response_error_message(self, response: requests.Response) -> str:
        policy = self.rules.policy
        return self.rules.describe_error(response, policy.classify(response.status_code) or policy.other_client_error)

    # Retries: the SDK's one backoff layer, tuned by the settings.

    def backoff_max_tries(self) -> int:
        return int(self.config["max_retries"]) + 1

    def backoff_wait_generator(self) -> Generator[float, BaseException | None, None]:  # type: ignore[override]
        return retry_waits(float(self.config["retry_wait_seconds"]))

    def backoff_jitter(self, value: float) -> float:
        return value  # retry_waits already jitters

    def backoff_handler(self, details: Details) -> None:
        failure = details.get("exception")
        if not isinstance(failure, RetriableAPIError):  # no answer at all: say which request and why
            failure = self.rules.describe_failure(details["args"][0], failure) if failure else "the request failed"
        self.logger.warning(
            describe_retry(str(failure), details["tries"], self.backoff_max_tries() - 1, details["wait"])
        )

    def request_decorator(self, func: RequestFunc) -> RequestFunc:
        def once(prepared_request: requests.PreparedRequest, context: Context | None) -> requests.Response:
            # The SDK's backoff retries every ConnectionError; an untrusted certificate is one, but no retry helps.
            try:
                return func(prepared_request, context)
            except requests.RequestException as failure:
                if refuses_retry(failure):
                    raise FatalAPIError(self.rules.describe_failure(prepared_request, failure)) from failure
                raise

        retrying = super().request_decorator(once)

        def request(prepared_request: requests.PreparedRequest, context: Context | None) -> requests.Response:
            # The SDK's backoff re-raises the last failure as requests raised it; for a request that never got
            # an answer, that text is urllib3's. Give the user the request, the cause and the setting instead.
            try:
                return retrying(prepared_request, context)
            except (requests.RequestException, ConnectionResetError) as failure:
                raise FatalAPIError(self.rules.describe_failure(prepared_request, failure)) from failure

        return request


class OneLineFailures:
    """For a singer-sdk Tap class, listed before the SDK's base: run from its command line, a request that failed
    for good (a 401, a service out of reach, retries run out) ends the run with its one-line cause, which names the
    setting to check, and exit code 1, instead of a traceback through the SDK's internals. Any other error keeps
    its traceback (that one is a bug to report), and `sync_all()` called from Python still raises FatalAPIError."""

    logger: logging.Logger

    @classmethod
    def invoke(cls, *args: Any, **kwargs: Any) -> None:
        try:
            super().invoke(*args, **kwargs)  # type: ignore[misc]
        except FatalAPIError as failure:
            cls.logger.error("%s", failure)  # the cause is the message; the stack would be the SDK's
            raise SystemExit(1) from None
