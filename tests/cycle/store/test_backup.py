"""Export and import: the whole store as versioned JSON and back, on SQLite and PostgreSQL.
A store restored from an export exports to the same bytes; a bad file or a store that is
not empty is one clear line and leaves nothing behind."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect

from calendars.tokens import new_token, token_hash
from cycle.context import Context, open_context
from cycle.deliverable import Action
from cycle.errors import InputError, StoreError
from cycle.gates import GateDecision
from cycle.operations import (
    check_deadlines,
    export_document,
    initialize,
    notices_announced,
    record,
    record_notices,
    restore,
)
from cycle.program import Phase
from cycle.progression import ask, decide, open_cycle
from cycle.settings import Settings
from cycle.store.backup import FORMAT, VERSION, dumps
from cycle.store.database import SCHEMA_REVISION
from cycle.store.repository import add_subscriber, revoke_subscriber
from tests.apa import ACTIVITIES, propose_sample
from tests.conftest import SHIPPED

T0 = dt.datetime(2026, 8, 1, 14, 30, 15, 123456, tzinfo=dt.UTC)
APA = "c9/gate/-/apa-validation"
EXERCISE = "c9/gate/-/exercise-selection"


def context_for(url: str, home: Path) -> Context:
    return open_context(Settings(home=home, config_path=SHIPPED, database_url=url))


def live_store(ctx: Context) -> None:
    """A store as a year of use leaves it: two cycles, proposed activities and a validated
    APA, every deliverable step, a decided gate and an open request, phase progress,
    subscribers (one revoked), Spanish text."""
    at = iter(T0 + dt.timedelta(minutes=n) for n in range(100))
    initialize(ctx, now=next(at), actor="cli:ana")
    open_cycle(ctx, number=9, now=next(at), actor="prefect")
    open_cycle(ctx, number=8, now=next(at), actor="prefect")
    propose_sample(ctx, now=next(at))
    steps = [
        ("c9/deliverable/-/read-ahead", Action.submit, "Capt. Ana Pérez", "versión final ✓"),
        ("c9/deliverable/-/read-ahead", Action.accept, "secretariat", None),
        ("c9/deliverable/sst-army/apa-inputs", Action.submit, "Maj. Lee", None),
        ("c9/deliverable/sst-army/apa-inputs", Action.return_, "secretariat", "missing annex B"),
        ("c9/deliverable/-/delegation-roster", Action.waive, "secretariat", "sent by diplomatic note"),
    ]
    for key, action, actor, note in steps:
        record(ctx, key=key, action=action, actor=actor, now=next(at), note=note)
    decision = GateDecision(approved=True, tri_chairs=("sedena", "usnorthcom"), activities=ACTIVITIES)
    decide(ctx, key=APA, decision=decision, now=next(at), actor="cli:secretariat")
    ask(
        ctx,
        number=9,
        phase=Phase.observation_visit,
        run="6f1c1a52-0000-4000-8000-000000000001",
        expires_at=T0 + dt.timedelta(days=30),
        now=next(at),
        actor="prefect",
    )
    for name, audiences in (("sedena-staff", ["org-sedena", "deliverables"]), ("old-laptop", ["all"])):
        ctx.store.transaction(
            lambda s, name=name, audiences=audiences: add_subscriber(
                s,
                name=name,
                token_hash=token_hash(new_token()),
                audiences=audiences,
                lang="es",
                now=next(at),
                actor="cli:ana",
            )
        )
    ctx.store.transaction(lambda s: revoke_subscriber(s, name="old-laptop", now=next(at), actor="cli:ana"))
    check = check_deadlines(ctx, number=9, as_of=dt.date(2026, 11, 25))
    notices_announced(
        ctx,
        ids=[n.id for n in record_notices(ctx, check=check, now=next(at), actor="prefect")][:3],
        now=next(at),
    )


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The export of a `live_store` on SQLite (its own file, made once for the module)."""
    home = tmp_path_factory.mktemp("source")
    ctx = context_for(f"sqlite:///{home / 'source.db'}", home)
    live_store(ctx)
    data = dumps(export_document(ctx))
    ctx.store.dispose()
    return data


def write(tmp_path: Path, data: bytes | str, name: str = "export.json") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


