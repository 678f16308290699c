"""Property tests of the feed server (hypothesis, httpx's ASGI transport against the real
app and a real SQLite store): whatever path, headers, query string and method a client
sends, the answer is never a 5xx, never a traceback, and always carries nosniff and the
restrictive Content-Security-Policy (but a 304, which has no content)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from calendars.ratelimit import NO_LIMIT
from calendars.server import create_app
from cycle.program import Program
from cycle.schedule import plan_cycle
from cycle.store.database import Store
from cycle.store.repository import apply_plan
from tests.calendars.feedserver import NOW, Setup

SUBSCRIBER = "{subscriber}"
"""Stands for the subscriber's real token in drawn paths, so that requests reach the handlers."""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, program: Program) -> Iterator[tuple[Any, str]]:
    """The app (no rate limit, so every request reaches a handler) and a subscriber's token."""
    path = tmp_path_factory.mktemp("feeds") / "roundtable.db"
    store = Store.from_url(f"sqlite:///{path}")
    store.migrate()
    store.transaction(lambda s: apply_plan(s, plan=plan_cycle(program, 9), now=NOW, actor="test"))
    setup = Setup(store, program)
    yield create_app(setup.cache, rate_limit=NO_LIMIT), setup.token
    store.dispose()


SEGMENTS = st.one_of(
    st.sampled_from(
        [
            "feeds", "subscribe", "healthz", SUBSCRIBER, SUBSCRIBER, "all.ics", "org-sedena.ics",
            "deliverables.ics",
            "org-semar.ics", "..", "%2e%2e", "%2E%2e%2F", "%00", "\\", "%5C", "%2F", "%ZZ", "%", ".ics",
            "", "~", "é", "%C3%A9", "%FF", "x" * 300,
        ]
    ),
    st.text(max_size=20),
)  # fmt: skip
PATHS = st.lists(SEGMENTS, min_size=1, max_size=5).map(lambda parts: "/" + "/".join(parts))
HEADER_NAMES = st.sampled_from(
    [
        "If-None-Match", "If-Modified-Since", "Accept-Encoding", "Host", "Range", "Cookie", "Accept",
        "X-Forwarded-For", "Forwarded", "Content-Type", "Authorization", "X-Anything",
    ]
)  # fmt: skip
HEADER_VALUES = st.one_of(
    st.sampled_from(
        [
            "*", '"abc"', 'W/"x", "y"', "gzip", "gzip;q=0, identity", "br", "Tue, 24 Nov 2026 15:00:00 GMT",
            "Mon, 99 Foo 0000 99:99:99 GMT", "0", "-1", "bytes=0-10", "a b", "[::1]", "evil.example:99999",
            "\x7f", "\xe9",
        ]
    ),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=60),
)  # fmt: skip
QUERY = st.lists(
    st.tuples(
        st.sampled_from(["lang", "owner", "form", "x", ""]),
        st.one_of(st.sampled_from(["en", "es", "fr", "tasks", "sedena", "ame", ""]), st.text(max_size=20)),
    ),
    max_size=4,
)
METHODS = st.sampled_from(["GET", "GET", "GET", "HEAD", "POST", "PUT", "OPTIONS", "DELETE"])


def send(
    app: Any, method: str, path: str, headers: list[tuple[str, str]], query: list[tuple[str, str]]
) -> Any:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.request(method, path, headers=headers, params=query)

    return asyncio.run(go())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=METHODS,
    path=PATHS,
    headers=st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=4),
    query=QUERY,
)
def test_any_request_gets_an_answer_below_500_with_the_security_headers(
    served: tuple[Any, str],
    method: str,
    path: str,
    headers: list[tuple[str, str]],
    query: list[tuple[str, str]],
) -> None:
    """Paths with dot segments, encodings and junk, odd validators, hosts and queries: 2xx,
    3xx or 4xx, never a 5xx or a traceback, and nothing logged at error level."""
    app, token = served
    logger = logging.getLogger("roundtable.feeds")
    errors: list[logging.LogRecord] = []
    handler = logging.Handler(level=logging.ERROR)
    handler.emit = errors.append  # type: ignore[method-assign]
    logger.addHandler(handler)
    try:
        response = send(app, method, path.replace(SUBSCRIBER, token), headers, query)
    except (httpx.InvalidURL, UnicodeEncodeError, ValueError):
        reject()  # the client library refuses to send it: no request reached the server
    finally:
        logger.removeHandler(handler)
    assert response.status_code < 500, (response.status_code, response.text)
    assert "Traceback" not in response.text
    assert errors == []
    if response.status_code == 304:  # no content: only what a cache updates (RFC 9110, 15.4.5)
        assert set(response.headers) == {"etag", "cache-control", "vary"}
        return
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"].startswith("default-src 'none'; ")


def test_the_drawn_paths_reach_a_feed_a_page_and_the_404(served: tuple[Any, str]) -> None:
    """The strategy's pieces make real requests: a feed (200), the page (200), and junk (404)."""
    app, token = served
    assert send(app, "GET", f"/feeds/{token}/org-sedena.ics", [], []).status_code == 200
    assert send(app, "GET", f"/subscribe/{token}", [("Host", "evil.example")], []).status_code == 200
    assert send(app, "GET", "/feeds/%2e%2e/%00", [], []).status_code == 404
