"""What a phase requires and where gates may stand: each fault in the program file is one
line naming file, line and key path, like every other config error (see test_config.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cycle.config import load_program
from cycle.program import Phase
from tests.cycle.test_config import config_error, write_mutated

EXECUTIVE_SESSION_REQUIRES = 'requires = ["apa-inputs", "annual-briefing", "delegation-roster", "read-ahead"]'
APA_GATE = 'slug = "apa-validation"\nkind = "gate"\nphase = "executive-session"\n'
EXERCISE_GATE = 'slug = "exercise-selection"\nkind = "gate"\nphase = "observation-visit"\n'


def requires(*slugs: str) -> str:
    """The executive session's `requires` line naming `slugs`."""
    return "requires = [" + ", ".join(f'"{slug}"' for slug in slugs) + "]"


# Each case: (old text, new text, text of `new` on the blamed line, key path, message).
REQUIREMENTS = [
    pytest.param(
        EXECUTIVE_SESSION_REQUIRES,
        requires("apa-inputs", "annual-briefing", "delegation-roster", "read-ahaed"),
        "requires",
        "template.phases[3].requires[3]",
        "'read-ahaed' is not a deliverable or gate of the template",
        id="unknown-slug",
    ),
    pytest.param(
        EXECUTIVE_SESSION_REQUIRES,
        requires("opening", "apa-inputs"),
        "requires",
        "template.phases[3].requires[0]",
        "'opening' is not a deliverable or gate of the template",
        id="a-milestone",
    ),
    pytest.param(
        EXECUTIVE_SESSION_REQUIRES,
        requires("apa-inputs", "visit-report"),
        "requires",
        "template.phases[3].requires[1]",
        "'visit-report' belongs to phase 'observation-visit', which does not come before 'executive-session'",
        id="an-item-of-a-later-phase",
    ),
    pytest.param(
        EXECUTIVE_SESSION_REQUIRES,
        requires("apa-inputs", "signed-minutes"),
        "requires",
        "template.phases[3].requires[1]",
        "'signed-minutes' belongs to phase 'executive-session', "
        "which does not come before 'executive-session'",
        id="an-item-of-the-same-phase",
    ),
    pytest.param(
        'requires = ["apa-validation"]',
        'requires = ["exercise-selection"]',
        "requires",
        "template.phases[4].requires[0]",
        "'exercise-selection' belongs to phase 'observation-visit', "
        "which does not come before 'observation-visit'",
        id="the-phases-own-gate",
    ),
]

GATES = [
    pytest.param(
        APA_GATE,
        APA_GATE.replace('phase = "executive-session"', 'phase = "executive-prep"'),
        "phase",
        "template.items[7].phase",
        "a gate belongs to executive-session or observation-visit, not 'executive-prep'",
        id="gate-in-another-phase",
    ),
    pytest.param(
        EXERCISE_GATE,
        EXERCISE_GATE.replace('phase = "observation-visit"', 'phase = "executive-session"'),
        "phase",
        "template.items[9].phase",
        "phase 'executive-session' has a gate already ('apa-validation')",
        id="two-gates-in-one-phase",
    ),
    pytest.param(
        APA_GATE,
        APA_GATE + 'per = "body"\n',
        "per",
        "template.items[7].per",
        "a gate is taken once per cycle",
        id="gate-per-body",
    ),
    pytest.param(
        APA_GATE,
        APA_GATE + 'per = "meeting"\n',
        "per",
        "template.items[7].per",
        "a gate is taken once per cycle",
        id="gate-per-meeting",
    ),
]


class TestPhaseRequirements:
    @pytest.mark.parametrize(("old", "new", "blamed", "key_path", "message"), REQUIREMENTS)
    def test_a_phase_requires_deliverables_or_gates_of_earlier_phases(
        self, tmp_path: Path, old: str, new: str, blamed: str, key_path: str, message: str
    ) -> None:
        """A required slug that is unknown, a milestone, or not of an earlier phase is refused at its line."""
        path, line = write_mutated(tmp_path, old, new, blamed)
        assert config_error(path) == f"{path}:{line}: {key_path}: {message}"

    def test_a_gate_of_an_earlier_phase_may_be_required(self, tmp_path: Path) -> None:
        """The assessment may wait for the APA validation as well as the visit report."""
        path, _ = write_mutated(
            tmp_path, 'requires = ["visit-report"]', 'requires = ["visit-report", "apa-validation"]'
        )
        program, _ = load_program(path)
        assert program.phase_template(Phase.assessment).requires == ["visit-report", "apa-validation"]


class TestGates:
    @pytest.mark.parametrize(("old", "new", "blamed", "key_path", "message"), GATES)
    def test_one_gate_per_cycle_in_the_session_or_the_visit(
        self, tmp_path: Path, old: str, new: str, blamed: str, key_path: str, message: str
    ) -> None:
        """A gate elsewhere, a second one in a phase, or one per body or meeting is refused at its line."""
        path, line = write_mutated(tmp_path, old, new, blamed)
        assert config_error(path) == f"{path}:{line}: {key_path}: {message}"
