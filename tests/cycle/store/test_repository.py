"""The store on real SQLite and PostgreSQL: planning is an idempotent, atomic upsert that
never loses recorded progress, and deliverables move only along their lifecycle."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlmodel import col, func, select

from cycle.deliverable import Action, DeliverableState
from cycle.errors import InputError, NotFoundError, TransitionError
from cycle.items import ItemKind
from cycle.program import BodyStatus, Program
from cycle.schedule import plan_cycle
from cycle.store.database import Store
from cycle.store.models import ChangeRecord, DeliverableRecord, GateRecord, ItemRecord
from cycle.store.reads import tracked_items
from cycle.store.repository import (
    apply_plan,
    change_log,
    list_deliverables,
    pending_deliverable_items,
    record_deliverable_action,
)

T0 = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(hours=1)
T2 = T0 + dt.timedelta(hours=2)


def _plan(store: Store, program: Program, number: int = 9, now: dt.datetime = T0) -> Any:
    with store.session() as session:
        report = apply_plan(session, plan=plan_cycle(program, number), now=now, actor="test")
        session.commit()
    return report


def _rows(store: Store) -> dict[str, tuple[Any, ...]]:
    with store.session() as session:
        return {
            row.key: (row.revision, row.status, row.updated_at, row.starts_at, row.due)
            for row in session.exec(select(ItemRecord))
        }


def _count(store: Store, model: Any) -> int:
    with store.session() as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def _with_body(program: Program, slug: str, **changes: Any) -> Program:
    """The program with one body changed, validated like a loaded program."""
    data = program.model_dump(by_alias=True)
    for body in data["bodies"]:
        if body["slug"] == slug:
            body.update(changes)
    return Program.model_validate(data)


class TestPlanning:
    def test_first_plan_stores_every_item_with_deliverables_and_gates_pending(
        self, store: Store, program: Program
    ) -> None:
        """Planning cycle 9 stores all its items, one pending record per deliverable and gate."""
        plan = plan_cycle(program, 9)
        report = _plan(store, program)
        kinds = [item.kind for item in plan.items]
        assert len(report.created) == len(plan.items) == 217
        assert _count(store, ItemRecord) == 217
        assert _count(store, DeliverableRecord) == kinds.count(ItemKind.deliverable) == 146
        assert _count(store, GateRecord) == kinds.count(ItemKind.gate) == 2
        with store.session() as session:
            states = set(session.exec(select(DeliverableRecord.state)))
            gate_states = set(session.exec(select(GateRecord.state)))
        assert states == {"pending"}
        assert gate_states == {"pending"}

    def test_planning_an_unchanged_program_twice_writes_nothing(self, store: Store, program: Program) -> None:
        """A second plan of the same program leaves every row and the change log as they were."""
        _plan(store, program)
        before, log_before = _rows(store), _count(store, ChangeRecord)
        report = _plan(store, program, now=T1)
        assert not report.changed
        assert report.unchanged == 217
        assert _rows(store) == before
        assert _count(store, ChangeRecord) == log_before

    def test_a_moved_meeting_keeps_its_key_and_gets_a_higher_revision(
        self, store: Store, program: Program
    ) -> None:
        """Moving a body's meetings to another week revises its items in place, never duplicates."""
        _plan(store, program)
        moved = _with_body(program, "sst-army", week=3)
        report = _plan(store, moved, now=T1)
        rows = _rows(store)
        key = "c9/meeting/sst-army/1"
        assert key in report.updated
        assert rows[key][0] == 1
        assert rows[key][2] == T1
        assert rows[key][3] == dt.datetime(2025, 10, 21, 15, 0, tzinfo=dt.UTC)  # 09:00 in Mexico City
        assert _count(store, ItemRecord) == 217
        assert report.created == []
        with store.session() as session:
            actions = [c.action for c in change_log(session, item_key=key)]
        assert actions == ["planned", "replanned"]

    def test_the_read_back_of_a_plan_is_a_full_read_of_the_store(
        self, store: Store, program: Program
    ) -> None:
        """What `plan` returns (the status columns read, the items the plan just wrote taken
        from it) is what reading every column gives: with progress recorded, and with items
        the plan cancelled, read from the store."""
        _plan(store, program)
        with store.session() as session:
            record_deliverable_action(
                session, key="c9/deliverable/-/read-ahead", action=Action.submit, actor="test", now=T1
            )
            session.commit()
        paused = _with_body(program, "wg-logistics", status=BodyStatus.proposed)
        report = _plan(store, paused, now=T2)
        with store.session() as session:
            quick = tracked_items(session, cycle=9, known=report.planned)
            full = tracked_items(session, cycle=9)
        assert quick == full
        assert sum(t.status == "cancelled" for t in quick) == len(report.cancelled) == 20
        assert {t.status for t in quick} >= {"planned", "pending", "submitted", "cancelled"}

    def test_an_item_that_leaves_the_plan_is_cancelled_and_comes_back_restored(
        self, store: Store, program: Program
    ) -> None:
        """A body set to proposed cancels its items (kept, revision + 1); reactivating restores them."""
        _plan(store, program)
        paused = _with_body(program, "wg-logistics", status=BodyStatus.proposed)
        report = _plan(store, paused, now=T1)
        assert len(report.cancelled) == 6 + 12 + 2  # meetings, agenda+minutes, APA inputs+briefing
        assert all("/wg-logistics/" in key for key in report.cancelled)
        rows = _rows(store)
        assert rows["c9/meeting/wg-logistics/1"][:2] == (1, "cancelled")
        again = _plan(store, paused, now=T2)
        assert not again.changed  # cancelling is not repeated
        restored = _plan(store, program, now=T2)
        assert sorted(restored.restored) == sorted(report.cancelled)
        assert _rows(store)["c9/meeting/wg-logistics/1"][:2] == (2, "planned")

    def test_recorded_progress_survives_a_replan(self, store: Store, program: Program) -> None:
        """A submitted deliverable stays submitted when its due date moves."""
        _plan(store, program)
        key = "c9/deliverable/sst-army/agenda-2"
        with store.session() as session:
            record_deliverable_action(session, key=key, action=Action.submit, actor="maj. ruiz", now=T1)
            session.commit()
        _plan(store, _with_body(program, "sst-army", week=3), now=T2)
        with store.session() as session:
            [view] = [
                v
                for v in list_deliverables(session, cycle=9, body="sst-army")
                if v.item.key.to_string() == key
            ]
        assert view.state is DeliverableState.submitted
        assert view.record.submitted_by == "maj. ruiz"
        assert view.item.due == dt.date(2026, 4, 7)

    def test_a_failed_plan_leaves_the_store_as_it_was(self, store: Store, program: Program) -> None:
        """An error inside the planning transaction rolls every write back."""
        _plan(store, program)
        before = _rows(store)
        moved = plan_cycle(_with_body(program, "sst-army", week=3), 9)

        def crash_before_commit() -> None:
            with store.session() as session:
                apply_plan(session, plan=moved, now=T1, actor="test")
                raise RuntimeError("crash before commit")

        with pytest.raises(RuntimeError):
            crash_before_commit()
        assert _rows(store) == before

    def test_instants_come_back_aware_in_the_items_own_zone(self, store: Store, program: Program) -> None:
        """A meeting stored in UTC reads back as 09:00 in its host's zone."""
        _plan(store, program)
        with store.session() as session:
            tracked = {t.item.key.to_string(): t for t in tracked_items(session, cycle=9)}
        meeting = tracked["c9/meeting/sst-army/1"].item
        assert meeting.timezone == "America/Mexico_City"
        assert meeting.start is not None
        assert (meeting.start.hour, meeting.start.utcoffset()) == (9, dt.timedelta(hours=-6))
        assert tracked["c9/gate/-/apa-validation"].status == "pending"
        assert tracked["c9/phase/-/opening"].status == "planned"

    def test_two_cycles_live_side_by_side(self, store: Store, program: Program) -> None:
        """Planning cycles 8 and 9 keeps their items apart by key."""
        _plan(store, program, 8)
        _plan(store, program, 9)
        with store.session() as session:
            cycles = list(session.exec(select(ItemRecord.cycle).distinct().order_by(col(ItemRecord.cycle))))
        assert cycles == [8, 9]
        assert len(tracked_items_for(store, 8)) == len(plan_cycle(program, 8).items)


