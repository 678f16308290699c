"""The feed server: private feed URLs and subscription pages over HTTP (ASGI, Starlette).

`GET|HEAD /feeds/{token}/{audience}.ics?lang=en|es`, `GET /subscribe/{token}`,
`GET /healthz`. A request never rebuilds a feed for nothing: built feeds are cached per
store generation (the change log's newest id, one indexed read, skipped on SQLite while
the store's data version shows no commit), so a re-plan, a recorded deliverable or a
revoked subscriber shows on the very next request, and otherwise the cached bytes (and
their gzip) are served, or a 304. Tokens are looked up by hash and never logged; every
refusal of a token is the same 404. Feed requests skip Starlette (`_Front`), and a poll
the same as one answered before, with nothing changed since, gets that answer again
(`FeedCache.ready`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import gzip
import hashlib
import html
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, compile_path

from calendars.accesslog import AccessLog, LoggingAccessLog
from calendars.audience import Audience
from calendars.catalogue import Catalogue
from calendars.feed import FeedOptions, FeedRequest, build_feed, feed_name
from calendars.ratelimit import ClientBuckets, RateLimit, refusal
from calendars.tokens import plausible, token_hash
from cycle.errors import NotFoundError
from cycle.program import LANGS, Lang, Program
from cycle.status import TrackedItem
from cycle.store.database import Store
from cycle.store.models import SubscriberRecord
from cycle.store.reads import tracked_items
from cycle.store.repository import list_subscribers, read_generation, store_generation

log = logging.getLogger("roundtable.feeds")

ACCESS_WRITE_INTERVAL = dt.timedelta(minutes=10)
"""Last access is written at most this often per subscriber: polling must not mean writing."""

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the URL carries the token
    # Nothing but the subscription page is meant to render; even a 404 may not load or frame.
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}
PAGE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


@dataclass(frozen=True, slots=True)
class Subscriber:
    id: int
    name: str
    audiences: frozenset[str]
    lang: Lang
    revoked: bool


@dataclass(frozen=True, slots=True)
class BuiltFeed:
    body: bytes
    gzipped: bytes
    etag: str
    last_modified: dt.datetime
    headers: dict[bool, dict[str, str]] = field(init=False, repr=False, compare=False)
    """The response headers without and with gzip: the same for every request, so made
    once per feed rather than per request (benchmarks/serve_feeds)."""
    raw: dict[tuple[bool, bool | None], tuple[int, RawHeaders, bytes]] = field(
        init=False, repr=False, compare=False
    )
    """The answers ready to send: see `_raw_answers`."""

    def __post_init__(self) -> None:
        last_modified = format_datetime(self.last_modified, usegmt=True)
        headers = {
            gzipped: {
                **SECURITY_HEADERS,
                "ETag": f'"{self.etag.strip(chr(34))}-gzip"' if gzipped else self.etag,
                "Last-Modified": last_modified,
                "Cache-Control": "private, max-age=3600",
                "Vary": "Accept-Encoding",
            }
            for gzipped in (False, True)
        }
        object.__setattr__(self, "headers", headers)
        object.__setattr__(self, "raw", _raw_answers(self.body, self.gzipped, headers))

    def answer(self, method: str, headers: _ConditionalHeaders) -> tuple[int, RawHeaders, bytes]:
        """The status, raw headers and body for a GET or HEAD with these request headers."""
        gzipped = "gzip" in headers.accept_encoding.lower()
        if _not_modified(headers, self.headers[gzipped]["ETag"], self.last_modified):
            return self.raw[gzipped, None]
        return self.raw[gzipped, method == "HEAD"]


RawHeaders = list[tuple[bytes, bytes]]
FeedRoute = tuple[str, Lang, bytes]
"""A feed request's audience name, its subscriber's language and its query string."""
MAX_ROUTES = 4096
Poll = tuple[str, bytes, str, tuple[tuple[bytes, bytes], ...]]
"""A feed request as it arrived: path, query string, method and headers."""
MAX_POLLS = 4096
MAX_POLL_BYTES = 4096
"""The largest request (path, query string, header names and values) remembered: a
calendar client's poll is well under 1 KB."""
FEED_TYPE = "text/calendar; charset=utf-8"
NOT_MODIFIED_HEADERS = ("ETag", "Cache-Control", "Vary")
"""What a 304 carries, as RFC 9110 (15.4.5) asks: the fields of the 200 that a cache must
update, and no other. Last-Modified guides a cache only when there is no ETag, and the
security headers speak of content, which a 304 has none of: the client goes on using its
stored 200, with that response's own headers. (Why it matters: figure 3 of docs/benchmarks.md.)"""


