"""The feed server over HTTP (Starlette's test client against the real ASGI app and a real
SQLite store): validators and 304s, HEAD, gzip, one 404 for every refused token, changes
visible on the next request, the subscription page in both languages."""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import logging
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from sqlalchemy import event

from calendars.server import redact
from calendars.tokens import new_token
from cycle.deliverable import Action
from cycle.store.repository import record_deliverable_action, revoke_subscriber
from tests.calendars.feedserver import NOW, Setup, asgi_messages


class TestFeedRequests:
    def test_a_feed_is_served_with_its_validators(self, setup: Setup) -> None:
        """200, text/calendar in UTF-8, a strong ETag, Last-Modified, private caching, nosniff."""
        response = setup.client.get(setup.url(), headers={"Accept-Encoding": "identity"})
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/calendar; charset=utf-8"
        assert response.headers["etag"].startswith('"')
        assert response.headers["last-modified"] == "Tue, 24 Nov 2026 15:00:00 GMT"
        assert response.headers["cache-control"] == "private, max-age=3600"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.content.startswith(b"BEGIN:VCALENDAR\r\n")
        assert b"X-WR-CALNAME:MRCMB: SEDENA" in response.content  # the subscriber's language

    @pytest.mark.parametrize("validator", ["If-None-Match", "If-Modified-Since"])
    def test_a_conditional_request_gets_304_without_a_body(self, setup: Setup, validator: str) -> None:
        """A client that has the current feed gets 304 on either validator, with the fields a
        cache updates (RFC 9110, 15.4.5) and no others: not Last-Modified (there is an ETag),
        nor the security headers (no content; the client keeps its stored 200's)."""
        first = setup.client.get(setup.url(), headers={"Accept-Encoding": "identity"})
        header = "etag" if validator == "If-None-Match" else "last-modified"
        again = setup.client.get(
            setup.url(), headers={validator: first.headers[header], "Accept-Encoding": "identity"}
        )
        assert again.status_code == 304
        assert again.content == b""
        assert dict(again.headers) == {
            "etag": first.headers["etag"],
            "cache-control": "private, max-age=3600",
            "vary": "Accept-Encoding",
        }

    def test_head_gives_the_headers_of_get_and_no_body(self, setup: Setup) -> None:
        """HEAD answers the length and validators GET would, with an empty body."""
        get = setup.client.get(setup.url(), headers={"Accept-Encoding": "identity"})
        head = setup.client.head(setup.url(), headers={"Accept-Encoding": "identity"})
        assert head.status_code == 200
        assert head.content == b""
        assert head.headers["content-length"] == str(len(get.content))
        assert head.headers["etag"] == get.headers["etag"]

    def test_gzip_when_asked_with_its_own_etag(self, setup: Setup) -> None:
        """Accept-Encoding: gzip gets the same feed compressed, and an ETag of its own."""
        plain = setup.client.get(setup.url(), headers={"Accept-Encoding": "identity"})
        raw = setup.client.get(setup.url(), headers={"Accept-Encoding": "gzip"})
        assert raw.headers["content-encoding"] == "gzip"
        assert raw.headers["etag"] != plain.headers["etag"]
        assert raw.headers["vary"] == "Accept-Encoding"
        assert raw.content == plain.content  # the client decodes it
        assert len(gzip.compress(plain.content)) < len(plain.content)

    def test_the_language_and_task_form_follow_the_query(self, setup: Setup) -> None:
        """?lang=en overrides the subscriber's Spanish; ?form=tasks gives VTODOs."""
        english = setup.client.get(setup.url(query="?lang=en"))
        tasks = setup.client.get(setup.url("deliverables", query="?form=tasks"))
        assert b"X-WR-CALNAME:BMCR: SEDENA" in english.content
        assert b"BEGIN:VTODO" in tasks.content
        assert b"BEGIN:VEVENT" not in tasks.content
        assert setup.client.get(setup.url(query="?lang=fr")).status_code == 400

    def test_a_change_shows_on_the_next_request(self, setup: Setup) -> None:
        """Recording a deliverable changes the feed's bytes and ETag at once; nothing else does."""
        first = setup.client.get(setup.url("deliverables"))
        assert setup.client.get(setup.url("deliverables")).headers["etag"] == first.headers["etag"]
        setup.store.transaction(
            lambda s: record_deliverable_action(
                s, key="c9/deliverable/-/read-ahead", action=Action.submit, actor="x", now=NOW
            )
        )
        after = setup.client.get(setup.url("deliverables"))
        assert after.headers["etag"] != first.headers["etag"]
        assert b"Estado: entregado" in after.content.replace(b"\r\n ", b"")

    def test_requests_arriving_together_share_the_store_check(self, setup: Setup) -> None:
        """Fifty polls at once all get their 304, after far fewer than fifty reads of the
        store's generation; a change recorded before the next poll still shows in it."""
        etag = setup.client.get(setup.url("deliverables")).headers["etag"]
        reads: list[str] = []

        def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if "max(change_log.id)" in statement:
                reads.append(statement)

        async def poll_together() -> list[int]:
            transport = httpx.ASGITransport(app=setup.client.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                answers = await asyncio.gather(
                    *(
                        client.get(setup.url("deliverables"), headers={"If-None-Match": etag})
                        for _ in range(50)
                    )
                )
            return [answer.status_code for answer in answers]

        event.listen(setup.store.engine, "before_cursor_execute", count)
        try:
            assert asyncio.run(poll_together()) == [304] * 50
        finally:
            event.remove(setup.store.engine, "before_cursor_execute", count)
        assert 1 <= len(reads) < 25
        setup.store.transaction(
            lambda s: record_deliverable_action(
                s, key="c9/deliverable/-/read-ahead", action=Action.submit, actor="x", now=NOW
            )
        )
        assert setup.client.get(setup.url("deliverables"), headers={"If-None-Match": etag}).status_code == 200


class TestRefusals:
    def test_unknown_revoked_and_foreign_requests_get_the_same_404(self, setup: Setup) -> None:
        """No hint: an unknown token, a revoked one and an audience the token lacks look alike."""
        revoked = setup.subscribe("old office", ["all"], "en")
        setup.store.transaction(lambda s: revoke_subscriber(s, name="old office", now=NOW, actor="test"))
        answers = [
            setup.client.get(setup.url(token=new_token())),
            setup.client.get(setup.url("all", token=revoked)),
            setup.client.get(setup.url("all")),  # the liaison holds org-sedena and deliverables only
            setup.client.get(setup.url("org-semar")),
            setup.client.get("/feeds/..%2F..%2Fetc/passwd.ics"),
            setup.client.get("/subscribe/" + new_token()),
            setup.client.get("/subscribe/" + revoked),
        ]
        assert {(a.status_code, a.text) for a in answers} == {(404, "Not Found\n")}

    def test_the_front_page_says_the_server_is_up_and_how_to_get_a_link(self, setup: Setup) -> None:
        """`/` (the address `roundtable up` prints) answers a page in both languages that
        names no subscriber and no feed; every other unknown path keeps the one 404."""
        setup.subscribe("SEMAR liaison", ["all"], "es")
        page = setup.client.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert page.headers["cache-control"] == "no-store"
        assert "default-src 'none'" in page.headers["content-security-policy"]
        assert "ask the secretariat for your link" in page.text
        assert "pida su enlace a la secretaría" in page.text
        assert "SEMAR liaison" not in page.text
        assert setup.token not in page.text
        assert "/feeds/" not in page.text
        others = [setup.client.get(path) for path in ("/index.html", "/feeds/", "/subscribe/")]
        assert {(a.status_code, a.text) for a in others} == {(404, "Not Found\n")}
        assert setup.client.request("POST", "/").status_code == 405

    def test_revoking_takes_effect_on_the_next_request(self, setup: Setup) -> None:
        """A token that worked a moment ago is refused right after `subscribers revoke`."""
        assert setup.client.get(setup.url()).status_code == 200
        setup.store.transaction(lambda s: revoke_subscriber(s, name="SEDENA liaison", now=NOW, actor="test"))
        assert setup.client.get(setup.url()).status_code == 404

    def test_tokens_never_reach_the_log(self, setup: Setup, caplog: pytest.LogCaptureFixture) -> None:
        """The access log shows `***` where the token was."""
        with caplog.at_level(logging.INFO, logger="roundtable.feeds"):
            setup.client.get(setup.url())
            setup.client.get(f"/subscribe/{setup.token}")
        assert setup.token not in caplog.text
        assert "GET /feeds/***/org-sedena.ics 200" in caplog.text
        assert redact("/subscribe/abc") == "/subscribe/***"


class TestSubscriptionPage:
    def test_the_page_lists_the_feeds_in_both_languages_with_webcal_and_https_links(
        self, setup: Setup
    ) -> None:
        """Spanish first for a Spanish subscriber, English after; links for every feed; strict CSP."""
        response = setup.client.get(f"/subscribe/{setup.token}")
        assert response.status_code == 200
        page = response.text
        assert page.index('<section lang="es">') < page.index('<section lang="en">')
        assert f'href="webcal://testserver/feeds/{setup.token}/org-sedena.ics?lang=es"' in page
        assert f'href="http://testserver/feeds/{setup.token}/deliverables.ics?lang=en"' in page
        assert "Sus suscripciones de calendario" in page
        assert "Your calendar subscriptions" in page
        assert "Thunderbird" in page
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["cache-control"] == "no-store"

    def test_names_on_the_page_are_escaped(self, setup: Setup) -> None:
        """A subscriber named like markup is shown as text."""
        token = setup.subscribe("<script>alert(1)</script>", ["all"], "en")
        page = setup.client.get(f"/subscribe/{token}").text
        assert "<script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page

    def test_last_access_is_recorded_without_a_write_per_request(self, setup: Setup) -> None:
        """The first request records the access; polling within ten minutes writes nothing more."""
        from cycle.store.repository import list_subscribers

        setup.client.get(setup.url())
        with setup.store.session() as session:
            [record] = list_subscribers(session)
            assert record.last_access_at == NOW
            marker = NOW - dt.timedelta(days=1)
            record.last_access_at = marker  # if the next poll wrote, this would be overwritten
            session.commit()
        setup.client.get(setup.url())
        with setup.store.session() as session:
            [record] = list_subscribers(session)
        assert record.last_access_at == marker
        assert setup.client.get("/healthz").json()["status"] == "ok"


def raw_get(app: Any, raw_path: bytes) -> tuple[int, dict[str, str], bytes]:
    """A GET whose path goes to the app byte for byte, as uvicorn passes `curl --path-as-is`
    (httpx would remove the dot segments first)."""
    path, _, query = raw_path.partition(b"?")
    sent = asgi_messages(app, "GET", unquote(path.decode("latin-1")), path, query, [(b"host", b"testserver")])
    start = sent[0]
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, b"".join(m.get("body", b"") for m in sent[1:])


TRAVERSALS = [
    "/feeds/{token}/%2e%2e/all.ics",
    "/feeds/{token}/%2E%2E%2Fall.ics",
    "/feeds/{token}/..%2Fall.ics",
    "/feeds/{token}/..%5Call.ics",
    "/feeds/{token}/..\\all.ics",
    "/feeds/{token}/org-sedena%2F..%2Fall.ics",
    "/feeds/{token}/org-sedena.ics%00",
    "/feeds/{token}%00/org-sedena.ics",
    "/feeds/%2e%2e%2f{token}/org-sedena.ics",
    "/feeds/{token}/org-sedena.ics/",
    "/subscribe/{token}%2F..",
    "/subscribe/..%2F{token}",
    "/subscribe/{token}/",
    "/%2e%2e/%2e%2e/etc/passwd",
]
LITERAL_DOTS = [
    b"/feeds/{token}/../{token}/all.ics",
    b"/feeds/{token}/./../all.ics",
    b"/subscribe/{token}/..",
    b"/feeds/../../etc/passwd",
    b"/feeds/{token}/..\\..\\all.ics",
]


class TestHostileRequests:
    @pytest.mark.parametrize("template", TRAVERSALS)
    def test_encoded_dot_segments_backslashes_and_nul_get_the_one_404(
        self, setup: Setup, template: str
    ) -> None:
        """Encoded `..`, backslashes, NUL and trailing slashes reach nothing: the same 404 as an
        unknown token, with its security headers (the server reads no files, and an audience is
        matched whole)."""
        response = setup.client.get(template.format(token=setup.token))
        assert (response.status_code, response.text) == (404, "Not Found\n")
        assert response.headers["x-content-type-options"] == "nosniff"

    @pytest.mark.parametrize("template", LITERAL_DOTS)
    def test_literal_dot_segments_sent_as_is_get_the_one_404(self, setup: Setup, template: bytes) -> None:
        """`..` that no client library would have removed: still the same 404."""
        app = setup.client.app
        status, headers, body = raw_get(app, template.replace(b"{token}", setup.token.encode()))
        assert (status, body) == (404, b"Not Found\n")
        assert headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"

    @pytest.mark.parametrize(
        ("method", "path", "status"),
        [
            ("GET", "/feeds/{token}/org-sedena.ics", 200),
            ("GET", "/feeds/{token}/org-sedena.ics?lang=fr", 400),
            ("GET", "/feeds/{token}/all.ics", 404),
            ("POST", "/feeds/{token}/org-sedena.ics", 405),
            ("DELETE", "/subscribe/{token}", 405),
            ("GET", "/healthz", 200),
            ("GET", "/subscribe/{token}", 200),
        ],
    )
    def test_every_response_carries_nosniff_and_a_restrictive_csp(
        self, setup: Setup, method: str, path: str, status: int
    ) -> None:
        """Feeds, pages, refusals and the health check: nosniff, no referrer, `default-src 'none'`."""
        response = setup.client.request(method, path.format(token=setup.token))
        assert response.status_code == status
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["content-security-policy"].startswith("default-src 'none'; ")
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]

    def test_a_fault_is_a_bare_500_and_one_error_line_without_the_token(
        self, setup: Setup, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A store that turned into junk under the server: 500 with no detail, one redacted error
        line and the access line, and neither the token nor a traceback in any log."""
        setup.store.dispose()
        Path(setup.store.description.removeprefix("sqlite:///")).write_bytes(b"junk " * 1000)
        with caplog.at_level(logging.INFO):
            response = setup.client.get(setup.url())
        assert (response.status_code, response.text) == (500, "Internal Server Error\n")
        assert response.headers["x-content-type-options"] == "nosniff"
        server_side = [r for r in caplog.records if not r.name.startswith("httpx")]  # httpx: the client
        assert [(r.levelname, r.getMessage()) for r in server_side] == [
            (
                "ERROR",
                "GET /feeds/***/org-sedena.ics failed: StoreError: cannot use the store at "
                f"{setup.store.description}: file is not a database",
            ),
            ("INFO", "GET /feeds/***/org-sedena.ics 500"),
        ]
        assert all(r.exc_info is None for r in server_side)  # no traceback
        assert not any(setup.token in r.getMessage() for r in server_side)
