"""The objectives' rules: the lifecycle, the key, what carries over, and the checks on
what people type (body, horizon, line of effort, owner, title, indicators, ratings)."""

from __future__ import annotations

import datetime as dt

import pytest

from cycle.cycles import cycle_by_number
from cycle.errors import InputError, TransitionError
from cycle.objectives import (
    NewObjective,
    ObjectiveKey,
    ObjectiveStatus,
    carries_over,
    check_indicators,
    check_new_objective,
    check_note,
    check_percent,
    check_rating,
    check_title,
    is_final,
    transition,
)
from cycle.program import Program

S = ObjectiveStatus


class TestLifecycle:
    @pytest.mark.parametrize(
        ("before", "after"),
        [(S.proposed, S.active), (S.proposed, S.dropped), (S.active, S.achieved), (S.active, S.dropped)],
    )
    def test_allowed_transitions_move_the_status(self, before: S, after: S) -> None:
        """proposed -> active|dropped and active -> achieved|dropped are the moves."""
        assert transition(before, after) is after

    @pytest.mark.parametrize("status", list(S))
    def test_no_new_status_or_the_same_one_changes_nothing(self, status: S) -> None:
        """A progress record without a new status keeps it, even a final one."""
        assert transition(status, None) is status
        assert transition(status, status) is status

    @pytest.mark.parametrize(
        ("before", "after", "message"),
        [
            (S.proposed, S.achieved, "k is proposed: it can become active or dropped, not achieved"),
            (S.active, S.proposed, "k is active: it can become achieved or dropped, not proposed"),
            (S.achieved, S.active, "k is achieved, which is final: it cannot become active"),
            (S.dropped, S.active, "k is dropped, which is final: it cannot become active"),
        ],
    )
    def test_other_moves_are_refused_with_where_it_may_go(self, before: S, after: S, message: str) -> None:
        """A refused move names the allowed ones, or says the status is final."""
        with pytest.raises(TransitionError) as caught:
            transition(before, after, key="k")
        assert str(caught.value) == message

    def test_achieved_and_dropped_are_final_and_do_not_carry_over(self) -> None:
        """Only proposed and active objectives go on into the next cycle."""
        assert [s.value for s in S if is_final(s)] == ["achieved", "dropped"]
        assert [s.value for s in S if carries_over(s)] == ["proposed", "active"]


class TestKey:
    def test_key_round_trips_through_its_text(self) -> None:
        key = ObjectiveKey("wg-logistics", "shared-fuel-doctrine")
        assert key.to_string() == "wg-logistics/shared-fuel-doctrine"
        assert ObjectiveKey.from_string(key.to_string()) == key

    @pytest.mark.parametrize(
        "text", ["", "wg-logistics", "WG/x", "wg/x/y", "wg/-x", "wg/x ", f"wg/{'a' * 61}"]
    )
    def test_bad_key_text_is_one_line_input_error(self, text: str) -> None:
        with pytest.raises(InputError) as caught:
            ObjectiveKey.from_string(text)
        assert str(caught.value) == (
            f"{text!r} is not an objective key (like wg-logistics/shared-fuel-doctrine)"
        )