def _raw_answers(
    body: bytes, gzipped: bytes, headers: dict[bool, dict[str, str]]
) -> dict[tuple[bool, bool | None], tuple[int, RawHeaders, bytes]]:
    """Every answer a built feed gives, as ASGI sends it: by (gzip, HEAD), with None for 304.
    Made with Starlette's Response, once per feed, so that the bytes are those it would send."""
    answers: dict[tuple[bool, bool | None], tuple[int, RawHeaders, bytes]] = {}
    for gzip_it, plain in headers.items():
        content = gzipped if gzip_it else body
        encoded = {**plain, "Content-Encoding": "gzip"} if gzip_it else plain
        head = {**encoded, "Content-Length": str(len(content))}
        unchanged = {name: plain[name] for name in NOT_MODIFIED_HEADERS}
        answers[gzip_it, None] = (304, Response(status_code=304, headers=unchanged).raw_headers, b"")
        answers[gzip_it, False] = (
            200,
            Response(content, media_type=FEED_TYPE, headers=encoded).raw_headers,
            content,
        )
        answers[gzip_it, True] = (200, Response(b"", media_type=FEED_TYPE, headers=head).raw_headers, b"")
    return answers


@dataclass(frozen=True, slots=True)
class Ready:
    """The answer a poll got, to give again to the same poll (`FeedCache.ready`): its two
    ASGI messages and its access line, as they were sent and written the first time."""

    epoch: int
    touch_due: dt.datetime
    """When the subscriber's access is next to be written (the poll then goes the long way)."""
    start: dict[str, Any]
    body: dict[str, Any]
    line: str

    @classmethod
    def of(
        cls, epoch: int, touch_due: dt.datetime, answer: tuple[int, RawHeaders, bytes], line: str
    ) -> Ready:
        status, headers, body = answer
        start = {"type": "http.response.start", "status": status, "headers": headers}
        return cls(epoch, touch_due, start, {"type": "http.response.body", "body": body}, line)


