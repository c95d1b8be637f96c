"""Who may call and how many at once: the bearer key and the concurrency gate.

`Gate` refuses rather than queues: past ``max_concurrency`` runs a request is answered 429
with ``Retry-After`` at once, so a load balancer or the client's own backoff sends it
elsewhere or later (`spec_graph.slots.Slots` queues, which suits a library call, not a
server that should shed load). The key is compared in constant time and never logged.
"""

from __future__ import annotations

import hmac

from pydantic import SecretStr

from spec_graph.serve.errors import ApiError

__all__ = ["Gate", "Ticket", "check_api_key"]


class Ticket:
    """One admitted run; `release` it once (twice is harmless)."""

    def __init__(self, gate: Gate) -> None:
        self._gate: Gate | None = gate

    def release(self) -> None:
        """Give the slot back."""
        if self._gate is not None:
            self._gate.active -= 1
            self._gate = None


class Gate:
    """At most ``limit`` runs at once in this server's event loop; the rest get 429."""

    def __init__(self, limit: int, retry_after_s: int = 1) -> None:
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        self.limit = limit
        self.retry_after_s = retry_after_s
        self.active = 0

    def enter(self) -> Ticket:
        """A ticket, or `ApiError` 429 when ``limit`` runs are in flight."""
        if self.active >= self.limit:
            raise ApiError(
                429,
                f"spec-graph serve is running {self.limit} requests, its limit "
                f"(max_concurrency); retry after {self.retry_after_s} s",
                code="rate_limit_exceeded",
                headers={"Retry-After": str(self.retry_after_s)},
            )
        self.active += 1
        return Ticket(self)


def check_api_key(expected: SecretStr | None, authorization: str | None) -> None:
    """`ApiError` 401 unless ``authorization`` is ``Bearer <expected>`` (no key: anyone)."""
    if expected is None:
        return
    scheme, _, given = (authorization or "").partition(" ")
    ok = hmac.compare_digest(
        given.strip().encode("utf-8"), expected.get_secret_value().encode("utf-8")
    )
    if scheme.lower() != "bearer" or not ok:
        raise ApiError(
            401,
            "missing or incorrect API key: send Authorization: Bearer <key>",
            code="invalid_api_key",
        )