class TestInputChecks:
    def test_titles_are_trimmed_one_line_texts(self) -> None:
        title = check_title("  Fuel  ", "Combustible")
        assert (title.en, title.es) == ("Fuel", "Combustible")

    @pytest.mark.parametrize(
        ("en", "es", "message"),
        [
            (" ", "x", "title (en): must not be empty"),
            ("x", "a\nb", "title (es): must be one line of text (no line breaks or control characters)"),
            ("x" * 301, "x", "title (en): at most 300 characters (got 301)"),
        ],
    )
    def test_bad_titles_are_refused(self, en: str, es: str, message: str) -> None:
        with pytest.raises(InputError, match=r"^" + message.replace("(", r"\(").replace(")", r"\)") + "$"):
            check_title(en, es)

    def test_indicators_are_one_to_ten_lines(self) -> None:
        assert check_indicators([" a ", "b"]) == ("a", "b")
        with pytest.raises(InputError, match=r"^success indicators: give 1 to 10 \(got 0\)$"):
            check_indicators([])
        with pytest.raises(InputError, match=r"^success indicators: give 1 to 10 \(got 11\)$"):
            check_indicators(["x"] * 11)
        with pytest.raises(InputError, match=r"^success indicator 2: must not be empty$"):
            check_indicators(["x", ""])

    def test_progress_is_a_percentage(self) -> None:
        assert [check_percent(v) for v in (0, 55, 100)] == [0, 55, 100]
        for bad in (-1, 101):
            with pytest.raises(InputError, match=rf"^progress: a percentage from 0 to 100 \(got {bad}\)$"):
                check_percent(bad)

    def test_note_empty_is_none_and_required_when_asked(self) -> None:
        assert check_note("  ") is None
        assert check_note("met in May") == "met in May"
        with pytest.raises(InputError, match=r"^note: say what was done"):
            check_note(None, required=True)

    def test_ratings_are_values_of_the_configured_scale(self, program: Program) -> None:
        assert [check_rating(program, v, what="value") for v in (1, 5)] == [1, 5]
        with pytest.raises(
            InputError, match=r"^effectiveness: 6 is not on the rating scale \(1, 2, 3, 4, 5\)$"
        ):
            check_rating(program, 6, what="effectiveness")


class TestNewObjective:
    def _new(self, program: Program, **changes: object) -> NewObjective:
        fields: dict[str, object] = {
            "key": "wg-logistics/shared-fuel-doctrine",
            "title_en": "Shared fuel doctrine",
            "title_es": "Doctrina común de combustible",
            "horizon": "short-term",
            "owner": "sedena",
            "indicators": ["Doctrine signed"],
            "cycle": cycle_by_number(program, 9),
            "set_on": dt.date(2025, 9, 1),
        }
        fields.update(changes)
        return check_new_objective(program, **fields)  # type: ignore[arg-type]

    def test_a_new_objective_takes_its_bodys_line_of_effort_and_its_horizons_target(
        self, program: Program
    ) -> None:
        """Cycle 9 opens 2025-09-01: short-term (12 months) ends 2026-09-01, long-term 2030-09-01."""
        new = self._new(program)
        assert (new.line_of_effort, new.target, new.status, new.first_cycle) == (
            "domain-control",
            dt.date(2026, 9, 1),
            S.proposed,
            9,
        )
        assert self._new(program, horizon="long-term").target == dt.date(2030, 9, 1)

    def test_an_objective_set_mid_cycle_counts_its_horizon_from_that_day(self, program: Program) -> None:
        """Set on 1 December 2026, a short-term objective is due on 1 December 2027, not at
        the cycle's first anniversary (which is past)."""
        assert self._new(program, set_on=dt.date(2026, 12, 1)).target == dt.date(2027, 12, 1)

    @pytest.mark.parametrize(
        ("changes", "message"),
        [
            ({"key": "nobody/x"}, "body: no body 'nobody' in the program"),
            (
                {"key": "ame/x"},
                "body: ame is not a standing body (SST, IB or WG); only those hold objectives",
            ),
            ({"key": "wg-cyber/x"}, "body: wg-cyber is proposed, not active; it holds no objectives yet"),
            ({"horizon": "someday"}, "horizon: 'someday' is not one of short-term, mid-term, long-term"),
            (
                {"line_of_effort": "space"},
                "line of effort: 'space' is not one of domain-awareness, domain-control, "
                "institutional-strengthening",
            ),
            (
                {"key": "sst-army/x", "owner": "semar"},
                "owner: 'semar' is not a member of sst-army (usnorthcom, sedena)",
            ),
            ({"status": S.achieved}, "status: a new objective is proposed or active, not achieved"),
        ],
    )
    def test_bad_fields_are_refused_with_what_and_where(
        self, program: Program, changes: dict[str, object], message: str
    ) -> None:
        with pytest.raises(InputError) as caught:
            self._new(program, **changes)
        assert str(caught.value) == message