class FeedCache:
    """Feeds and subscribers as of one store generation; rebuilt lazily after a change."""

    def __init__(
        self,
        *,
        program: Program,
        catalogue: Catalogue,
        store: Store,
        options: FeedOptions,
        today: Callable[[], dt.date],
        now: Callable[[], dt.datetime],
    ) -> None:
        self.program = program
        self.catalogue = catalogue
        self.store = store
        self.options = options
        self.today = today
        self.now = now
        self._lock = threading.Lock()
        self._generation = -1
        self._day: dt.date | None = None
        self._tracked: list[TrackedItem] = []
        self._subscribers: dict[str, Subscriber] = {}
        self._feeds: dict[FeedRequest, BuiltFeed] = {}
        self._routes: dict[FeedRoute, tuple[int, BuiltFeed]] = {}
        self._polls: dict[Poll, Ready] = {}
        self._epoch = 0
        self._accessed: dict[int, dt.datetime] = {}
        self._audiences: dict[str, Audience | None] = {}
        self.owners = frozenset(
            [i.slug for i in program.institutions]
            + [b.slug for b in program.bodies]
            + [r.slug for r in program.roles]
        )
        """The slugs `?owner=` may name: institutions, bodies and roles."""

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def day(self) -> dt.date | None:
        """The day the cache was made for (None before the first refresh)."""
        return self._day

    def refresh(self) -> None:
        """Reload when the store changed (or the day did: cancelled items age out by day)."""
        with self.store.connection() as connection:
            generation = read_generation(connection)
        today = self.today()
        with self._lock:
            if generation == self._generation and today == self._day:
                return
        with self.store.session() as session:
            generation = store_generation(session)
            with self._lock:
                self._tracked = tracked_items(session, cycle=None)
                records = list_subscribers(session)
                self._subscribers = {r.token_hash: _subscriber(r) for r in records}
                self._feeds, self._routes, self._polls = {}, {}, {}
                self._generation, self._day = generation, today
                self._epoch += 1  # after the feeds are dropped: see `route`

    def cached(self, request: FeedRequest) -> BuiltFeed | None:
        """The feed if it is built already (no work), else None."""
        return self._feeds.get(request)

    @property
    def epoch(self) -> int:
        """Counts the times the built feeds were dropped (a change in the store, a new day)."""
        return self._epoch

    def routed(self, route: FeedRoute) -> BuiltFeed | None:
        """The feed a request's audience, default language and query string asked for
        last, if built since the built feeds were last dropped; else None.

        Why: figure 3 (benchmarks/serve_feeds): a poll repeats its query, and parsing it
        into a `FeedRequest` and hashing that to find the feed were a fifth of what our
        code adds to a 304."""
        entry = self._routes.get(route)
        return entry[1] if entry is not None and entry[0] == self._epoch else None

    def route(self, route: FeedRoute, built: BuiltFeed, epoch: int) -> None:
        """Remember `built` for `route`; `epoch` is `self.epoch` read before `built` was
        looked up. The feeds are dropped before the epoch moves on, so a feed found or built
        before a drop carries the old epoch and is never given out after it."""
        if len(self._routes) >= MAX_ROUTES:  # query strings come from clients: bound them
            self._routes = {}
        self._routes[route] = (epoch, built)

    def ready(self, scope: Any) -> Ready | None:
        """The answer a feed request (`scope`, ASGI) got the last time it came exactly so
        (path, query string, method, headers), if nothing it depends on has changed since:
        the same store generation and day, and the subscriber's access not due to be written.

        Why: figure 3 (benchmarks/serve_feeds): a calendar client polls with the very same
        request each time, and finding the subscriber, the feed and the conditional headers
        again was most of what our code added to a 304. The memory holds the paths polled,
        tokens and all, as the server's memory holds every request; never written anywhere.
        A guess is never compared with a token: the look-up compares keyed hashes first.
        """
        try:
            found = self._polls.get(_poll(scope))
        except TypeError:  # headers as lists, which ASGI allows: not remembered
            return None
        if found is None or found.epoch != self._epoch or self.now() >= found.touch_due:
            return None
        return found

    def remember(self, scope: Any, ready: Ready) -> None:
        """Remember the answer to the request `scope`; `ready.epoch` is `self.epoch` read
        before the subscriber was looked up (see `route`). Paths and headers come from
        clients: a request larger than MAX_POLL_BYTES is not remembered, and at most
        MAX_POLLS are, so the memory stays under MAX_POLLS x MAX_POLL_BYTES of requests."""
        poll = _poll(scope)
        path, query, _, headers = poll
        if len(path) + len(query) + sum(len(name) + len(value) for name, value in headers) > MAX_POLL_BYTES:
            return
        if len(self._polls) >= MAX_POLLS:
            self._polls = {}
        with contextlib.suppress(TypeError):  # headers as lists, unhashable: see `ready`
            self._polls[poll] = ready

    def touch_due(self, subscriber: Subscriber) -> dt.datetime | None:
        """When `touch` will next write the subscriber's access (None: at once)."""
        last = self._accessed.get(subscriber.id)
        return None if last is None else last + ACCESS_WRITE_INTERVAL

    def due_for_touch(self, subscriber: Subscriber) -> bool:
        """Whether `touch` would write (it writes at most every ACCESS_WRITE_INTERVAL)."""
        due = self.touch_due(subscriber)
        return due is None or self.now() >= due

    def subscriber(self, token: str) -> Subscriber | None:
        """The active subscriber holding `token`, or None (unknown and revoked alike)."""
        if not plausible(token):
            return None
        # Looked up by the hash of what was presented, never compared as a token: the timing
        # tells nothing about how close a guess was (calendars/tokens.py; a test shows why).
        found = self._subscribers.get(token_hash(token))
        return None if found is None or found.revoked else found

    def audience(self, name: str) -> Audience | None:
        """The audience `name` stands for in the program, None if none: parsed once per name
        (the names come from subscribers' records, so they are few)."""
        if name not in self._audiences:
            try:
                self._audiences[name] = Audience.parse(name, self.program)
            except NotFoundError:
                self._audiences[name] = None
        return self._audiences[name]

    def feed(self, request: FeedRequest) -> BuiltFeed:
        with self._lock:
            built = self._feeds.get(request)
            if built is None:
                body = build_feed(
                    program=self.program,
                    catalogue=self.catalogue,
                    tracked=self._tracked,
                    request=request,
                    as_of=self._day or self.today(),
                    options=self.options,
                )
                digest = hashlib.sha256(body).hexdigest()[:32]
                changed = [t.changed_at for t in self._tracked if t.changed_at is not None]
                last = max(changed) if changed else dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
                built = BuiltFeed(
                    body=body,
                    gzipped=gzip.compress(body, mtime=0),
                    etag=f'"{digest}"',
                    last_modified=last.replace(microsecond=0),
                )
                self._feeds[request] = built
            return built

    def touch(self, subscriber: Subscriber) -> None:
        """Remember the access; write it to the store at most every ACCESS_WRITE_INTERVAL."""
        now = self.now()
        with self._lock:
            last = self._accessed.get(subscriber.id)
            if last is not None and now - last < ACCESS_WRITE_INTERVAL:
                return
            self._accessed[subscriber.id] = now
        with self.store.session() as session:
            record = session.get(SubscriberRecord, subscriber.id)
            if record is not None:
                record.last_access_at = now
                session.commit()


