"""An operator at the Prefect UI, in a real browser: Debian's chromium driven by
Playwright, against a real `roundtable up` on loopback ports and a fresh store.

The operator opens a blocked executive-session run, reaches the cycle's console from it,
sees the missing inputs and the late APA gate, reads the overdue table, and, once the
inputs are in, answers the APA validation in the run's form: first wrongly (an approval
without an activity), which the same run asks again with the reason, then rightly. The
console then shows the APA validated and the observation visit next, and draws the
cycle's timeline. The observation visit's run then asks for the exercise: a rejection
without its reason is asked again, then the operator approves the selection and the
console shows the visit done and the assessment next. Last, a deliverable is recorded from *Record a
deliverable*'s form, picked from its list. Screenshots at 1440×900 are kept in
test-output/.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from cycle.context import open_context
from cycle.deliverable import Action
from cycle.operations import record
from cycle.settings import settings_from_env
from flows.catalog import DEPLOYMENTS
from flows.timeline import WIDTH as TIMELINE_WIDTH
from tests.apa import SELECTED, propose_inputs, propose_sample
from tests.flows.conftest import EXECUTIVE_INPUTS
from tests.flows.test_end_to_end import SCREENSHOTS, VENV_BIN, _free_port, _wait, call, system_chromium

pytestmark = pytest.mark.slow

AS_OF = "2026-12-07"
"""The day the runs are about: cycle 9, four months after the executive session's date."""
CHOSEN = (
    "Combined exercise Fuerzas Amigas 2027 · 13 Apr 2027 to 22 Apr 2027 · SEDENA",
    "Combined exercise Phoenix/Aztec Alligator 2027 · 08 Jun 2027 to 18 Jun 2027 · SEMAR",
)
VIEWPORT = {"width": 1440, "height": 900}
VISIT_DAY = "2026-12-15"
"""The exercise selection is asked once its date (14 December) has come."""
EXERCISE = CHOSEN[0]


