"""Property tests of the gate rules (hypothesis): any answer, however odd, is either a
tidied decision that keeps every rule or one `InputError` line; never another exception."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cycle.errors import InputError
from cycle.gates import MAX_ACTIVITY, MAX_NOTES, GateDecision, check_decision
from cycle.program import Phase, Program

CHAIRS = st.sampled_from(["usnorthcom", "sedena", "semar", "", "SEDENA", "nobody", "sedena\n"])
TEXT = st.one_of(st.text(max_size=40), st.sampled_from(["", " ", "Ex A", "x" * (MAX_ACTIVITY + 1), "a\r\nb"]))
ONE_LINE = st.text(st.characters(blacklist_characters="\r\n\x00"), min_size=1, max_size=40).map(str.strip)
"""What a gate offers: the draft APA's activities, or the validated ones to observe."""
DECISIONS = st.builds(
    GateDecision,
    approved=st.booleans(),
    tri_chairs=st.lists(CHAIRS, max_size=4).map(tuple),
    notes=st.one_of(TEXT, st.just("n" * (MAX_NOTES + 1))),
    activities=st.lists(TEXT, max_size=4).map(tuple),
)


@settings(max_examples=300, deadline=None)
@given(
    phase=st.sampled_from(list(Phase)),
    decision=DECISIONS,
    offered=st.lists(ONE_LINE, max_size=3).map(tuple),
)
def test_any_gate_answer_is_a_valid_decision_or_one_input_error_line(
    program: Program, phase: Phase, decision: GateDecision, offered: tuple[str, ...]
) -> None:
    """What passes the rules keeps them: known tri-chairs once each, a reason for a rejection,
    one-line activities, all of them offered, one exercise at the exercise selection."""
    try:
        checked = check_decision(program, phase, decision, offered=offered)
    except InputError as exc:
        refusal = str(exc)
        assert "\n" not in refusal
        return
    assert checked.tri_chairs
    assert set(checked.tri_chairs) <= {"usnorthcom", "sedena", "semar"}
    assert len(set(checked.tri_chairs)) == len(checked.tri_chairs)
    assert checked.approved or checked.notes
    assert len(checked.notes) <= MAX_NOTES
    assert all(a and "\n" not in a and len(a) <= MAX_ACTIVITY for a in checked.activities)
    assert set(checked.activities) <= set(offered)
    if phase is Phase.observation_visit:
        assert not checked.approved or len(checked.activities) == 1
    else:
        assert phase is Phase.executive_session
        assert not checked.approved or checked.activities
