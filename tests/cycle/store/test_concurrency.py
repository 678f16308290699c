"""Operators racing each other: several processes plan the same cycle at the same instant,
on SQLite and on PostgreSQL; the store ends with one copy of every item and no error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from sqlmodel import func, select

from cycle.store.database import Store
from cycle.store.models import CycleRecord, DeliverableRecord, ItemRecord

PLANNER = """
import datetime as dt, json, sys, time
from cycle.operations import open_context, plan
from cycle.settings import settings_from_env
import os
ctx = open_context(settings_from_env(os.environ))
time.sleep(max(0.0, float(sys.argv[1]) - time.time()))
report, _ = plan(ctx, number=9, now=dt.datetime.now(dt.UTC), actor=sys.argv[2])
print(json.dumps({"created": len(report.created), "unchanged": report.unchanged}))
"""


def test_simultaneous_planners_leave_one_copy_of_every_item(store: Store, database_url: str) -> None:
    """Four processes planning cycle 9 at once: all succeed, 217 items stored once."""
    env = {**os.environ, "ROUNDTABLE_DATABASE_URL": database_url}
    start = time.time() + 4.0  # after every interpreter has imported and loaded the program
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", PLANNER, str(start), f"operator-{n}"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        results.append(json.loads(out))
    assert sum(r["created"] for r in results) == 217
    assert sorted(r["created"] + r["unchanged"] for r in results) == [217] * 4
    with store.session() as session:
        assert session.exec(select(func.count()).select_from(ItemRecord)).one() == 217
        assert session.exec(select(func.count()).select_from(DeliverableRecord)).one() == 146
        assert session.exec(select(func.count()).select_from(CycleRecord)).one() == 1