def _subscriber(record: SubscriberRecord) -> Subscriber:
    assert record.id is not None
    lang: Lang = "es" if record.lang == "es" else "en"
    return Subscriber(
        id=record.id,
        name=record.name,
        audiences=frozenset(json.loads(record.audiences)),
        lang=lang,
        revoked=record.revoked_at is not None,
    )


def _not_found() -> Response:
    return PlainTextResponse("Not Found\n", status_code=404, headers=SECURITY_HEADERS)


class _Checks:
    """The store check before each request, shared by the requests waiting at once.

    A request waits for a check that *starts after it arrived*, so a change shows on the
    very next request; but the requests that arrive while one check runs share the next
    one, so 200 subscribers polling at once make a few checks, not 200 (the checks run in
    a worker thread: a slow database never blocks the server's loop).

    On SQLite a request first asks `_DataVersion`, on the loop and in microseconds, whether
    anything was committed since the last check began; if nothing was (and the day is the
    same), the cache is current and the request needs no check at all.
    """

    def __init__(self, cache: FeedCache) -> None:
        self.cache = cache
        self.running = False
        self.next: asyncio.Future[None] | None = None
        sqlite_file = cache.store.sqlite_file
        self.version = _DataVersion(sqlite_file) if sqlite_file is not None else None
        self.checked_at: int | None = None
        """The data version read just before the last check that succeeded began."""
        self._turn: tuple[asyncio.AbstractEventLoop, int | None, dt.date] | None = None

    def current(self) -> bool:
        """Whether the cache is known current without a check (SQLite: no commit since the
        last check began, and the same day). A plain call: most requests need no more."""
        if self.version is None or self.checked_at is None:
            return False
        version, today = self._this_turn()
        return version == self.checked_at and today == self.cache.day

    async def fresh(self) -> None:
        """Return once the cache is current: at once if `current`, else after a check that
        began after this call."""
        if self.current():
            return
        if not self.running:
            await self._run()
            return
        if self.next is None:
            self.next = asyncio.get_running_loop().create_future()
        await asyncio.shield(self.next)

    def _this_turn(self) -> tuple[int | None, dt.date]:
        """The data version and the day, read at most once per turn of the event loop (a
        read is a few microseconds, and a turn answers many requests at once under load;
        the local day was a tenth of what our code adds to a 304, figure 3).

        Every request that uses the value arrived before it was read: the server reads a
        request's bytes in one turn and starts its task (create_task, as uvicorn does) to
        run in a later one; the value is forgotten by a callback queued when it was read,
        which runs in the next turn before the callbacks for the bytes that turn's poll
        finds. So a request sent after a change was committed never sees an older value.
        """
        assert self.version is not None
        loop = asyncio.get_running_loop()
        turn = self._turn
        if turn is None or turn[0] is not loop:
            turn = self._turn = (loop, self.version.read(), self.cache.today())
            loop.call_soon(self._forget_turn)
        return turn[1], turn[2]

    def _forget_turn(self) -> None:
        self._turn = None

    async def _run(self) -> None:
        self.running = True
        try:
            version = self.version.read() if self.version is not None else None
            await run_in_threadpool(self.cache.refresh)
            self.checked_at = version  # not before: a failed check must be made again
        finally:
            waiting, self.next = self.next, None
            self.running = False
            if waiting is not None:
                asyncio.get_running_loop().create_task(self._settle(waiting))

    async def _settle(self, waiting: asyncio.Future[None]) -> None:
        try:
            await self._run()
        except Exception as exc:  # noqa: BLE001 - handed to every waiting request
            waiting.set_exception(exc)
        else:
            waiting.set_result(None)