def tracked_items_for(store: Store, cycle: int) -> list[Any]:
    with store.session() as session:
        return tracked_items(session, cycle=cycle)


class TestDeliverableLifecycle:
    KEY = "c9/deliverable/-/read-ahead"

    def _act(self, store: Store, action: Action, note: str | None = None, key: str = KEY) -> DeliverableState:
        with store.session() as session:
            view = record_deliverable_action(
                session, key=key, action=action, actor="lt. smith", now=T1, note=note
            )
            session.commit()
        return view.state

    def test_submit_then_accept_records_who_and_when(self, store: Store, program: Program) -> None:
        """pending -> submitted -> accepted, with the actor and time of each step."""
        _plan(store, program)
        assert self._act(store, Action.submit) is DeliverableState.submitted
        assert self._act(store, Action.accept) is DeliverableState.accepted
        with store.session() as session:
            [view] = [v for v in list_deliverables(session, cycle=9) if v.item.key.to_string() == self.KEY]
            log = [(c.action, c.actor) for c in change_log(session, item_key=self.KEY)]
        assert (view.record.submitted_by, view.record.accepted_by) == ("lt. smith", "lt. smith")
        assert view.record.accepted_at == T1
        assert log == [
            ("planned", "test"),
            ("deliverable-submit", "lt. smith"),
            ("deliverable-accept", "lt. smith"),
        ]

    @pytest.mark.parametrize(("cycle", "due_by"), [(None, None), (9, None), (None, dt.date(2026, 3, 1))])
    def test_pending_items_are_the_pending_deliverables_in_the_same_order(
        self, store: Store, program: Program, cycle: int | None, due_by: dt.date | None
    ) -> None:
        """The overdue check's plain-row reader finds what list_deliverables finds, pending only."""
        _plan(store, program)
        _plan(store, program, number=10)
        self._act(store, Action.submit)
        with store.session() as session:
            views = list_deliverables(session, cycle=cycle, states=[DeliverableState.pending], due_by=due_by)
            items = pending_deliverable_items(session, cycle=cycle, due_by=due_by)
        assert items == [v.item for v in views]
        assert self.KEY not in {item.key.to_string() for item in items}
        assert len(items) > 10

    def test_return_sends_a_submission_back_to_pending(self, store: Store, program: Program) -> None:
        """A returned deliverable is pending again and keeps the reason as its note."""
        _plan(store, program)
        self._act(store, Action.submit)
        assert self._act(store, Action.return_, note="missing annex B") is DeliverableState.pending

    def test_return_clears_the_submission_and_keeps_it_in_the_log(
        self, store: Store, program: Program
    ) -> None:
        """After a return nobody is shown as having submitted; the change log still says who did."""
        _plan(store, program)
        self._act(store, Action.submit, note="first draft")
        self._act(store, Action.return_, note="missing annex B")
        self._act(store, Action.submit)
        with store.session() as session:
            [view] = [v for v in list_deliverables(session, cycle=9) if v.item.key.to_string() == self.KEY]
            log = [c.action for c in change_log(session, item_key=self.KEY)]
        assert (view.record.submitted_by, view.record.note) == ("lt. smith", None)
        assert log == ["planned", "deliverable-submit", "deliverable-return", "deliverable-submit"]

    @pytest.mark.parametrize(
        ("steps", "action", "message"),
        [
            ((), Action.accept, "is pending: cannot accept it; from pending you can submit, waive"),
            ((), Action.return_, "is pending: cannot return it"),
            ((Action.submit,), Action.submit, "is submitted: cannot submit it"),
            ((Action.submit, Action.accept), Action.waive, "is accepted: cannot waive it"),
        ],
        ids=["accept-pending", "return-pending", "submit-twice", "waive-accepted"],
    )
    def test_a_move_outside_the_lifecycle_is_refused_with_the_allowed_ones(
        self, store: Store, program: Program, steps: tuple[Action, ...], action: Action, message: str
    ) -> None:
        """An impossible step raises TransitionError naming the state and what is allowed."""
        _plan(store, program)
        for step in steps:
            self._act(store, step)
        with pytest.raises(TransitionError, match=message):
            self._act(store, action)

    def test_a_waiver_needs_a_reason(self, store: Store, program: Program) -> None:
        """Waiving without a reason is refused; with one, the reason is kept."""
        _plan(store, program)
        with pytest.raises(InputError, match="needs a reason"):
            self._act(store, Action.waive, note="  ")
        assert self._act(store, Action.waive, note="merged into the APA book") is DeliverableState.waived

    @pytest.mark.parametrize(
        ("key", "error"),
        [
            ("c9/deliverable/-/no-such-thing", NotFoundError),
            ("c9/gate/-/apa-validation", InputError),
            ("not a key", InputError),
        ],
        ids=["unknown", "a-gate", "malformed"],
    )
    def test_records_need_an_existing_deliverable_key(
        self, store: Store, program: Program, key: str, error: type[Exception]
    ) -> None:
        """Unknown, non-deliverable and malformed keys are refused with a clear error."""
        _plan(store, program)
        with pytest.raises(error):
            self._act(store, Action.submit, key=key)

    def test_a_cancelled_deliverable_takes_no_more_records(self, store: Store, program: Program) -> None:
        """Once a re-plan cancels a deliverable, submitting it is refused."""
        _plan(store, program)
        _plan(store, _with_body(program, "wg-logistics", status=BodyStatus.proposed), now=T1)
        with pytest.raises(InputError, match="cancelled"):
            self._act(store, Action.submit, key="c9/deliverable/wg-logistics/agenda-1")
