"""A sample APA for cycle 9, as the bodies would propose it: what the gate tests validate
and select from.

`FUERZAS_AMIGAS` begins on the visit's template date (13 April 2027) and is hosted by
SEDENA, the visit's template host in cycle 9: selecting it leaves the visit where the
template put it. `AZTEC_ALLIGATOR` is in June, hosted by SEMAR at sea off Veracruz:
selecting it moves the visit. `STAFF_EXCHANGE` is an exchange (not observable) in the
first year.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

from cycle.apa import Activity, activity_key
from cycle.context import Context
from cycle.items import ItemKey
from cycle.operations import propose_activity
from cycle.program import Localized

FUERZAS_AMIGAS = Activity(
    key=activity_key(9, "sst-army", "fuerzas-amigas-2027"),
    kind="combined-exercise",
    title=Localized(en="Combined exercise Fuerzas Amigas 2027", es="Ejercicio combinado Fuerzas Amigas 2027"),
    first_day=dt.date(2027, 4, 13),
    last_day=dt.date(2027, 4, 22),
    host="sedena",
    participants=("usnorthcom",),
    line_of_effort="domain-control",
)
AZTEC_ALLIGATOR = Activity(
    key=activity_key(9, "sst-navy", "aztec-alligator-2027"),
    kind="combined-exercise",
    title=Localized(
        en="Combined exercise Phoenix/Aztec Alligator 2027",
        es="Ejercicio combinado Phoenix/Aztec Alligator 2027",
    ),
    first_day=dt.date(2027, 6, 8),
    last_day=dt.date(2027, 6, 18),
    host="semar",
    participants=("usnorthcom",),
    line_of_effort="domain-control",
    location=Localized(en="Veracruz, Gulf of Mexico", es="Veracruz, Golfo de México"),
)
STAFF_EXCHANGE = Activity(
    key=activity_key(9, "wg-c2-interoperability", "c2-staff-exchange-2026"),
    kind="exchange",
    title=Localized(en="C2 staff exchange", es="Intercambio de estado mayor de C2"),
    first_day=dt.date(2026, 10, 1),
    last_day=dt.date(2026, 11, 30),
    window=True,
    host="usnorthcom",
    participants=("sedena", "semar"),
    line_of_effort="domain-awareness",
)
SAMPLE = (FUERZAS_AMIGAS, AZTEC_ALLIGATOR, STAFF_EXCHANGE)

ACTIVITIES = (FUERZAS_AMIGAS.key.to_string(), AZTEC_ALLIGATOR.key.to_string())
"""What the tri-chairs validate in the tests: the two combined exercises."""
SELECTED = FUERZAS_AMIGAS.key.to_string()
"""What they select for the visit (it leaves the visit where the template put it)."""

PROPOSED_AT = dt.datetime(2026, 5, 20, 15, 0, tzinfo=dt.UTC)


def propose_sample(ctx: Context, *, now: dt.datetime = PROPOSED_AT) -> None:
    """The bodies propose the sample activities (cycle 9 must be planned)."""
    for activity in SAMPLE:
        propose_activity(ctx, activity=activity, now=now, actor="test:bodies")


def body_input(body: str, cycle: int = 9) -> Activity:
    """The one activity a body proposes in tests that only need its APA inputs to be in
    (APA inputs cannot be submitted before the body has proposed something)."""
    return Activity(
        key=activity_key(cycle, body, "staff-exchange"),
        kind="exchange",
        title=Localized(en=f"Staff exchange ({body})", es=f"Intercambio de estado mayor ({body})"),
        first_day=dt.date(2027, 2, 1),
        last_day=dt.date(2027, 2, 5),
        host="usnorthcom",
        participants=("sedena", "semar"),
        line_of_effort="institutional-strengthening",
    )


def propose_inputs(ctx: Context, keys: Iterable[str], *, now: dt.datetime = PROPOSED_AT) -> None:
    """For each APA-inputs deliverable among `keys`, its body proposes `body_input`."""
    for key in keys:
        parsed = ItemKey.from_string(key)
        if parsed.name == ctx.program.apa.inputs and parsed.body is not None:
            propose_activity(
                ctx, activity=body_input(parsed.body, parsed.cycle), now=now, actor="test:bodies"
            )


def sample_in(cycle: int) -> tuple[Activity, ...]:
    """The sample's activities moved into a later cycle: the same bodies and slugs, two
    years later per cycle (a cycle is 24 months), so a test can work a cycle that lies
    wholly ahead of the real clock."""
    years = 2 * (cycle - 9)
    return tuple(
        dataclasses.replace(
            a,
            key=activity_key(cycle, a.key.body or "", a.key.name.rsplit("-", 1)[0] + f"-{2027 + years}"),
            first_day=a.first_day.replace(year=a.first_day.year + years),
            last_day=a.last_day.replace(year=a.last_day.year + years),
        )
        for a in (FUERZAS_AMIGAS, AZTEC_ALLIGATOR)
    )