class _DataVersion:
    """SQLite's `PRAGMA data_version` on a connection of its own that never writes: it
    changes whenever any other connection, in any process, commits to the store
    (https://sqlite.org/pragma.html#pragma_data_version).

    Why: figure 3 (benchmarks/serve_feeds): reading it is a few microseconds on the loop,
    where the generation check costs a hop to a worker thread and a query. It never waits:
    a busy or unreadable store reads as None, and the request makes the full check (which
    waits, in its worker thread, or fails as it always did).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._connection: sqlite3.Connection | None = None

    def read(self) -> int | None:
        try:
            if self._connection is None:
                self._connection = sqlite3.connect(
                    f"{self.path.resolve().as_uri()}?mode=ro",
                    uri=True,
                    timeout=0,  # never wait on the loop
                    isolation_level=None,
                    check_same_thread=False,  # the loop's thread, whichever that is
                )
            row = self._connection.execute("PRAGMA data_version").fetchone()
        except sqlite3.Error:
            self.close()
            return None
        return int(row[0])

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def create_app(
    cache: FeedCache,
    *,
    base_url: str | None = None,
    rate_limit: RateLimit | None = None,
    clock: Callable[[], float] | None = None,
    access_log: AccessLog | None = None,
) -> Any:
    """The ASGI app. `base_url` is the public address for links (default: the request's);
    `rate_limit` the requests allowed per client address (default `RateLimit()`);
    `access_log` where the access lines go (default: the `roundtable.feeds` logger)."""
    feeds = _Feeds(cache, _Checks(cache))

    def subscribe(request: Request) -> Response:
        cache.refresh()
        subscriber = cache.subscriber(request.path_params["token"])
        if subscriber is None:
            return _not_found()
        cache.touch(subscriber)
        base = (base_url or str(request.base_url)).rstrip("/")
        page = subscription_page(cache, subscriber, request.path_params["token"], base)
        headers = {**SECURITY_HEADERS, "Content-Security-Policy": PAGE_POLICY, "Cache-Control": "no-store"}
        return Response(page, media_type="text/html; charset=utf-8", headers=headers)

    def healthz(_request: Request) -> Response:
        cache.refresh()
        return JSONResponse({"status": "ok", "generation": cache.generation}, headers=SECURITY_HEADERS)

    def home(_request: Request) -> Response:
        cache.refresh()
        headers = {**SECURITY_HEADERS, "Content-Security-Policy": PAGE_POLICY, "Cache-Control": "no-store"}
        return Response(home_page(cache), media_type="text/html; charset=utf-8", headers=headers)

    app = Starlette(
        routes=[
            Route(FEED_PATH, feeds, methods=["GET", "HEAD"]),
            Route("/subscribe/{token}", subscribe, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/", home, methods=["GET"]),
        ],
        exception_handlers={
            404: lambda _request, _exc: _not_found(),  # no route: the same 404
            HTTPException: _http_error,  # 405 and the like, with the same headers
            Exception: lambda _request, _exc: PlainTextResponse(  # logged by _Front
                "Internal Server Error\n", status_code=500, headers=SECURITY_HEADERS
            ),
        },
    )
    app.router.redirect_slashes = False  # a trailing slash is a 404 like any unknown path, not a redirect
    buckets = ClientBuckets(rate_limit or RateLimit(), clock or time.monotonic)
    return _Front(app, feeds, buckets, access_log or LoggingAccessLog())


FEED_PATH = "/feeds/{token}/{audience}.ics"


class _Feeds:
    """`GET|HEAD /feeds/{token}/{audience}.ics` as a bare ASGI app, reached through
    Starlette's router or straight from `_Front` (the same code either way).

    A feed already built (the usual case) is answered on the server's loop, without a hop
    to a worker thread, from headers made once per feed; building one and writing an access
    go to one.
    """

    def __init__(self, cache: FeedCache, checks: _Checks) -> None:
        self.cache = cache
        self.checks = checks

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        response = await self.answer(scope)
        if isinstance(response, Response):
            await response(scope, receive, send)
            return
        status, headers, body = response
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def answer(self, scope: Any) -> Response | tuple[int, RawHeaders, bytes]:
        cache = self.cache
        if not self.checks.current():
            await self.checks.fresh()
        # Before the subscriber is looked up: a refresh (in a worker thread) may drop the
        # feeds at any point after, and whatever this request then remembers must be dropped
        # with them, a revoked subscriber's answer above all.
        answered_at = cache.epoch
        params = scope["path_params"]
        subscriber = cache.subscriber(params["token"])
        audience_name = params["audience"]
        if subscriber is None or audience_name not in subscriber.audiences:
            return _not_found()  # unknown, revoked and foreign-audience requests look alike
        route = (audience_name, subscriber.lang, scope["query_string"])
        built = cache.routed(route)
        if built is None:
            wanted = self.wanted(*route)
            if isinstance(wanted, Response):
                return wanted
            epoch = cache.epoch
            built = cache.cached(wanted)
            if built is None:
                built = await run_in_threadpool(cache.feed, wanted)
            cache.route(route, built, epoch)
        if cache.due_for_touch(subscriber):
            await run_in_threadpool(cache.touch, subscriber)
        answer = built.answer(scope["method"], _ConditionalHeaders.of(scope["headers"]))
        touch_due = cache.touch_due(subscriber)
        if touch_due is not None and not scope.get("root_path"):  # `_Front` looks up only those
            line = f"{scope['method']} /feeds/***/{audience_name}.ics {answer[0]}"  # as `_Front` logs it
            cache.remember(scope, Ready.of(answered_at, touch_due, answer, line))
        return answer

    def wanted(self, audience_name: str, default_lang: Lang, query_string: bytes) -> FeedRequest | Response:
        """The feed a request asks for, or the 4xx for a query that names none."""
        audience = self.cache.audience(audience_name)
        if audience is None:
            return _not_found()  # the audience left the program after the subscriber got it
        query = _query(query_string)
        lang_param = query.get("lang", default_lang)
        if lang_param not in LANGS:
            return PlainTextResponse("lang must be en or es\n", status_code=400, headers=SECURITY_HEADERS)
        lang: Lang = "es" if lang_param == "es" else "en"
        owner = query.get("owner")
        if owner is not None and owner not in self.cache.owners:
            return PlainTextResponse("unknown owner\n", status_code=400, headers=SECURITY_HEADERS)
        return FeedRequest(audience, lang, owner=owner, tasks=query.get("form") == "tasks")


class _Front:
    """The app the ASGI server runs. Every HTTP request is counted against its client's rate
    limit and gets one access line, with the token replaced by `***`: tokens never reach a
    log. A GET or HEAD the same as a feed request answered before is answered again from
    `FeedCache.ready` once the store check says nothing changed; one of a feed URL is
    answered by `_Feeds` right here; everything else (other methods: 405; other paths: 404;
    the other routes) goes to the Starlette app.

    A fault inside either is logged here as one redacted error line (no traceback, which
    could carry the path) and answered 500 with no detail; the ASGI server never sees it.

    Why feed requests skip Starlette, and why this is one class rather than three
    middlewares: figure 3 of docs/benchmarks.md (benchmarks/serve_feeds) holds the feed server to
    1.2x (304) and 1.5x (200) of a bare ASGI app on the same uvicorn. Starlette's request,
    routing and two exception middlewares cost about as much as the whole answer, and each
    middleware layer a request went through (the access line's, the rate limit's, the
    routing's) added a call and a wrapped `send`. A GET or HEAD whose path matches the feed
    route's own pattern is what Starlette would hand `_Feeds` anyway; a test holds both
    ways to the same bytes and access lines (`feeds_first`, False: all through Starlette).
    """

    feeds_first = True

    def __init__(self, app: Starlette, feeds: _Feeds, buckets: ClientBuckets, access_log: AccessLog) -> None:
        self.app = app
        self.feeds = feeds
        self.cache, self.checks = feeds.cache, feeds.checks
        self.buckets = buckets
        self.access_log = access_log
        self.pattern = compile_path(FEED_PATH)[0]
        self.limited = buckets.limit.enabled

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            lifespan = scope["type"] == "lifespan"
            await self.app(scope, receive, self._flushing_at_shutdown(send) if lifespan else send)
            return
        method = scope["method"]
        logged = None  # the path as the access line gives it
        status = 0
        try:
            refused = refusal(self.buckets, scope, SECURITY_HEADERS) if self.limited else None
            match = None
            feed_method = method in _FEED_METHODS and self.feeds_first and not scope.get("root_path")
            if refused is None and feed_method:
                ready = self.cache.ready(scope)
                if ready is not None and not self.checks.current():
                    await self.checks.fresh()
                    ready = self.cache.ready(scope)
                if ready is not None:  # a poll the same as one answered before, nothing changed
                    status = ready.start["status"]
                    await send(ready.start)
                    await send(ready.body)
                    self.access_log(ready.line)
                    return
                match = self.pattern.match(scope["path"])
            if match is None:
                relay = _Relay(send)
                try:
                    await (refused or self.app)(scope, receive, relay)
                finally:
                    status = relay.status
            else:
                scope["path_params"] = params = match.groupdict()
                logged = f"/feeds/***/{params['audience']}.ics"  # what `redact` makes of the path
                answer = await self.feeds.answer(scope)
                if isinstance(answer, Response):
                    status = answer.status_code
                    await answer(scope, receive, send)
                else:
                    status, headers, body = answer
                    await send({"type": "http.response.start", "status": status, "headers": headers})
                    await send({"type": "http.response.body", "body": body})
        except Exception as exc:  # noqa: BLE001 -- any fault: one redacted line, a bare 500
            status = await self._fault(exc, status, scope, receive, send)
        self.access_log(f"{method} {logged or redact(scope['path'])} {status}")

    async def _fault(self, exc: Exception, status: int, scope: Any, receive: Any, send: Any) -> int:
        """Log a fault as one redacted line; answer 500 unless the answer had begun."""
        secret = _token_in(scope["path"])
        detail = f"{type(exc).__name__}: {exc}".splitlines()[0] if str(exc) else type(exc).__name__
        if secret:
            detail = detail.replace(secret, "***")
        self.access_log.flush()  # the lines before it stay before it
        # No traceback: its frames and messages may hold the token.
        log.error("%s %s failed: %s", scope["method"], redact(scope["path"]), detail[:300])
        if status == 0:
            await PlainTextResponse("Internal Server Error\n", status_code=500, headers=SECURITY_HEADERS)(
                scope, receive, send
            )
        return 500

    def _flushing_at_shutdown(self, send: Any) -> Any:
        """`send` for the lifespan, writing the waiting access lines before the app reports its
        shutdown complete: uvicorn then ends, on SIGTERM by raising the signal again, which
        kills the process before `feeds serve` could flush them itself."""

        async def flushing(message: Any) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                self.access_log.flush()
            await send(message)

        return flushing


_FEED_METHODS = frozenset(("GET", "HEAD"))


def _poll(scope: Any) -> Poll:
    """The key `FeedCache.ready` looks a request up by (any request, feed or not)."""
    return (scope["path"], scope.get("query_string", b""), scope["method"], tuple(scope.get("headers", ())))


class _Relay:
    """`send` that remembers the status of the answer it passed on (0: none yet)."""

    __slots__ = ("send", "status")

    def __init__(self, send: Any) -> None:
        self.send = send
        self.status = 0

    async def __call__(self, message: Any) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        await self.send(message)


def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    headers = {**SECURITY_HEADERS, **(exc.headers or {})}
    return PlainTextResponse(f"{exc.detail}\n", status_code=exc.status_code, headers=headers)


def _token_in(path: str) -> str | None:
    """The path segment that holds a token in `/feeds/TOKEN/...` and `/subscribe/TOKEN`."""
    parts = path.split("/")
    if len(parts) > 2 and parts[1] in ("feeds", "subscribe") and parts[2]:
        return parts[2]
    return None


def redact(path: str) -> str:
    """`/feeds/TOKEN/all.ics` -> `/feeds/***/all.ics`; `/subscribe/TOKEN` -> `/subscribe/***`."""
    parts = path.split("/")
    if len(parts) > 2 and parts[1] in ("feeds", "subscribe"):
        parts[2] = "***"
    return "/".join(parts)


@dataclass(frozen=True, slots=True)
class _ConditionalHeaders:
    """The request headers a feed's answer depends on (the first of each, as Starlette's
    `Request.headers.get` gives it)."""

    accept_encoding: str = ""
    if_none_match: str | None = None
    if_modified_since: str | None = None

    @classmethod
    def of(cls, raw: RawHeaders) -> _ConditionalHeaders:
        found: dict[bytes, str] = {}
        for name, value in raw:  # lower-case names, as ASGI servers give them and Starlette reads them
            if name in _CONDITIONAL and name not in found:
                found[name] = value.decode("latin-1")
        if not found:
            return _UNCONDITIONAL
        return cls(
            found.get(b"accept-encoding", ""), found.get(b"if-none-match"), found.get(b"if-modified-since")
        )


_CONDITIONAL = frozenset((b"accept-encoding", b"if-none-match", b"if-modified-since"))
_UNCONDITIONAL = _ConditionalHeaders()


@functools.lru_cache(maxsize=256)  # subscribers' clients send the same few query strings
def _query(query_string: bytes) -> Mapping[str, str]:
    """The query parameters, the last of each name winning, as in Starlette's `query_params`."""
    return MappingProxyType(dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)))