@dataclass
class Up:
    ui: str
    api: str
    home: Path

    def run(self, flow: str, **parameters: Any) -> str:
        """Start a deployment's run, as Run → Custom run does; its id."""
        name = DEPLOYMENTS[flow].title
        deployment = call("GET", f"{self.api}/deployments/name/{flow}/{name}")
        created = call(
            "POST", f"{self.api}/deployments/{deployment['id']}/create_flow_run", {"parameters": parameters}
        )
        return str(created["id"])

    def state(self, run_id: str) -> dict[str, Any]:
        state: dict[str, Any] = call("GET", f"{self.api}/flow_runs/{run_id}")["state"]
        return state

    def ended(self, run_id: str) -> dict[str, Any]:
        final = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")
        return _wait(f"run {run_id} to end", lambda: (s := self.state(run_id))["type"] in final and s, 180)

    def paused(self, run_id: str, pause_key: str) -> None:
        def waiting() -> bool:
            state = self.state(run_id)
            if state["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
                pytest.fail(f"run {run_id} ended {state['name']}: {state.get('message')}")
            return state["type"] == "PAUSED" and state["state_details"].get("pause_key") == pause_key

        _wait(f"run {run_id} to wait at {pause_key}", waiting, 180)


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    system_chromium()
    port, feeds_port = _free_port(), _free_port()
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "ROUNDTABLE_"))}
    env |= {"ROUNDTABLE_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
    out = tmp_path / "up.out"
    with out.open("wb") as sink:
        process = subprocess.Popen(
            [str(VENV_BIN / "roundtable"), "up", "--port", str(port), "--feeds-port", str(feeds_port)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait("roundtable up", lambda: "Ctrl-C stops everything" in out.read_text(), 120)
        served = Up(ui=f"http://127.0.0.1:{port}", api=f"http://127.0.0.1:{port}/api", home=home)
        title = DEPLOYMENTS["executive-session"].title

        def deployed() -> bool:
            url = f"{served.api}/deployments/name/executive-session/{title}"
            return httpx.get(url, timeout=5).status_code == 200

        _wait("the deployments", deployed, 90)
        yield served
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _inputs_in(home: Path) -> None:
    """The bodies propose and the secretariat records every input the session requires,
    as `roundtable apa propose` and `roundtable deliverables submit` would."""
    ctx = open_context(settings_from_env({"ROUNDTABLE_HOME": str(home)}))
    propose_sample(ctx)
    propose_inputs(ctx, EXECUTIVE_INPUTS)
    now = dt.datetime.now(dt.UTC)
    for key in EXECUTIVE_INPUTS:
        record(ctx, key=key, action=Action.submit, actor="secretariat", now=now)


def _open_artifact(page: Page, up: Up, run_id: str, key: str, heading: str) -> str:
    """From the run's page, the Artifacts tab, then the artifact's card: its text, once
    the rendered markdown shows `heading` (the page draws the card's frame first)."""
    page.goto(f"{up.ui}/runs/flow-run/{run_id}")
    page.get_by_text("Artifacts", exact=True).first.click()
    [latest, *_] = call(
        "POST",
        f"{up.api}/artifacts/filter",
        {"artifacts": {"key": {"any_": [key]}, "flow_run_id": {"any_": [run_id]}}, "sort": "CREATED_DESC"},
    )
    # A run that waited shows two versions of the console: the card of the latest one.
    page.locator(f"a[href*='{latest['id']}']").first.click()
    page.wait_for_url(f"**/artifacts/artifact/{latest['id']}")
    page.wait_for_load_state("networkidle")
    page.get_by_text(heading).first.wait_for(timeout=30_000)
    return page.inner_text("main") if page.locator("main").count() else page.inner_text("body")


def _fits(page: Page) -> None:
    """Nothing on the page needs sideways scrolling: neither the page nor any table."""
    wide = page.evaluate(
        """() => [document.scrollingElement.scrollWidth - window.innerWidth,
                  ...[...document.querySelectorAll('table')].map(
                      t => t.scrollWidth - t.parentElement.clientWidth)]"""
    )
    assert max(wide) <= 1, wide


def _choose(page: Page, field: str, options: tuple[str, ...]) -> None:
    """Open a multiple choice of the form (by its title) and tick `options`."""
    control = page.locator(".p-modal .schema-form-property", has_text=field).locator(
        "button.p-select-button__control"
    )
    control.focus()
    page.keyboard.press("ArrowDown")
    for option in options:
        page.get_by_role("option", name=option, exact=True).click()
    _close_the_list(page, options[-1])


def _close_the_list(page: Page, option: str) -> None:
    """Close an open choice list, as a person does who clicks beside it when Escape did not
    close it: a click on Submit while it is open only closes the list."""
    shown = page.get_by_role("option", name=option, exact=True)
    page.keyboard.press("Escape")
    for _ in range(3):
        try:
            shown.wait_for(state="hidden", timeout=3_000)
        except PlaywrightTimeout:
            page.locator(".p-modal").get_by_text("Resume Flow Run").click()
        else:
            return
    shown.wait_for(state="hidden", timeout=3_000)


def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"operator-{name}.png"))


def test_an_operator_validates_the_apa_from_the_console(up: Up) -> None:
    planned = up.ended(up.run("plan-cycle", cycle=9, as_of=AS_OF))
    assert planned["type"] == "COMPLETED", planned
    blocked = up.run("executive-session", cycle=9, as_of=AS_OF)
    assert up.ended(blocked)["name"] == "NotReady"
    overdue = up.run("check-overdue", cycle=9, as_of=AS_OF)
    assert up.ended(overdue)["name"] == "Overdue"

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=system_chromium(), args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport=VIEWPORT)  # type: ignore[arg-type]

        console = _open_artifact(page, up, blocked, "cycle-9-console", "Cycle 9 · as of")
        assert "Cycle 9 · as of 2026-12-07" in console
        assert "The flows are at Executive session, not started" in console
        assert "26 required inputs are not in for Executive session" in console
        assert "Tri-chairs validate the Annual Plan of Acti" in console
        assert "125 days late" in console
        _shot(page, "console-blocked")
        _fits(page)

        table = _open_artifact(page, up, overdue, "cycle-9-overdue", "sst-army/agenda-1")
        for column in ("level", "owner", "key", "due", "late"):
            assert column in table
        _shot(page, "overdue")
        _fits(page)

        _inputs_in(up.home)
        asked = up.run("executive-session", cycle=9, as_of=AS_OF)
        up.paused(asked, "apa-validation")
        page.goto(f"{up.ui}/runs/flow-run/{asked}")
        page.get_by_role("button", name="Resume").click()
        modal = page.locator(".p-modal")
        modal.get_by_text("Tri-chairs validate the Annual Plan of Activities").wait_for()
        modal.locator(".schema-form-property", has_text="APA validated").get_by_role("switch").click()
        _choose(page, "Tri-chairs who decided", ("USNORTHCOM", "SEDENA", "SEMAR"))
        modal.get_by_role("button", name="Submit").click()

        up.paused(asked, "apa-validation-2")
        page.reload()
        page.get_by_role("button", name="Resume").click()
        refused = (
            "The last answer was refused: validated_activities: an approved APA lists at least one activity."
        )
        modal.get_by_text(refused).wait_for()
        _choose(page, "Validated activities", CHOSEN)
        _shot(page, "form")
        modal.get_by_role("button", name="Submit").click()
        final = up.ended(asked)
        assert (final["type"], final["name"]) == ("COMPLETED", "Completed"), final

        console = _open_artifact(page, up, asked, "cycle-9-console", "Cycle 9 · as of")
        assert "The flows are at Observation visit, open" in console
        assert (
            "Tri-chairs validate the Annual Plan of Activities: approved by usnorthcom, sedena, semar"
            in console
        )
        assert "2 activities validated" in console
        _shot(page, "console-validated")
        _fits(page)
        picture = page.locator("img[src^='data:image/svg+xml']").first
        picture.scroll_into_view_if_needed()
        assert picture.evaluate("image => image.naturalWidth") == TIMELINE_WIDTH
        _shot(page, "console-timeline")

        chosen = up.run("observation-visit", cycle=9, as_of=VISIT_DAY)
        up.paused(chosen, "exercise-selection")
        page.goto(f"{up.ui}/runs/flow-run/{chosen}")
        page.get_by_role("button", name="Resume").click()
        modal.get_by_text("Exercise or training / Ejercicio o adiestramiento").wait_for()
        exercise = modal.locator(".schema-form-property", has_text="Exercise or training").last
        exercise.locator("button.p-select-button__control").focus()
        page.keyboard.press("ArrowDown")
        page.get_by_role("option", name=EXERCISE, exact=True).click()
        _choose(page, "Tri-chairs who decided", ("SEDENA", "SEMAR"))
        _shot(page, "exercise-form-rejected")
        modal.get_by_role("button", name="Submit").click()  # not approved, and no reason given

        up.paused(chosen, "exercise-selection-2")
        page.reload()
        page.get_by_role("button", name="Resume").click()
        modal.get_by_text(
            "The last answer was refused: notes: a rejection needs a reason in the notes"
        ).wait_for()
        assert EXERCISE in modal.inner_text()  # the answer given is offered again
        modal.locator(".schema-form-property", has_text="Exercise selected").get_by_role("switch").click()
        _shot(page, "exercise-form")
        modal.get_by_role("button", name="Submit").click()
        final = up.ended(chosen)
        assert (final["type"], final["name"]) == ("COMPLETED", "Completed"), final

        console = _open_artifact(page, up, chosen, "cycle-9-console", "Cycle 9 · as of")
        assert "The flows are at Assessment" in console
        assert f"the visit observes {SELECTED}" in console  # the key, shown as code
        _shot(page, "console-exercise")
        _fits(page)

        recorded = _record_from_the_form(page, up, "sst-army/agenda-1")
        assert (recorded["type"], recorded["message"]) == (
            "COMPLETED",
            "c9/deliverable/sst-army/agenda-1: submitted",
        )
        browser.close()


