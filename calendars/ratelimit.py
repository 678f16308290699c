"""A per-client request rate limit for the feed server: 429 with Retry-After beyond it.

Each client address has a token bucket: `requests` requests at once, refilled at
`requests` per `per_seconds`. Calendar clients poll a feed every hour or so, and a
subscription page is opened now and then; a client that asks many times a minute is
broken or is guessing URLs. Every request counts, refused ones included (a 404 is what a
guesser gets).

Buckets live in memory, in one process, at most `max_clients` of them: the client seen
least recently is forgotten first, so memory stays bounded whatever addresses arrive (a
forgotten client starts again with a full bucket).

The client address is the connection's peer as the ASGI server reports it. Behind a
reverse proxy every request comes from the proxy, so all clients would share one bucket,
unless the server is told to trust the proxy's `X-Forwarded-For` (uvicorn does so for
proxies at the addresses in `FORWARDED_ALLOW_IPS`, by default 127.0.0.1 and ::1).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.responses import PlainTextResponse


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most `requests` requests per `per_seconds` from one client address (0: no limit)."""

    requests: int = 60
    per_seconds: float = 60.0
    max_clients: int = 10_000

    @property
    def enabled(self) -> bool:
        return self.requests > 0


NO_LIMIT = RateLimit(requests=0)


class ClientBuckets:
    """Token buckets per client address, bounded to `limit.max_clients` entries."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.clock = clock
        self._lock = threading.Lock()
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, client: str) -> float:
        """Count one request from `client`: 0 if it may go on, else the seconds to wait."""
        capacity = float(self.limit.requests)
        rate = capacity / self.limit.per_seconds
        now = self.clock()
        with self._lock:
            tokens, seen = self._buckets.pop(client, (capacity, now))
            tokens = min(capacity, tokens + (now - seen) * rate)
            if tokens >= 1.0:
                tokens -= 1.0
                wait = 0.0
            else:
                wait = (1.0 - tokens) / rate
            self._buckets[client] = (tokens, now)  # most recently seen last
            while len(self._buckets) > self.limit.max_clients:
                self._buckets.popitem(last=False)
        return wait


def refusal(buckets: ClientBuckets, scope: Any, headers: dict[str, str]) -> PlainTextResponse | None:
    """Count an HTTP request against its client's bucket: None if it may go on, else the 429
    to answer it with (`headers` added)."""
    if not buckets.limit.enabled:
        return None
    client = scope.get("client")
    wait = buckets.take(str(client[0]) if client else "unknown")
    if wait <= 0:
        return None
    retry_after = str(max(1, math.ceil(wait)))
    return PlainTextResponse(
        "Too Many Requests\n", status_code=429, headers={**headers, "Retry-After": retry_after}
    )