def _not_modified(headers: _ConditionalHeaders, etag: str, last_modified: dt.datetime) -> bool:
    if_none_match = headers.if_none_match
    if if_none_match == etag:  # what a client that kept the ETag sends: no list to parse
        return True
    if if_none_match is not None:
        tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
        return "*" in tags or etag in tags
    if_modified_since = headers.if_modified_since
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError, IndexError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=dt.UTC)
        return last_modified <= since
    return False


CLIENTS = {
    "en": [
        ("Outlook", "Add calendar → Subscribe from web, paste the https link."),
        ("Google Calendar", "Other calendars → + → From URL, paste the https link."),
        ("Apple Calendar", "Click the webcal link, or File → New Calendar Subscription."),
        ("Thunderbird", "New Calendar → On the Network, paste the https link."),
    ],
    "es": [
        ("Outlook", "Agregar calendario → Suscribirse desde la web, pegue el enlace https."),
        ("Google Calendar", "Otros calendarios → + → Desde URL, pegue el enlace https."),
        ("Calendario de Apple", "Haga clic en el enlace webcal, o Archivo → Nueva suscripción a calendario."),
        ("Thunderbird", "Nuevo calendario → En la red, pegue el enlace https."),
    ],
}
_PAGE_TEXT = {
    "en": (
        "Your calendar subscriptions",
        "Subscribe",
        "How to add it",
        "Keep this page private: its address is your key.",
    ),
    "es": (
        "Sus suscripciones de calendario",
        "Suscribirse",
        "Cómo agregarlo",
        "Mantenga esta página privada: su dirección es su llave.",
    ),
}


