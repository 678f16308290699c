"""The feed server: private feed URLs and subscription pages over HTTP (ASGI, Starlette).

`GET|HEAD /feeds/{token}/{audience}.ics?lang=en|es`, `GET /subscribe/{token}`,
`GET /healthz`. A request never rebuilds a feed for nothing: built feeds are cached per
store generation (the change log's newest id, one indexed read per request), so a
re-plan, a recorded deliverable or a revoked subscriber shows on the very next request,
and otherwise the cached bytes (and their gzip) are served, or a 304. Tokens are looked
up by hash and never logged; every refusal of a token is the same 404.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import hashlib
import html
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from calendars.audience import Audience
from calendars.catalogue import Catalogue
from calendars.feed import FeedOptions, FeedRequest, build_feed, feed_name
from calendars.ratelimit import RateLimit, RateLimited
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
        self._accessed: dict[int, dt.datetime] = {}
        self._audiences: dict[str, Audience | None] = {}

    @property
    def generation(self) -> int:
        return self._generation

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
                self._feeds = {}
                self._generation, self._day = generation, today

    def cached(self, request: FeedRequest) -> BuiltFeed | None:
        """The feed if it is built already (no work), else None."""
        return self._feeds.get(request)

    def due_for_touch(self, subscriber: Subscriber) -> bool:
        """Whether `touch` would write (it writes at most every ACCESS_WRITE_INTERVAL)."""
        last = self._accessed.get(subscriber.id)
        return last is None or self.now() - last >= ACCESS_WRITE_INTERVAL

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
    """

    def __init__(self, cache: FeedCache) -> None:
        self.cache = cache
        self.running = False
        self.next: asyncio.Future[None] | None = None

    async def fresh(self) -> None:
        if not self.running:
            await self._run()
            return
        if self.next is None:
            self.next = asyncio.get_running_loop().create_future()
        await asyncio.shield(self.next)

    async def _run(self) -> None:
        self.running = True
        try:
            await run_in_threadpool(self.cache.refresh)
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


def create_app(
    cache: FeedCache,
    *,
    base_url: str | None = None,
    rate_limit: RateLimit | None = None,
    clock: Callable[[], float] | None = None,
) -> Any:
    """The ASGI app. `base_url` is the public address for links (default: the request's);
    `rate_limit` the requests allowed per client address (default `RateLimit()`)."""
    checks = _Checks(cache)

    async def feed(request: Request) -> Response:
        """Async: a feed already built (the usual case) is answered on the server's loop,
        without a hop to a worker thread; building one and writing an access go to one."""
        await checks.fresh()
        subscriber = cache.subscriber(request.path_params["token"])
        audience_name = request.path_params["audience"]
        if subscriber is None or audience_name not in subscriber.audiences:
            return _not_found()  # unknown, revoked and foreign-audience requests look alike
        audience = cache.audience(audience_name)
        if audience is None:
            return _not_found()  # the audience left the program after the subscriber got it
        lang_param = request.query_params.get("lang", subscriber.lang)
        if lang_param not in LANGS:
            return PlainTextResponse("lang must be en or es\n", status_code=400, headers=SECURITY_HEADERS)
        lang: Lang = "es" if lang_param == "es" else "en"
        owner = request.query_params.get("owner")
        if owner is not None and owner not in {i.slug for i in cache.program.institutions} | {
            b.slug for b in cache.program.bodies
        } | {r.slug for r in cache.program.roles}:
            return PlainTextResponse("unknown owner\n", status_code=400, headers=SECURITY_HEADERS)
        tasks = request.query_params.get("form") == "tasks"
        wanted = FeedRequest(audience, lang, owner=owner, tasks=tasks)
        built = cache.cached(wanted)
        if built is None:
            built = await run_in_threadpool(cache.feed, wanted)
        if cache.due_for_touch(subscriber):
            await run_in_threadpool(cache.touch, subscriber)
        return _conditional(request, built)

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

    app = Starlette(
        routes=[
            Route("/feeds/{token}/{audience}.ics", feed, methods=["GET", "HEAD"]),
            Route("/subscribe/{token}", subscribe, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        exception_handlers={
            404: lambda _request, _exc: _not_found(),  # no route: the same 404
            HTTPException: _http_error,  # 405 and the like, with the same headers
            Exception: lambda _request, _exc: PlainTextResponse(  # logged by _RedactedAccessLog
                "Internal Server Error\n", status_code=500, headers=SECURITY_HEADERS
            ),
        },
    )
    app.router.redirect_slashes = False  # a trailing slash is a 404 like any unknown path, not a redirect
    limited = RateLimited(
        app, rate_limit or RateLimit(), headers=SECURITY_HEADERS, clock=clock or time.monotonic
    )
    return _RedactedAccessLog(limited)


def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    headers = {**SECURITY_HEADERS, **(exc.headers or {})}
    return PlainTextResponse(f"{exc.detail}\n", status_code=exc.status_code, headers=headers)


class _RedactedAccessLog:
    """Access log lines with the token replaced by `***`: tokens never reach a log.

    A fault inside the app is logged here as one redacted error line (no traceback, which
    could carry the path) and answered 500 with no detail; the ASGI server never sees it.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = {"code": 0}

        async def record(message: Any) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        except Exception as exc:  # noqa: BLE001 -- any fault: one redacted line, a bare 500
            secret = _token_in(scope["path"])
            detail = f"{type(exc).__name__}: {exc}".splitlines()[0] if str(exc) else type(exc).__name__
            if secret:
                detail = detail.replace(secret, "***")
            log.error(  # noqa: TRY400 -- no traceback: its frames and messages may hold the token
                "%s %s failed: %s", scope["method"], redact(scope["path"]), detail[:300]
            )
            if status["code"] == 0:
                await PlainTextResponse("Internal Server Error\n", status_code=500, headers=SECURITY_HEADERS)(
                    scope, receive, record
                )
            else:
                status["code"] = 500
        log.info("%s %s %s", scope["method"], redact(scope["path"]), status["code"])


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


def _conditional(request: Request, built: BuiltFeed) -> Response:
    gzipped = "gzip" in request.headers.get("accept-encoding", "").lower()
    headers = built.headers[gzipped]
    if _not_modified(request, headers["ETag"], built.last_modified):
        return Response(status_code=304, headers=headers)
    headers = dict(headers)
    body = built.gzipped if gzipped else built.body
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    if request.method == "HEAD":
        headers["Content-Length"] = str(len(body))
        return Response(b"", media_type="text/calendar; charset=utf-8", headers=headers)
    return Response(body, media_type="text/calendar; charset=utf-8", headers=headers)


def _not_modified(request: Request, etag: str, last_modified: dt.datetime) -> bool:
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
        return "*" in tags or etag in tags
    if_modified_since = request.headers.get("if-modified-since")
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