class TestExport:
    def test_the_export_holds_every_table_in_a_versioned_envelope(self, exported: bytes) -> None:
        """Format, version, schema and program first; every table with its rows."""
        document = json.loads(exported)
        assert (document["format"], document["version"], document["schema"]) == (
            FORMAT,
            VERSION,
            SCHEMA_REVISION,
        )
        assert document["program"]["slug"] == "bmcr"
        rows = {name: len(table) for name, table in document["tables"].items()}
        assert rows == {
            "activity": 3,
            "apa_version": 1,
            "body": 15,
            # bodies 15, cycles 2, items 436 (2 of them the validated activities), phases 6,
            # records 10, notices 189, 3 proposals and the APA's validation
            "change_log": 662,
            "cycle": 2,
            "deliverable": 292,
            "deliverable_notice": 189,
            "gate": 4,
            "objective": 0,
            "objective_event": 0,
            "objective_rating": 0,
            "phase_progress": 4,
            "planned_item": 436,
            "subscriber": 2,
        }

    def test_instants_are_utc_text_and_keys_are_sorted(self, exported: bytes) -> None:
        """Microseconds and the UTC offset survive; the bytes are sorted, indented JSON."""
        document = json.loads(exported)
        [cycle_9] = [c for c in document["tables"]["cycle"] if c["number"] == 9]
        assert cycle_9 == {
            "end": "2027-08-31",
            "months": 24,
            "number": 9,
            "planned_at": "2026-08-01T14:31:15.123456+00:00",
            "start": "2025-09-01",
        }
        assert exported == dumps(document)

    def test_a_deliverables_history_is_in_the_change_log(self, exported: bytes) -> None:
        """Each step with who took it, when, and the note."""
        log = json.loads(exported)["tables"]["change_log"]
        history = [
            (e["action"], e["actor"], json.loads(e["detail"]).get("note"))
            for e in log
            if e["item_key"] == "c9/deliverable/sst-army/apa-inputs"
            and e["action"].startswith("deliverable-")
        ]
        assert history == [
            ("deliverable-submit", "Maj. Lee", None),
            ("deliverable-return", "secretariat", "missing annex B"),
        ]

    def test_subscribers_keep_their_token_hash_and_no_token(self, exported: bytes) -> None:
        """The hash restores working URLs; the token itself is in no store and no export."""
        [subscriber, *_] = json.loads(exported)["tables"]["subscriber"]
        assert sorted(subscriber) == [
            "audiences",
            "created_at",
            "id",
            "lang",
            "last_access_at",
            "name",
            "revoked_at",
            "token_hash",
        ]
        assert len(subscriber["token_hash"]) == 64