_HOME_TEXT: dict[Lang, tuple[str, str, str]] = {
    "en": (
        "Calendar feeds",
        "This server is up. It publishes the roundtable's calendars to subscribers, each through a "
        "private link of their own: there is no public list of feeds.",
        "To subscribe, ask the secretariat for your link. It opens a page with your feeds and how to add "
        "them to Outlook, Google Calendar, Apple Calendar or Thunderbird.",
    ),
    "es": (
        "Calendarios",
        "Este servidor está en servicio. Publica los calendarios de la mesa redonda para sus suscriptores, "
        "cada uno con un enlace privado propio: no hay una lista pública de calendarios.",
        "Para suscribirse, pida su enlace a la secretaría. Abre una página con sus calendarios y cómo "
        "agregarlos a Outlook, Google Calendar, Apple Calendar o Thunderbird.",
    ),
}


def home_page(cache: FeedCache) -> str:
    """The server's front page in both languages: that it is up, and how a coordinator
    gets a private link. It names no subscriber and no feed."""
    program = cache.program
    sections = "".join(
        f'<section lang="{lang}"><h1>{html.escape(title)}</h1>'
        f"<p>{html.escape(program.program.name.get(lang))}</p>"
        f"<p>{html.escape(up)}</p><p>{html.escape(how)}</p></section>"
        for lang, (title, up, how) in _HOME_TEXT.items()
    )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(program.program.short.get('en'))}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;"
        "color:#1b1b1b}section{border-top:1px solid #ccc;padding-top:1rem;margin-top:1.5rem}</style>"
        f"</head><body>{sections}</body></html>\n"
    )


