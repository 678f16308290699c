"""The feed server's per-client rate limit: token buckets per address, bounded in memory,
429 with Retry-After through the real ASGI app (httpx), refused requests counted too."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from calendars.ratelimit import ClientBuckets, RateLimit
from calendars.server import create_app
from tests.calendars.test_server import Setup


class Clock:
    """Seconds that a test moves forward by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def get(app: Any, path: str, client: str = "192.0.2.1") -> httpx.Response:
    """One GET from `client` (an address) to the ASGI app over httpx."""

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=(client, 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            return await http.get(path)

    return asyncio.run(send())


class TestBuckets:
    def test_a_client_gets_its_burst_then_waits_for_the_refill(self) -> None:
        """60 a minute: 60 at once, the 61st waits one second, and one second later one more goes."""
        clock = Clock()
        buckets = ClientBuckets(RateLimit(requests=60, per_seconds=60), clock)
        assert [buckets.take("a") for _ in range(60)] == [0.0] * 60
        assert buckets.take("a") == pytest.approx(1.0)
        clock.now += 1.0
        assert buckets.take("a") == 0.0
        assert buckets.take("b") == 0.0  # another address has its own bucket

    def test_memory_is_bounded_by_forgetting_the_client_seen_least_recently(self) -> None:
        """With room for 3, a fourth address pushes out the one seen longest ago, which starts afresh."""
        clock = Clock()
        buckets = ClientBuckets(RateLimit(requests=1, per_seconds=3600, max_clients=3), clock)
        for client in ("a", "b", "c"):
            assert buckets.take(client) == 0.0
        assert buckets.take("b") > 0  # b is seen again: c and then a are older
        for n in range(1000):
            buckets.take(f"x{n}")
        assert len(buckets) == 3
        assert buckets.take("a") == 0.0  # forgotten, so a full bucket again

    def test_calendar_clients_polling_hourly_never_meet_the_default_limit(self) -> None:
        """An office behind one address with 40 subscriptions, each polled hourly for a week."""
        clock = Clock()
        buckets = ClientBuckets(RateLimit(), clock)
        waits = []
        for _hour in range(24 * 7):
            waits += [buckets.take("office") for _ in range(40)]
            clock.now += 3600
        assert set(waits) == {0.0}


class TestOverHttp:
    def test_over_the_limit_is_429_with_retry_after_and_the_security_headers(self, setup: Setup) -> None:
        """3 an hour: the fourth request is refused for 1200 s; another address still gets through."""
        clock = Clock()
        app = create_app(setup.cache, rate_limit=RateLimit(requests=3, per_seconds=3600), clock=clock)
        assert [get(app, setup.url()).status_code for _ in range(3)] == [200] * 3
        refused = get(app, setup.url())
        assert (refused.status_code, refused.text) == (429, "Too Many Requests\n")
        assert refused.headers["retry-after"] == "1200"
        assert refused.headers["x-content-type-options"] == "nosniff"
        assert refused.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert get(app, setup.url(), client="198.51.100.7").status_code == 200
        clock.now += 1200
        assert get(app, setup.url()).status_code == 200

    def test_refused_requests_count_so_guessing_tokens_is_throttled(self, setup: Setup) -> None:
        """404s use up the bucket like any request: a guesser is slowed to the limit."""
        app = create_app(setup.cache, rate_limit=RateLimit(requests=5, per_seconds=60), clock=Clock())
        guesses = [get(app, f"/feeds/{'A' * 31}{n}/all.ics").status_code for n in range(8)]
        assert guesses == [404] * 5 + [429] * 3
        assert get(app, setup.url()).status_code == 429  # the same address, even with a good token

    def test_a_limit_of_zero_turns_the_limit_off(self, setup: Setup) -> None:
        """`--rate-limit 0`: no request is ever refused for its rate."""
        app = create_app(setup.cache, rate_limit=RateLimit(requests=0), clock=Clock())
        assert {get(app, "/healthz").status_code for _ in range(100)} == {200}