class TestImport:
    @pytest.mark.parametrize("target", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
    def test_a_restored_store_exports_the_same_bytes(
        self, exported: bytes, target: str, tmp_path: Path, request: pytest.FixtureRequest
    ) -> None:
        """SQLite to SQLite and SQLite to PostgreSQL: import, export again, byte for byte."""
        url = (
            f"sqlite:///{tmp_path / 'restored.db'}"
            if target == "sqlite"
            else request.getfixturevalue("postgres_url")
        )
        ctx = context_for(url, tmp_path)
        summary = restore(ctx, path=write(tmp_path, exported))
        assert (summary.schema, summary.total) == (SCHEMA_REVISION, 1610)
        assert dumps(export_document(ctx)) == exported
        ctx.store.dispose()

    @pytest.mark.postgres
    def test_a_store_restored_on_postgresql_takes_new_rows(
        self, exported: bytes, postgres_url: str, tmp_path: Path
    ) -> None:
        """Id sequences continue after the imported ids: the next change is logged, not refused."""
        ctx = context_for(postgres_url, tmp_path)
        restore(ctx, path=write(tmp_path, exported))
        view = record(
            ctx, key="c9/deliverable/sst-army/apa-inputs", action=Action.submit, actor="Maj. Lee", now=T0
        )
        assert view.record.state == "submitted"
        log = export_document(ctx)["tables"]["change_log"]
        assert [e["id"] for e in log[-2:]] == [662, 663]
        ctx.store.dispose()


def edited(exported: bytes, change: Any) -> str:
    document = json.loads(exported)
    change(document)
    return json.dumps(document)


def _first(document: dict[str, Any], table: str) -> dict[str, Any]:
    row: dict[str, Any] = document["tables"][table][0]
    return row


BAD_FILES: dict[str, tuple[Any, str]] = {
    "not-json": (lambda _: "{ nope", "not a Roundtable export (bad JSON at line 1, column 3)"),
    "not-utf8": (lambda _: b"\xff\xfe{}", "not a Roundtable export (not UTF-8 text)"),
    "no-format": (lambda _: "[1, 2]", 'not a Roundtable export (no "format": "roundtable-export")'),
    "version-2": (
        lambda e: edited(e, lambda d: d.update(version=2)),
        "export version 2 is not one this Roundtable reads (1)",
    ),
    "version-text": (
        lambda e: edited(e, lambda d: d.update(version="1")),
        "export version '1' is not one this Roundtable reads (1)",
    ),
    "version-true": (
        lambda e: edited(e, lambda d: d.update(version=True)),
        "export version True is not one this Roundtable reads (1)",
    ),
    "unknown-schema": (
        lambda e: edited(e, lambda d: d.update(schema="0099")),
        "made at schema '0099', which this Roundtable does not know",
    ),
    "no-program": (lambda e: edited(e, lambda d: d.pop("program")), '"program" must name the program'),
    "tables-not-rows": (
        lambda e: edited(e, lambda d: d.update(tables={"cycle": {"number": 9}})),
        '"tables" must map each table to a list of rows',
    ),
}
"""Files that are not a readable export: the message after `FILE: `."""

BAD_ROWS: dict[str, tuple[Any, str]] = {
    "other-program": (
        lambda d: d["program"].update(slug="other"),
        "the export is of program 'other', the program file is 'bmcr'",
    ),
    "unknown-table": (lambda d: d["tables"].update(extra=[]), "table 'extra' is not in the store's schema"),
    "unknown-column": (
        lambda d: _first(d, "cycle").update(colour="red"),
        "cycle row 1: unknown column 'colour'",
    ),
    "missing-column": (lambda d: _first(d, "cycle").pop("months"), "cycle row 1: missing column 'months'"),
    "naive-instant": (
        lambda d: _first(d, "cycle").update(planned_at="2026-08-01T14:31:15"),
        "cycle row 1.planned_at: '2026-08-01T14:31:15' has no UTC offset",
    ),
    "text-number": (
        lambda d: _first(d, "cycle").update(months="24"),
        "cycle row 1.months: '24' is not a whole number",
    ),
    "bad-date": (
        lambda d: _first(d, "cycle").update(start="2025-02-30"),
        "cycle row 1.start: day is out of range for month",
    ),
    "orphan-deliverable": (
        lambda d: _first(d, "deliverable").update(item_id=99999),
        "the export's rows break the store's rules: ",
    ),
}
"""Exports whose envelope is fine but whose rows do not fit: the message's start."""


class TestRefusals:
    @pytest.mark.parametrize("name", BAD_FILES)
    def test_a_bad_file_is_one_line_naming_it_and_creates_no_store(
        self, exported: bytes, name: str, tmp_path: Path
    ) -> None:
        make, message = BAD_FILES[name]
        path = write(tmp_path, make(exported))
        ctx = context_for(f"sqlite:///{tmp_path / 'new.db'}", tmp_path)
        with pytest.raises(InputError) as caught:
            restore(ctx, path=path)
        assert str(caught.value).startswith(f"{path}: {message}")
        assert "\n" not in str(caught.value)
        assert not (tmp_path / "new.db").exists()

    @pytest.mark.parametrize("name", BAD_ROWS)
    def test_rows_that_do_not_fit_are_named_and_nothing_is_written(
        self, exported: bytes, name: str, tmp_path: Path, database_url: str
    ) -> None:
        """On SQLite the new file is removed; on PostgreSQL the transaction leaves no table."""
        change, message = BAD_ROWS[name]
        ctx = context_for(database_url, tmp_path)
        with pytest.raises(InputError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
            restore(ctx, path=write(tmp_path, edited(exported, change)))
        assert ctx.store.revision() is None
        if ctx.store.sqlite_file is None:
            with ctx.store.engine.connect() as connection:
                assert inspect(connection).get_table_names() == []
        else:
            assert not ctx.store.sqlite_file.exists()
        ctx.store.dispose()

    def test_a_store_that_holds_anything_is_refused_and_kept(
        self, exported: bytes, tmp_path: Path, database_url: str
    ) -> None:
        """Even a store that only `init` has touched: import never merges."""
        ctx = context_for(database_url, tmp_path)
        initialize(ctx, now=T0, actor="cli:ana")
        before = dumps(export_document(ctx))
        with pytest.raises(
            StoreError, match=r"is not empty \(15 in body, 15 in change_log\): import only into a new store$"
        ):
            restore(ctx, path=write(tmp_path, exported))
        assert dumps(export_document(ctx)) == before
        ctx.store.dispose()

    def test_an_empty_migrated_store_takes_the_import(
        self, exported: bytes, tmp_path: Path, store: Any
    ) -> None:
        """A store with the schema and no rows (made by migrations alone) is empty."""
        ctx = context_for(str(store.engine.url.render_as_string(hide_password=False)), tmp_path)
        restore(ctx, path=write(tmp_path, exported))
        assert dumps(export_document(ctx)) == exported
        ctx.store.dispose()
