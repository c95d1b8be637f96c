"""How one HTTP call to an OpenAI-compatible server is made: deadline, retries, errors.

Three rules, in one place so that every request path (chat, completions, the template,
streams, ``/models``) follows them:

- **A deadline, not a read timeout.** ``timeout_s`` bounds the whole call: a server that
  trickles one byte every few seconds, or hangs, is given up on at ``timeout_s``, and the
  message says what was waited for and how long. (httpx's timeouts are per read; they stay
  as a backstop.) A timed-out call is not retried: that would double the wait.
- **One retry layer.** Transient failures (connection errors, HTTP 408/409/429/5xx) are
  retried ``max_retries`` times with exponential backoff (0.5 s, 1 s, 2 s ..., at most 4 s,
  or the server's ``Retry-After`` when it says less than 8 s). The ``openai`` client's own
  retries are off, and nothing above the backend retries, so attempts never multiply.
- **One clear error.** Whatever comes back that is not an OpenAI reply (an HTML page, a body
  that is not JSON, ``null`` choices) is a `BackendError` naming the URL and the request,
  never an ``AttributeError`` from deep inside a node.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import openai

from spec_graph._deadline import within
from spec_graph.backends.openai.wire import root_cause, short
from spec_graph.config import EndpointConfig
from spec_graph.errors import BackendError, ServerUnavailableError

__all__ = ["CallPolicy"]

T = TypeVar("T")

_TRANSIENT_STATUS = frozenset({408, 409, 429})
_MAX_BACKOFF_S = 4.0
_MAX_RETRY_AFTER_S = 8.0


@dataclass(frozen=True)
class CallPolicy:
    """The deadline, retries and error wording for calls to one endpoint."""

    endpoint: EndpointConfig
    model: str

    async def send(self, what: str, make: Callable[[], Awaitable[T]]) -> T:
        """``await make()`` within the deadline, retrying transient failures; errors converted.

        ``make`` is called once per attempt (a coroutine cannot be awaited twice).
        """
        retries = self.endpoint.max_retries
        for attempt in range(retries + 1):
            try:
                with self.converted(what):
                    return await self._within_deadline(what, make())
            except _Transient as transient:
                if attempt == retries:
                    raise transient.error from transient.error.__cause__
                await asyncio.sleep(transient.backoff(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    async def iterate(
        self, what: str, stream: AsyncIterator[T], *, started: float
    ) -> AsyncIterator[T]:
        """The items of ``stream``, all within the deadline counted from ``started``."""
        deadline = started + self.endpoint.timeout_s
        iterator = stream.__aiter__()
        while True:
            try:
                with self.converted(what):
                    item = await self._within_deadline(
                        what, iterator.__anext__(), left=deadline - time.monotonic()
                    )
            except StopAsyncIteration:
                return
            except _Transient as transient:  # mid-stream: the answer so far is lost
                raise transient.error from transient.error.__cause__
            yield item

    async def _within_deadline(
        self, what: str, pending: Awaitable[T], *, left: float | None = None
    ) -> T:
        limit = self.endpoint.timeout_s
        try:
            return await within(pending, limit if left is None else left)
        except asyncio.TimeoutError:
            msg = (
                f"timed out: no complete answer within the {limit:g} s deadline (timeout_s): "
                f"{what} at {self.endpoint.base_url} (model {self.model!r})"
            )
            raise ServerUnavailableError(msg) from None

    def checked_reply(self, what: str, response: Any) -> Any:
        """``response`` if it looks like an OpenAI completion, else a clear `BackendError`."""
        if isinstance(response, (str, bytes)) or getattr(response, "choices", None) is None:
            shown = short(response if isinstance(response, str) else repr(response))
            msg = (
                f"{what} at {self.endpoint.base_url} did not return an OpenAI-compatible "
                f"reply (is this an OpenAI-compatible server?): {shown}"
            )
            raise BackendError(msg)
        return response

    @contextmanager
    def converted(self, what: str) -> Iterator[None]:
        """The SDK's errors inside the block as spec-graph errors naming ``what`` and the URL.

        Transient ones come out as `_Transient` (for `send` to retry), the rest as they are.
        """
        url = self.endpoint.base_url
        try:
            yield
        except openai.APITimeoutError as e:  # httpx's per-read timeout, the backstop
            msg = f"timed out after {self.endpoint.timeout_s:g}s: {what} at {url}"
            raise ServerUnavailableError(msg) from e
        except openai.APIConnectionError as e:
            msg = f"cannot reach the server at {url} ({what}): {root_cause(e)}"
            raise _Transient(ServerUnavailableError(msg), None) from e
        except openai.APIStatusError as e:
            detail = short(e.response.text if e.response is not None else str(e))
            msg = (
                f"{what} at {url} failed with HTTP {e.status_code} (model {self.model!r}): {detail}"
            )
            error = BackendError(msg)
            error.__cause__ = e
            if e.status_code in _TRANSIENT_STATUS or e.status_code >= 500:
                raise _Transient(error, _retry_after(e)) from e
            raise error from e
        except ValueError as e:  # the SDK decoding a body that is not JSON
            msg = (
                f"{what} at {url} returned a body that is not JSON (is this an "
                f"OpenAI-compatible server?): {short(str(e))}"
            )
            raise BackendError(msg) from e


class _Transient(Exception):
    """A failure worth retrying: the error to raise when the retries run out, and a wait."""

    def __init__(self, error: Exception, retry_after: float | None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after
        if error.__cause__ is None:
            error.__cause__ = self.__cause__

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before attempt ``attempt + 1``."""
        if self.retry_after is not None:
            return self.retry_after
        return float(min(_MAX_BACKOFF_S, 0.5 * 2**attempt))


def _retry_after(error: openai.APIStatusError) -> float | None:
    value = error.response.headers.get("retry-after") if error.response is not None else None
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and 0 <= seconds <= _MAX_RETRY_AFTER_S else None
