"""`roundtable up` as an operator runs it: the Prefect server and UI, the deployments and
the feed server start together on loopback, their addresses are printed, and one Ctrl-C
(SIGINT) stops them all."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from flows.catalog import DEPLOYMENTS
from tests.flows.test_end_to_end import _free_port, _wait

pytestmark = pytest.mark.slow

VENV_BIN = Path(sys.executable).parent


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_up_starts_every_service_and_one_ctrl_c_stops_them_all(tmp_path: Path) -> None:
    """On a fresh store: the open cycle is planned first and the cycle's status reaches the
    server without any flow run; the UI, API, deployments and feed server (its front page
    too) answer; SIGINT ends everything with exit 0."""
    port, feeds_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "ROUNDTABLE_"))}
    env |= {
        "ROUNDTABLE_HOME": str(tmp_path / "home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
    roundtable = str(VENV_BIN / "roundtable")
    out = tmp_path / "up.out"
    with out.open("wb") as sink:
        up = subprocess.Popen(
            [roundtable, "up", "--port", str(port), "--feeds-port", str(feeds_port)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait("the addresses", lambda: "Ctrl-C stops everything" in out.read_text(), 120)
        printed = out.read_text()
        assert f"Prefect UI:   http://127.0.0.1:{port}/" in printed
        assert f"Feed server:  http://127.0.0.1:{feeds_port}/" in printed
        api = f"http://127.0.0.1:{port}/api"
        assert httpx.get(f"{api}/health", timeout=5).status_code == 200
        ui = httpx.get(f"http://127.0.0.1:{port}/v2/", headers={"Accept": "text/html"}, timeout=5)
        assert ui.status_code == 200
        assert "<html" in ui.text.lower()
        assert httpx.get(f"http://127.0.0.1:{feeds_port}/healthz", timeout=5).json()["status"] == "ok"
        front = httpx.get(f"http://127.0.0.1:{feeds_port}/", timeout=5)
        assert (front.status_code, "ask the secretariat for your link" in front.text) == (200, True)
        opened = re.search(r"Planned and opened cycle (\d+) ", printed)
        assert opened, printed

        def served() -> bool:
            response = httpx.get(
                f"{api}/deployments/name/check-overdue/{DEPLOYMENTS['check-overdue'].title}", timeout=5
            )
            return response.status_code == 200

        _wait("the deployments", served, 90)

        def status_shown() -> bool:
            key = f"cycle-{opened.group(1)}-status"
            response = httpx.post(
                f"{api}/artifacts/filter", json={"artifacts": {"key": {"any_": [key]}}}, timeout=5
            )
            return response.status_code == 200 and bool(response.json())

        _wait("the cycle's status on the server", status_shown, 60)

        ran = subprocess.run(
            [roundtable, "run", "--json"], env=env, capture_output=True, text=True, timeout=300, check=False
        )
        assert ran.returncode == 0, ran.stderr
        assert json.loads(ran.stdout)["prefect"] == {"mode": "up", "api": api}
        overdue = httpx.post(
            f"{api}/flow_runs/filter",
            json={
                "flow_runs": {"name": {"like_": "-check-overdue"}, "state": {"type": {"any_": ["COMPLETED"]}}}
            },
            timeout=5,
        ).json()
        assert overdue, "roundtable run's check-overdue run is not on up's server"
        up.send_signal(signal.SIGINT)
        assert up.wait(timeout=60) == 0, out.read_text()
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()
    deadline = time.monotonic() + 10
    while (_listening(port) or _listening(feeds_port)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _listening(port), "the Prefect server outlived `roundtable up`"
    assert not _listening(feeds_port), "the feed server outlived `roundtable up`"
    assert not (tmp_path / "home" / "up.json").exists()
    alone = subprocess.run(
        [roundtable, "run", "--json"], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert alone.returncode == 0, alone.stderr
    assert json.loads(alone.stdout)["prefect"] == {"mode": "ephemeral", "api": None}
    assert "Stopping ..." in out.read_text()
