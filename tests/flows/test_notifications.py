"""Notifications end to end: a real `prefect server start`, the automations that
`roundtable automations install --webhook` creates, the check-overdue flow run against the
server, and a real webhook receiver on loopback that counts what arrives."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.flows.test_end_to_end import (  # noqa: F401 - fixtures used by name
    VENV_BIN,
    Services,
    _wait,
    prefect_database,
    prefect_server,
)

pytestmark = pytest.mark.slow

CHECK_DAY = dt.date(2025, 10, 14)
"""Cycle 9 on 14 October 2025: two agendas 5 and 10 working days late (escalated to the
body's chairs), one agenda due that day (a reminder): five notices. (The shared server
fixture also hands in the executive session's inputs, due in 2026: they change nothing.)"""


class Receiver:
    """A webhook endpoint on loopback that keeps every JSON body posted to it."""

    def __init__(self) -> None:
        received: list[dict[str, Any]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                del args

        self.received = received
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/roundtable"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _roundtable(services: Services, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "roundtable"), *args],
        env=services.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _check(services: Services) -> None:
    """Run the check-overdue flow as a scheduled run would, against the server."""
    _python(
        services,
        "import datetime; from flows.check_overdue import check_overdue; "
        f"check_overdue(cycle=9, as_of=datetime.date.fromisoformat('{CHECK_DAY}'))",
    )


def _python(services: Services, code: str) -> None:
    """Run Python against the server, as another process (a scheduled run, an operator)."""
    done = subprocess.run(
        [str(VENV_BIN / "python"), "-c", code],
        env=services.env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def _operator_block(services: Services, url: str) -> None:
    """A notification block an operator made in the UI (here: another Custom Webhook)."""
    _python(
        services,
        "from prefect.blocks.notifications import CustomWebhookNotificationBlock as B; "
        f"B(name='secretariat', url='{url}', json_data={{'text': '{{{{subject}}}}'}})"
        ".save('secretariat-desk', overwrite=True)",
    )


@pytest.mark.parametrize(
    ("prefect_database", "database_url"), [("sqlite", "sqlite")], indirect=True, ids=["prefect-on-sqlite"]
)
def test_each_notice_reaches_the_webhook_once(
    prefect_server: Services,  # noqa: F811 - the fixture imported above
) -> None:
    """Install the automations, run the check twice: the webhook gets exactly one
    notification per reminder, overdue deliverable and escalation, none on the re-run,
    and so does a notification block the operator configured."""
    server = prefect_server
    with Receiver() as receiver, Receiver() as desk:
        _operator_block(server, desk.url)
        args = [
            "automations",
            "install",
            "--webhook",
            receiver.url,
            "--block",
            "custom-webhook/secretariat-desk",
        ]
        installed = _roundtable(server, *args, "--json")
        assert installed.returncode == 0, installed.stderr
        assert [(a["name"], a["blocks"]) for a in json.loads(installed.stdout)] == [
            (
                f"roundtable: deliverable {n}",
                ["custom-webhook/roundtable-webhook", "custom-webhook/secretariat-desk"],
            )
            for n in ("due-soon", "overdue", "escalated")
        ]
        again = _roundtable(server, *args, "--json")
        assert again.returncode == 0, again.stderr
        missing = _roundtable(server, "automations", "install", "--block", "custom-webhook/nobody")
        assert (missing.returncode, missing.stderr.count("\n")) == (2, 1)
        assert "no such block on the Prefect server" in missing.stderr
        automations = server.post("/automations/filter", {})
        assert sorted(a["name"] for a in automations) == [
            "roundtable: deliverable due-soon",
            "roundtable: deliverable escalated",
            "roundtable: deliverable overdue",
        ]
        time.sleep(5)  # the server's trigger service picks up new automations
        _check(server)
        _wait("five notifications", lambda: len(receiver.received) >= 5 and len(desk.received) >= 5, 90)
        _check(server)
        time.sleep(15)
        assert len(desk.received) == 5
        assert sorted(r["text"] for r in desk.received) == sorted(r["subject"] for r in receiver.received)
        bodies = sorted(
            (json.loads(r["body"]) for r in receiver.received), key=lambda b: (b["notice"], b["key"])
        )
        assert [(b["notice"], b["key"], b["level"]) for b in bodies] == [
            ("due-soon", "c9/deliverable/wg-information-sharing/agenda-1", None),
            ("escalated", "c9/deliverable/sst-army/agenda-1", "body-chairs"),
            ("escalated", "c9/deliverable/wg-c2-interoperability/agenda-1", "body-chairs"),
            ("overdue", "c9/deliverable/sst-army/agenda-1", "owner"),
            ("overdue", "c9/deliverable/wg-c2-interoperability/agenda-1", "owner"),
        ]
        subjects = sorted(r["subject"] for r in receiver.received)
        assert subjects[0] == (
            "Roundtable escalation to Chairs of the owning body: Agenda for Army Service Staff Talks "
            "(U.S. Army North – Mexican Army): meeting 1 is 10 working days late"
        )


def test_install_without_a_server_or_a_target_is_one_line(tmp_path: Path) -> None:
    """No PREFECT_API_URL, or nowhere to send: exit 2 with one line."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API_URL", "ROUNDTABLE_"))}
    env["ROUNDTABLE_HOME"] = str(tmp_path / "home")
    done = subprocess.run(
        [str(VENV_BIN / "roundtable"), "automations", "install", "--webhook", "http://127.0.0.1:9/x"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.count("\n") == 1
    assert "PREFECT_API_URL is not set" in done.stderr
