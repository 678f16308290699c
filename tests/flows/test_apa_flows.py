"""Amending the APA from the Prefect UI: the `amend-apa` flow's parameters are the form,
and it stores exactly what `roundtable apa amend` stores; a bad parameter fails the run
with the CLI's line and changes nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

import flows.common
from flows.recording import amend_apa
from tests.apa import AZTEC_ALLIGATOR, STAFF_EXCHANGE
from tests.flows.conftest import Api, run

AZTEC = AZTEC_ALLIGATOR.key.to_string()
REASON = "Hurricane season"


def stored_rows() -> dict[str, list[tuple[Any, ...]]]:
    """What an amendment writes, without the instants and ids that differ between runs."""
    store = flows.common.context().store
    with store.connection() as connection:
        read = {
            "apa_version": "SELECT cycle, version, kind, activities, change, reason, decided_by, gate "
            "FROM apa_version ORDER BY version",
            "activity_item": "SELECT key, first_day, last_day, status, revision FROM planned_item "
            "WHERE kind = 'activity' ORDER BY key",
            "change_log": "SELECT actor, action, cycle, item_key, detail FROM change_log "
            "WHERE action IN ('apa-amended', 'replanned') ORDER BY id",
        }
        return {name: [tuple(row) for row in connection.exec_driver_sql(sql)] for name, sql in read.items()}


@pytest.fixture
def amended_by_cli(
    apa_validated: Path, capsys: pytest.CaptureFixture[str]
) -> dict[str, list[tuple[Any, ...]]]:
    """The rows `roundtable apa amend` writes for a reschedule, from the validated store."""
    from tests.flows.test_cli import Cli

    del apa_validated
    code, _, err = Cli(capsys)(
        *("apa", "amend", AZTEC, "--reason", REASON, "--first", "2027-05-10", "--last", "2027-05-21"),
        *("--by", "secretariat"),
    )
    assert code == 0, err
    rows = stored_rows()
    flows.common.context().store.dispose()
    flows.common._cached_context.cache_clear()
    return rows


class TestAmendApaFlow:
    def test_the_flow_stores_what_the_cli_stores(
        self, api: Api, amended_by_cli: dict[str, list[tuple[Any, ...]]], store_at: Any
    ) -> None:
        """The same amendment through the deployment's parameters and through the CLI gives
        the same version, the same re-planned item and the same log; the run shows the
        amended APA in the cycle's views itself."""
        store_at("apa-validated")
        done = run(
            amend_apa,
            activity=AZTEC,
            change="reschedule",
            reason=REASON,
            first_day=dt.date(2027, 5, 10),
            last_day=dt.date(2027, 5, 21),
            by="secretariat",
        )
        assert done.state.message == f"cycle 9: APA version 2 (reschedule {AZTEC})"
        rows = stored_rows()
        assert rows == amended_by_cli
        assert [r[:3] for r in rows["apa_version"]] == [(9, 1, "validated"), (9, 2, "amendment")]
        assert (AZTEC, dt.date(2027, 5, 10), dt.date(2027, 5, 21), "planned", 1) in [
            (k, dt.date.fromisoformat(str(f)), dt.date.fromisoformat(str(last)), s, r)
            for k, f, last, s, r in rows["activity_item"]
        ]
        assert {"cycle-9-console", "cycle-9-apa"} <= set(api.artifacts(done))

    @pytest.mark.usefixtures("apa_validated")
    @pytest.mark.parametrize(
        ("parameters", "message"),
        [
            (
                {"activity": AZTEC, "change": "drop", "reason": " ", "by": "secretariat"},
                "reason: an amendment needs a reason",
            ),
            (
                {"activity": STAFF_EXCHANGE.key.to_string(), "change": "drop", "reason": "r", "by": "x"},
                f"{STAFF_EXCHANGE.key}: is not in the APA of cycle 9 (version 1)",
            ),
            (
                {"activity": AZTEC, "change": "reschedule", "reason": "r", "by": "x"},
                "first_day, last_day: a reschedule gives both new dates",
            ),
            (
                {
                    "activity": AZTEC,
                    "change": "drop",
                    "reason": "r",
                    "by": "x",
                    "first_day": dt.date(2027, 5, 1),
                },
                "first_day, last_day: only a reschedule takes new dates, not drop",
            ),
            (
                {"activity": "c9/gate/-/apa-validation", "change": "drop", "reason": "r", "by": "x"},
                "'c9/gate/-/apa-validation' is not an activity key "
                "(like c9/activity/sst-navy/aztec-alligator-2027)",
            ),
        ],
        ids=[
            "no-reason",
            "not-in-the-apa",
            "reschedule-without-dates",
            "dates-for-a-drop",
            "not-an-activity",
        ],
    )
    def test_a_bad_parameter_fails_the_run_with_one_line_and_changes_nothing(
        self, api: Api, parameters: dict[str, Any], message: str
    ) -> None:
        before = stored_rows()
        done = run(amend_apa, **parameters)
        assert (done.state.name, done.state.message, done.state.is_failed()) == (
            "InvalidInput",
            message,
            True,
        )
        stored = api.flow_run(done).state
        assert stored is not None
        assert (stored.name, stored.message) == ("InvalidInput", message)
        assert stored_rows() == before


def test_the_deployment_form_takes_dates_as_text_and_only_the_three_changes() -> None:
    """What the UI or `prefect deployment run --param` sends is text: the dates are read as
    dates, and a change other than add, drop or reschedule is refused before the run."""
    from prefect.exceptions import ParameterTypeError

    given = {"activity": AZTEC, "change": "reschedule", "reason": "r", "by": "x"}
    checked = amend_apa.validate_parameters({**given, "first_day": "2027-05-10", "last_day": "2027-05-21"})
    assert (checked["first_day"], checked["last_day"]) == (dt.date(2027, 5, 10), dt.date(2027, 5, 21))
    with pytest.raises(ParameterTypeError):
        amend_apa.validate_parameters({**given, "change": "move"})
    with pytest.raises(ParameterTypeError):
        amend_apa.validate_parameters({**given, "first_day": "2027-02-30"})