def _record_from_the_form(page: Page, up: Up, key: str) -> dict[str, Any]:
    """*Record a deliverable* → Run → Custom run: pick the deliverable from the list, say
    it was handed in, by whom, and submit; the run's final state."""
    title = DEPLOYMENTS["record-deliverable"].title
    deployment = call("GET", f"{up.api}/deployments/name/record-deliverable/{title}")
    page.goto(f"{up.ui}/deployments/deployment/{deployment['id']}/run")
    page.get_by_text("Pick it from cycle 9's deliverables").wait_for()

    def pick(field: str, option: str) -> None:
        property_ = page.locator(".schema-form-property", has_text=field).first
        property_.locator("button.p-select-button__control").focus()
        page.keyboard.press("ArrowDown")
        page.get_by_role("option", name=option).first.click()

    pick("Pick it from cycle 9's deliverables", f"{key} · ")
    pick("What happened", "submit")
    page.locator(".schema-form-property", has_text="Who records it").locator("textarea, input").first.fill(
        "Maj. Ruiz"
    )
    _shot(page, "record-form")
    page.get_by_role("button", name="Submit", exact=True).click()

    def run_of_the_form() -> str | None:
        runs = call(
            "POST",
            f"{up.api}/flow_runs/filter",
            {"flow_runs": {"name": {"like_": f"record-deliverable-submit-{key}"}}},
        )
        return str(runs[0]["id"]) if runs else None

    return up.ended(_wait("the recording run", run_of_the_form, 60))
