"""The feed server under test: a real SQLite store with cycle 9 planned, one Spanish
subscriber, the real ASGI app, and a real HTTP client (httpx) speaking to it in-process."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import httpx

from calendars.catalogue import shipped_catalogue
from calendars.feed import FeedOptions
from calendars.server import FeedCache, create_app
from calendars.tokens import new_token, token_hash
from cycle.program import Program
from cycle.store.database import Store
from cycle.store.repository import add_subscriber

NOW = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)


class Client:
    """A real HTTP client (httpx) speaking to the ASGI app in-process."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                return await client.request(method, url, **kwargs)

        return asyncio.run(send())

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def head(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("HEAD", url, **kwargs)


class Setup:
    def __init__(self, store: Store, program: Program) -> None:
        self.store = store
        self.program = program
        self.token = self.subscribe("SEDENA liaison", ["org-sedena", "deliverables"], "es")
        self.cache = FeedCache(
            program=program,
            catalogue=shipped_catalogue(),
            store=store,
            options=FeedOptions(),
            today=lambda: dt.date(2026, 11, 24),
            now=lambda: NOW,
        )
        self.client = Client(create_app(self.cache))

    def subscribe(self, name: str, audiences: list[str], lang: str) -> str:
        token = new_token()
        self.store.transaction(
            lambda s: add_subscriber(
                s,
                name=name,
                token_hash=token_hash(token),
                audiences=audiences,
                lang=lang,
                now=NOW,
                actor="test",
            )
        )
        return token

    def url(self, audience: str = "org-sedena", token: str | None = None, query: str = "") -> str:
        return f"/feeds/{token or self.token}/{audience}.ics{query}"


def asgi_messages(
    app: Any,
    method: str,
    path: str,
    raw_path: bytes,
    query: bytes,
    headers: list[tuple[bytes, bytes]],
    root_path: str = "",
) -> list[dict[str, Any]]:
    """The ASGI messages the app sends for one request, passed byte for byte as uvicorn would
    pass it (no client library normalizing the path first); `root_path` as behind a proxy's
    prefix."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": raw_path,
        "query_string": query,
        "root_path": root_path,
        "headers": headers,
        "client": ("192.0.2.9", 50000),
        "server": ("testserver", 80),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent
