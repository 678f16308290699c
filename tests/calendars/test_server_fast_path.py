"""The feed server's fast paths (figure 3, benchmarks/serve_feeds) change nothing a client or
the log sees: feed requests straight to the feed endpoint answer byte for byte as through
Starlette's router, with the same access lines; the store's data version lets a steady poll
skip the generation read, yet a change or a new day shows on the very next request."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import io
import logging
import sqlite3
import time
from typing import Any

import pytest
from sqlalchemy import event

from calendars.accesslog import LOG_FORMAT, LOGGER, BufferedAccessLog
from calendars.ratelimit import NO_LIMIT
from calendars.server import ACCESS_WRITE_INTERVAL, FeedCache, _Feeds, _Front, create_app
from cycle.deliverable import Action
from cycle.store.repository import record_deliverable_action, revoke_subscriber
from tests.calendars.feedserver import NOW, Setup, asgi_messages


class Lines:
    """An access log that keeps its lines."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, line: str) -> None:
        self.lines.append(line)

    def flush(self) -> None:
        pass


def through_starlette(app: Any) -> Any:
    """The same app with feed requests not answered by `_Front` itself: all go through Starlette."""
    assert isinstance(app, _Front)
    slow = copy.copy(app)
    slow.feeds_first = False
    return slow


def call(app: Any, method: str, path: str, query: bytes = b"", headers: Any = ()) -> list[dict[str, Any]]:
    return asgi_messages(app, method, path, path.encode(), query, [(b"host", b"testserver"), *headers])


def assert_same_bare_500(fast: Any, slow: Any, url: str, caplog: pytest.LogCaptureFixture) -> None:
    """A GET of `url` is the same bare 500, with the same error and access lines, either way."""
    answers, lines = [], []
    for app in (fast, slow):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger=LOGGER):
            answers.append(call(app, "GET", url))
        lines.append([(r.levelname, r.getMessage()) for r in caplog.records if r.name == LOGGER])
    assert answers[0] == answers[1]
    assert answers[0][0]["status"] == 500
    assert lines[0] == lines[1]
    assert [level for level, _ in lines[0]] == ["ERROR", "INFO"]


class TestFront:
    def test_feed_requests_answer_byte_for_byte_as_through_starlette(self, setup: Setup) -> None:
        """Validators, gzip, HEAD, 400s, 404s and 405s: the same messages and access lines."""
        fast_log, slow_log = Lines(), Lines()
        fast = create_app(setup.cache, rate_limit=NO_LIMIT, access_log=fast_log)
        slow = through_starlette(create_app(setup.cache, rate_limit=NO_LIMIT, access_log=slow_log))
        etag, gzip_etag = (
            setup.client.get(setup.url(), headers={"Accept-Encoding": encoding}).headers["etag"].encode()
            for encoding in ("identity", "gzip")
        )
        gzip = (b"accept-encoding", b"gzip, deflate")
        requests: list[tuple[str, str, bytes, list[tuple[bytes, bytes]]]] = [
            ("GET", setup.url(), b"", []),
            ("GET", setup.url(), b"lang=en&form=tasks", [gzip]),
            ("HEAD", setup.url(), b"", []),
            ("HEAD", setup.url(), b"", [gzip]),
            ("GET", setup.url(), b"", [(b"if-none-match", etag)]),
            ("GET", setup.url(), b"", [(b"if-none-match", b'W/"x", ' + gzip_etag), gzip]),
            ("GET", setup.url(), b"", [(b"if-modified-since", b"Tue, 24 Nov 2026 15:00:00 GMT")]),
            ("GET", setup.url(), b"", [(b"if-modified-since", b"yesterday")]),
            ("GET", setup.url(), b"lang=fr", []),
            ("GET", setup.url(), b"owner=nobody", []),
            ("GET", setup.url(), b"owner=sedena&lang=es&lang=en", []),
            ("GET", setup.url("all"), b"", []),
            ("GET", setup.url(token="A" * 32), b"", []),
            ("GET", setup.url("org-sedena") + "/", b"", []),
            ("POST", setup.url(), b"", []),
            ("GET", "/healthz", b"", []),
        ]
        for _ in range(2):  # the second time, the feed answers come from `FeedCache.ready`
            for method, path, query, headers in requests:
                assert call(fast, method, path, query, headers) == call(slow, method, path, query, headers), (
                    method,
                    path,
                    query,
                    headers,
                )
        assert fast_log.lines == slow_log.lines
        assert len(fast_log.lines) == 2 * len(requests)
        statuses = "200 200 200 200 304 304 304 200 400 400 200 404 404 404 405 200"
        assert " ".join(line.rsplit(" ", 1)[1] for line in fast_log.lines) == f"{statuses} {statuses}"

    def test_a_fault_on_the_fast_path_is_the_same_bare_500_and_lines(
        self, setup: Setup, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A store gone bad under a feed request: the same 500 and log lines either way."""
        fast = create_app(setup.cache)
        slow = through_starlette(create_app(setup.cache))
        setup.store.dispose()
        setup.store.sqlite_file.write_bytes(b"junk " * 1000)  # type: ignore[union-attr]
        assert_same_bare_500(fast, slow, setup.url(), caplog)


class TestDataVersion:
    def count_generation_reads(self, setup: Setup) -> list[str]:
        reads: list[str] = []

        def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if "max(change_log.id)" in statement:
                reads.append(statement)

        event.listen(setup.store.engine, "before_cursor_execute", count)
        return reads

    def test_steady_polls_skip_the_generation_read_and_a_change_shows_next(self, setup: Setup) -> None:
        """Once the first access is written, polls read no generation; a deliverable recorded
        by another connection changes the very next answer."""
        url = setup.url("deliverables")
        setup.client.get(url)  # the first access is written: a commit, so the next one checks
        etag = setup.client.get(url).headers["etag"]
        reads = self.count_generation_reads(setup)
        polls = [setup.client.get(url, headers={"If-None-Match": etag}) for _ in range(5)]
        assert [poll.status_code for poll in polls] == [304] * 5
        assert reads == []
        setup.store.transaction(
            lambda s: record_deliverable_action(
                s, key="c9/deliverable/-/read-ahead", action=Action.submit, actor="x", now=NOW
            )
        )
        changed = setup.client.get(url, headers={"If-None-Match": etag})
        assert changed.status_code == 200
        assert changed.headers["etag"] != etag
        assert reads  # the change was read

    def test_on_one_loop_a_change_shows_on_the_next_request_started_as_uvicorn_does(
        self, setup: Setup
    ) -> None:
        """One event loop, polls that share a turn's data version: each request is started as
        a task, as the server starts it, and one sent after a commit sees the commit."""
        app = create_app(setup.cache, rate_limit=NO_LIMIT)
        url = setup.url("deliverables")

        async def get(headers: Any = ()) -> tuple[int, bytes]:
            sent: list[dict[str, Any]] = []

            async def receive() -> dict[str, Any]:
                return {"type": "http.request", "body": b"", "more_body": False}

            async def send(message: dict[str, Any]) -> None:
                sent.append(message)

            scope = {"type": "http", "method": "GET", "path": url, "root_path": "", "query_string": b""}
            await asyncio.create_task(app({**scope, "headers": list(headers), "client": None}, receive, send))
            return sent[0]["status"], dict(sent[0]["headers"])[b"etag"]

        async def polls() -> list[int]:
            _, etag = await get()
            await get()  # after the first access is written
            statuses = [status for status, _ in await asyncio.gather(*(get() for _ in range(20)))]
            for key in ("read-ahead", "signed-minutes"):
                polled = await asyncio.gather(*(get([(b"if-none-match", etag)]) for _ in range(5)))
                assert {status for status, _ in polled} == {304}
                setup.store.transaction(
                    lambda s, key=key: record_deliverable_action(
                        s, key=f"c9/deliverable/-/{key}", action=Action.submit, actor="x", now=NOW
                    )
                )
                status, etag_after = await get([(b"if-none-match", etag)])
                statuses.append(status)
                assert etag_after != etag
                etag = etag_after
            return statuses

        assert asyncio.run(polls()) == [200] * 22

    def test_revoking_shows_on_the_next_poll(self, setup: Setup) -> None:
        """A revoked subscriber's next poll is the 404, however steady the polls before."""
        for _ in range(3):
            assert setup.client.get(setup.url()).status_code == 200
        setup.store.transaction(lambda s: revoke_subscriber(s, name="SEDENA liaison", now=NOW, actor="test"))
        assert setup.client.get(setup.url()).status_code == 404

    def test_a_new_day_rebuilds_the_feed_without_a_change(self, setup: Setup) -> None:
        """The store is the same but the day is not: the cache is made again for the new day."""
        day = [dt.date(2026, 11, 24)]
        setup.cache.today = lambda: day[0]
        for _ in range(3):
            setup.client.get(setup.url())
        assert setup.cache.day == dt.date(2026, 11, 24)
        day[0] = dt.date(2026, 11, 25)
        setup.client.get(setup.url())
        assert setup.cache.day == dt.date(2026, 11, 25)


class TestRoutes:
    """A poll's audience, language and query string lead straight to its built feed, and never
    to one built before the feeds were last dropped."""

    ROUTE = ("org-sedena", "es", b"")

    def test_a_poll_remembers_its_feed_and_a_new_day_forgets_it(self, setup: Setup) -> None:
        day = [dt.date(2026, 11, 24)]
        setup.cache.today = lambda: day[0]
        setup.client.get(setup.url())
        built = setup.cache.routed(self.ROUTE)
        assert built is not None
        setup.client.get(setup.url())
        assert setup.cache.routed(self.ROUTE) is built
        day[0] = dt.date(2026, 11, 25)
        assert setup.cache.routed(self.ROUTE) is built  # nobody asked since midnight
        setup.client.get(setup.url())
        again = setup.cache.routed(self.ROUTE)
        assert again is not None
        assert again is not built  # built again for the new day

    def test_a_feed_found_before_a_drop_is_not_given_out_after_it(self, setup: Setup) -> None:
        """The race `FeedCache.route` closes: a request looked its feed up, then a change
        dropped the feeds, then the request remembered what it had found."""
        setup.client.get(setup.url())
        before = setup.cache.routed(self.ROUTE)
        assert before is not None
        epoch = setup.cache.epoch
        setup.store.transaction(
            lambda s: record_deliverable_action(
                s, key="c9/deliverable/-/read-ahead", action=Action.submit, actor="x", now=NOW
            )
        )
        setup.cache.refresh()
        assert setup.cache.epoch == epoch + 1
        setup.cache.route(self.ROUTE, before, epoch)  # late, with the epoch it read
        assert setup.cache.routed(self.ROUTE) is None

    def test_a_bad_query_is_refused_every_time_and_remembered_never(self, setup: Setup) -> None:
        for _ in range(2):
            assert setup.client.get(setup.url(query="?lang=fr")).status_code == 400
        assert setup.cache.routed(("org-sedena", "es", b"lang=fr")) is None

    def test_the_routes_kept_are_bounded(self, setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
        """Query strings come from clients: any number of them keep at most MAX_ROUTES."""
        monkeypatch.setattr("calendars.server.MAX_ROUTES", 3)
        for number in range(7):
            response = setup.client.get(setup.url(query=f"?n={number}"))
            assert response.status_code == 200
            assert len(setup.cache._routes) <= 3  # the bound is the point


class TestPolls:
    """A poll the same as one answered before (path, query, method, headers) is given the
    same answer from memory (`FeedCache.ready`), until anything it depends on changes."""

    @staticmethod
    def count_answers(monkeypatch: pytest.MonkeyPatch) -> list[str]:
        """The requests that went the long way (`_Feeds.answer`)."""
        answered: list[str] = []
        answer = _Feeds.answer

        async def counting(feeds: _Feeds, scope: Any) -> Any:
            answered.append(scope["path"])
            return await answer(feeds, scope)

        monkeypatch.setattr(_Feeds, "answer", counting)
        return answered

    def test_a_repeated_poll_is_answered_from_memory(
        self, setup: Setup, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        answered = self.count_answers(monkeypatch)
        log = Lines()
        app = create_app(setup.cache, rate_limit=NO_LIMIT, access_log=log)
        first = call(app, "GET", setup.url())
        etag = (b"if-none-match", dict(first[0]["headers"])[b"etag"])
        assert [call(app, "GET", setup.url()) for _ in range(3)] == [first] * 3
        assert [call(app, "GET", setup.url(), headers=[etag])[0]["status"] for _ in range(3)] == [304] * 3
        assert call(app, "HEAD", setup.url())[1]["body"] == b""  # HEAD is not GET
        assert len(answered) == 3  # the first GET, the first conditional GET, the HEAD
        assert log.lines[-1] == "HEAD /feeds/***/org-sedena.ics 200"
        assert set(log.lines[:4]) == {"GET /feeds/***/org-sedena.ics 200"}

    def test_the_access_is_written_again_when_it_is_due(
        self, setup: Setup, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A remembered answer does not skip the write of the subscriber's last access."""
        from cycle.store.repository import list_subscribers

        answered = self.count_answers(monkeypatch)
        clock = [NOW]
        setup.cache.now = lambda: clock[0]
        app = create_app(setup.cache, rate_limit=NO_LIMIT)

        def last_access() -> dt.datetime | None:
            with setup.store.session() as session:
                [record] = list_subscribers(session)
                return record.last_access_at

        call(app, "GET", setup.url())
        clock[0] = NOW + ACCESS_WRITE_INTERVAL - dt.timedelta(seconds=1)
        call(app, "GET", setup.url())
        assert last_access() == NOW
        assert len(answered) == 1  # the write of the access changed no generation
        clock[0] = NOW + ACCESS_WRITE_INTERVAL
        call(app, "GET", setup.url())
        assert last_access() == NOW + ACCESS_WRITE_INTERVAL
        assert len(answered) == 2

    def test_an_answer_made_before_the_feeds_were_dropped_is_not_given_after(self, setup: Setup) -> None:
        """The race `FeedCache.remember` closes, as `route` does: an answer made from the
        feeds as they were, remembered after a change dropped them."""
        app = create_app(setup.cache, rate_limit=NO_LIMIT)
        scope = {"path": setup.url(), "method": "GET", "headers": [(b"host", b"testserver")]}
        call(app, "GET", setup.url())
        ready = setup.cache.ready(scope)
        assert ready is not None
        setup.store.transaction(
            lambda s: record_deliverable_action(
                s, key="c9/deliverable/-/read-ahead", action=Action.submit, actor="x", now=NOW
            )
        )
        setup.cache.refresh()
        assert setup.cache.ready(scope) is None
        setup.cache.remember(scope, ready)  # late, with the epoch it read
        assert setup.cache.ready(scope) is None

    def test_a_change_and_a_revocation_show_on_the_next_poll(
        self, setup_on: Setup, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """On both stores: steady polls come from memory; a recorded deliverable changes the
        very next answer, and a revocation refuses the very next poll."""
        setup = setup_on
        answered = self.count_answers(monkeypatch)
        app = create_app(setup.cache, rate_limit=NO_LIMIT)
        url = setup.url("deliverables")
        first = call(app, "GET", url)
        etag = (b"if-none-match", dict(first[0]["headers"])[b"etag"])
        assert [call(app, "GET", url, headers=[etag])[0]["status"] for _ in range(4)] == [304] * 4
        assert len(answered) == 2
        setup.store.transaction(
            lambda s: record_deliverable_action(
                s, key="c9/deliverable/-/read-ahead", action=Action.submit, actor="x", now=NOW
            )
        )
        changed = call(app, "GET", url, headers=[etag])
        assert changed[0]["status"] == 200
        assert changed[1]["body"] != first[1]["body"]
        assert call(app, "GET", url, headers=[etag])[0]["status"] == 200  # remembered: the new answer
        setup.store.transaction(lambda s: revoke_subscriber(s, name="SEDENA liaison", now=NOW, actor="test"))
        assert call(app, "GET", url, headers=[etag])[0]["status"] == 404

    def test_a_revocation_during_a_request_is_not_remembered_past(
        self, setup: Setup, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A refresh (worker threads run them: the store check, /healthz, /subscribe) lands
        while a request works out its feed, after it found its subscriber: that request may
        still get the feed, but nothing after it does."""
        wanted = _Feeds.wanted
        revoked: list[bool] = []

        def revoking(feeds: _Feeds, *args: Any) -> Any:
            if not revoked:
                revoked.append(True)
                setup.store.transaction(
                    lambda s: revoke_subscriber(s, name="SEDENA liaison", now=NOW, actor="test")
                )
                setup.cache.refresh()
            return wanted(feeds, *args)

        monkeypatch.setattr(_Feeds, "wanted", revoking)
        app = create_app(setup.cache, rate_limit=NO_LIMIT)
        assert call(app, "GET", setup.url(), b"lang=en")[0]["status"] == 200  # in flight
        assert [call(app, "GET", setup.url(), b"lang=en")[0]["status"] for _ in range(3)] == [404] * 3

    def test_a_remembered_poll_whose_store_check_fails_is_the_same_500(
        self, setup: Setup, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A commit, then a store that fails the check: a poll remembered before gets the same
        bare 500 and log lines as through Starlette, not its old answer."""
        fast = create_app(setup.cache, rate_limit=NO_LIMIT)
        slow = through_starlette(create_app(setup.cache, rate_limit=NO_LIMIT))
        for app in (fast, slow, fast):
            assert call(app, "GET", setup.url())[0]["status"] == 200
        remembered = {"path": setup.url(), "method": "GET", "headers": [(b"host", b"testserver")]}
        assert setup.cache.ready(remembered) is not None
        setup.store.transaction(
            lambda s: record_deliverable_action(
                s, key="c9/deliverable/-/read-ahead", action=Action.submit, actor="x", now=NOW
            )
        )

        def failing(_cache: Any) -> None:
            raise sqlite3.OperationalError("disk I/O error")

        monkeypatch.setattr(FeedCache, "refresh", failing)
        assert_same_bare_500(fast, slow, setup.url(), caplog)

    def test_a_large_request_is_answered_and_not_remembered(self, setup: Setup) -> None:
        """Each remembered request is at most MAX_POLL_BYTES: the memo's memory is bounded."""
        app = create_app(setup.cache, rate_limit=NO_LIMIT)
        padding = [(b"x-pad-%d" % n, b"y" * 100) for n in range(40)]
        assert call(app, "GET", setup.url(), headers=padding)[0]["status"] == 200
        assert len(setup.cache._polls) == 0
        assert call(app, "GET", setup.url(), headers=padding[:5])[0]["status"] == 200
        assert len(setup.cache._polls) == 1

    def test_a_request_under_a_root_path_is_answered_and_not_remembered(self, setup: Setup) -> None:
        """Behind a proxy's prefix (root_path), requests go through Starlette, which `_Front`
        never looks up in the memory: they are not kept there."""
        app = create_app(setup.cache, rate_limit=NO_LIMIT)
        path = "/calendars" + setup.url()

        def get() -> int:
            messages = asgi_messages(app, "GET", path, path.encode(), b"", [], root_path="/calendars")
            return int(messages[0]["status"])

        assert [get() for _ in range(2)] == [200, 200]
        assert len(setup.cache._polls) == 0

    def test_headers_as_lists_are_answered_and_not_remembered(self, setup: Setup) -> None:
        """ASGI allows each header as a two-item list: unhashable, so never remembered."""
        app = create_app(setup.cache, rate_limit=NO_LIMIT)
        for _ in range(2):
            assert call(app, "GET", setup.url(), headers=[[b"accept", b"text/calendar"]])[0]["status"] == 200
        assert len(setup.cache._polls) == 0

    def test_the_polls_kept_are_bounded(self, setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
        """Paths and headers come from clients: any number of them keep at most MAX_POLLS."""
        monkeypatch.setattr("calendars.server.MAX_POLLS", 3)
        app = create_app(setup.cache, rate_limit=NO_LIMIT)
        for number in range(7):
            assert call(app, "GET", setup.url(), headers=[(b"x-n", str(number).encode())])[0]["status"] == 200
            assert 1 <= len(setup.cache._polls) <= 3  # the bound is the point


class TestBufferedAccessLog:
    def test_the_lines_are_written_before_the_app_reports_its_shutdown(self, setup: Setup) -> None:
        """uvicorn ends the process right after the lifespan's shutdown on SIGTERM: the lines
        waiting are written by then."""
        stream = io.StringIO()
        app = create_app(setup.cache, access_log=BufferedAccessLog(stream))
        messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
        written_at_shutdown: list[str] = []

        async def receive() -> dict[str, Any]:
            return next(messages)

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                written_at_shutdown.append(stream.getvalue())

        async def serve() -> None:
            await app({"type": "http", "method": "GET", "path": "/nowhere", "headers": []}, receive, send)
            await app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)

        asyncio.run(serve())
        assert written_at_shutdown[0].endswith(" roundtable.feeds GET /nowhere 404\n")

    def test_a_line_is_what_logging_would_write(self) -> None:
        """The same text as `logging.Formatter(LOG_FORMAT)` for the same moment, ms truncated."""
        moment = 1_795_000_000.9996
        stream = io.StringIO()
        line = "GET /feeds/***/all.ics 304"
        BufferedAccessLog(stream, clock=lambda: moment)(line)
        record = logging.LogRecord(LOGGER, logging.INFO, __file__, 1, "%s", (line,), None)
        record.created, record.msecs = moment, int((moment - int(moment)) * 1000) + 0.0
        assert stream.getvalue() == logging.Formatter(LOG_FORMAT).format(record) + "\n"

    def test_lines_wait_at_most_the_flush_interval_on_the_loop(self) -> None:
        """On the loop, lines are written together, within FLUSH_SECONDS of the first."""
        stream = io.StringIO()
        access = BufferedAccessLog(stream)

        async def serve() -> tuple[str, str]:
            access("GET /healthz 200")
            access("GET /healthz 200")
            before = stream.getvalue()
            await asyncio.sleep(0.2)
            return before, stream.getvalue()

        started = time.monotonic()
        before, after = asyncio.run(serve())
        assert before == ""
        assert after.count(" roundtable.feeds GET /healthz 200\n") == 2
        assert time.monotonic() - started < 5

    def test_flush_writes_what_waits(self) -> None:
        """`feeds serve` flushes when the server stops: nothing is lost."""
        stream = io.StringIO()
        access = BufferedAccessLog(stream)

        async def serve() -> None:
            access("GET /healthz 200")

        asyncio.run(serve())
        assert stream.getvalue() == ""
        access.flush()
        assert stream.getvalue().endswith(" roundtable.feeds GET /healthz 200\n")