def subscription_page(cache: FeedCache, subscriber: Subscriber, token: str, base: str) -> str:
    """A bilingual page: the subscriber's feeds with webcal:// and https:// links, and how
    to add them in each client. Every inserted value is escaped."""
    program = cache.program
    scheme, _, address = base.partition("://")
    webcal = "webcal://" + address
    sections = []
    for lang in (subscriber.lang, *(other for other in LANGS if other != subscriber.lang)):
        title, subscribe, how, private = _PAGE_TEXT[lang]
        rows = []
        for name in sorted(subscriber.audiences):
            try:
                audience = Audience.parse(name, program)
            except NotFoundError:
                continue
            label = html.escape(feed_name(program, cache.catalogue, FeedRequest(audience, lang)))
            path = f"/feeds/{token}/{name}.ics?lang={lang}"
            https_link = html.escape(base + path, quote=True)
            webcal_link = html.escape(webcal + path, quote=True)
            rows.append(
                f'<li><strong>{label}</strong><br><a href="{webcal_link}">{subscribe} (webcal)</a> · '
                f'<a href="{https_link}">{scheme}</a><br><code>{https_link}</code></li>'
            )
        steps = "".join(f"<li><strong>{c}</strong>: {html.escape(s)}</li>" for c, s in CLIENTS[lang])
        sections.append(
            f'<section lang="{lang}"><h1>{html.escape(title)}</h1>'
            f"<p>{html.escape(program.program.name.get(lang))} — {html.escape(subscriber.name)}</p>"
            f"<ul class=feeds>{''.join(rows)}</ul><h2>{how}</h2><ol>{steps}</ol>"
            f"<p class=note>{html.escape(private)}</p></section>"
        )
    return (
        f'<!doctype html>\n<html lang="{subscriber.lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(program.program.short.get(subscriber.lang))}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;"
        "color:#1b1b1b}section{border-top:1px solid #ccc;padding-top:1rem;margin-top:1.5rem}"
        "ul.feeds li{margin:.8rem 0}code{font-size:.8em;color:#555;word-break:break-all}"
        "a{color:#0b5394}.note{color:#8a1c1c}</style></head><body>"
        f"{''.join(sections)}</body></html>\n"
    )
