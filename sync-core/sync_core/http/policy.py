"""How an HTTP answer is judged and worded, the same for every system: verdicts, waits between tries, messages.

What differs per system (its status table, the shape of its error body, the settings its hints name) is data in
`customcrm.py` and `invoiced.py`; a tap applies it through `stream.HTTPRulesStream`, a target calls these
functions from its own requests. The functions are pure, apart from the random draw in `retry_waits`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from enum import Enum
from urllib.parse import urlsplit

import requests

MAX_RETRY_WAIT_SECONDS = 60.0


class Action(Enum):
    TOLERATE = "tolerate"  # go on as if the answer were empty (an expected 404, say)
    RETRY = "retry"
    FAIL = "fail"  # this request fails; the run goes on with the next record
    STOP = "stop"  # no retry and no other record can change it (credentials, account): the run stops


@dataclass(frozen=True)
class Verdict:
    """What to do about one error status, and why (the reason ends up in the error message)."""

    action: Action
    reason: str

    @property
    def retriable(self) -> bool:
        return self.action is Action.RETRY


@dataclass(frozen=True)
class ErrorPolicy:
    """One system's verdicts: the statuses it documents, then any other 5xx, then any other 4xx."""

    table: Mapping[int, Verdict]
    server_error: Verdict
    other_client_error: Verdict

    def classify(self, status: int, *, tolerated: Mapping[int, Verdict] | None = None) -> Verdict | None:
        """None for success; else the verdict, where `tolerated` (statuses expected at this call) goes first."""
        if status < 400:
            return None
        if tolerated and status in tolerated:
            return tolerated[status]
        if status in self.table:
            return self.table[status]
        return self.server_error if status >= 500 else self.other_client_error


# A hint per kind of failure that got no answer, the most specific kind first (a connect timeout is both a
# timeout and a connection error). Each system puts its own first, naming its settings; these end every list.
FailureHints = tuple[tuple[type[BaseException], str], ...]
# A certificate the client does not trust: no retry can change it (see `refuses_retry`), and it is not a reachability
# problem, although requests files it under ConnectionError. Each system puts it before its ConnectionError hint.
TLS_HINTS: FailureHints = (
    (requests.exceptions.SSLError, "the server's TLS certificate is not trusted (or not valid for this host): if "
     "your own certificate authority signed it, set ca_bundle to that authority's PEM file"),
)
BROKEN_ANSWER_HINTS: FailureHints = (
    (requests.exceptions.ChunkedEncodingError, "the connection broke mid-answer, usually transient: run again"),
    (requests.exceptions.ContentDecodingError, "the answer arrived garbled, usually transient: run again"),
    (ConnectionResetError, "the connection broke mid-answer, usually transient: run again"),
)


@dataclass(frozen=True)
class HTTPRules:
    """One system's rules as a whole, for `stream.HTTPRulesStream` (and any other caller that takes them in one)."""

    policy: ErrorPolicy
    describe_error: Callable[[requests.Response, Verdict], str]
    describe_failure: Callable[[requests.PreparedRequest, BaseException], str]


def describe_failure(request: requests.PreparedRequest, failure: BaseException, hints: FailureHints) -> str:
    """`GET /customers: ConnectionError (Connection refused) -- <what to check>`, for a request that got
    no answer. Replaces urllib3's text (`HTTPConnectionPool(...): Max retries exceeded with url: ...`), which
    names neither the setting to check nor, in plain words, what went wrong."""
    hint = next((hint for kind, hint in hints if isinstance(failure, kind)), "the request failed")
    path = urlsplit(request.url or "").path  # never the query: a look-up's holds an e-mail or an org number
    return f"{request.method} {path}: {type(failure).__name__} ({_root_cause(failure)}) -- {hint}"


def refuses_retry(failure: BaseException | None) -> bool:
    """A failure with no answer that no retry can change: the certificate check failed."""
    return isinstance(failure, requests.exceptions.SSLError)


def describe_retry(failure: str, retry: int, max_retries: int, wait_seconds: float) -> str:
    """`<failure>; retry 2 of 5 in 0.73 s`: one wording, so the count reads the same in every plugin's log."""
    return f"{failure}; retry {retry} of {max_retries} in {wait_seconds:.2f} s"


def _root_cause(failure: BaseException) -> str:
    """The innermost reason (`Connection refused`, `timed out`) under the layers requests and urllib3 add."""
    while (inner := failure.__cause__ or failure.__context__) is not None:
        failure = inner
    return getattr(failure, "strerror", None) or str(failure) or type(failure).__name__


def retry_waits(base_seconds: float) -> Generator[float, BaseException | None, None]:
    """Exponential backoff with full jitter: try n waits a random time up to base * 2**n, capped at a minute.

    A Retry-After header (in seconds) on the failed answer is a floor. `backoff` sends each failure in.
    """
    failure = yield 0.0  # `backoff` primes the generator before the first failure
    ceiling = base_seconds
    while True:
        wait = random.uniform(0, min(ceiling, MAX_RETRY_WAIT_SECONDS))
        failure = yield max(wait, retry_after_seconds(failure))
        ceiling *= 2


def retry_after_seconds(failure: BaseException | None) -> float:
    """The Retry-After seconds of the answer a failure carries (capped at a minute), else 0.

    An HTTP date instead of seconds also gives 0: the backoff's own wait applies then.
    """
    response = getattr(failure, "response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return min(float(value), MAX_RETRY_WAIT_SECONDS) if value else 0.0
    except ValueError:
        return 0.0
