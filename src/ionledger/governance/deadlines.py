"""Reporting deadlines in working days, by lifecycle stage and the reporter's role.

DOMAIN.md's table of the 2018 traceability provisions: installation by the vehicle maker 15;
repair and replacement (repairer) 30; waste battery into / out of an outlet 30; removal and
hand-over by a dismantler 15 each; cascade-use firm in / out and repurposing 15; recycler
receiving and recycling finished 30 each. A reporter with several roles that could each owe a
stage is held to the shortest of their deadlines. Stages without a duty have no deadline.
"""

from __future__ import annotations

import datetime

from ionledger.domain.vocabulary import Stage
from ionledger.governance.calendar import WorkCalendar

# stage -> ((role, working days), ...): the duties a stage can carry, by who reports it.
DUTIES: dict[Stage, tuple[tuple[str, int], ...]] = {
    Stage.INSTALLATION: (("vehicle_maker", 15), ("repairer", 30)),
    Stage.REPAIR: (("repairer", 30),),
    Stage.REPLACEMENT: (("repairer", 30),),
    Stage.RETIREMENT: (("dismantler", 15), ("repairer", 30)),
    Stage.COLLECTION: (("collection_outlet", 30),),
    Stage.SHIPPING: (("dismantler", 15), ("collection_outlet", 30), ("cascade_user", 15)),
    Stage.RECEIVING: (("collection_outlet", 30), ("cascade_user", 15), ("recycler", 30)),
    Stage.REPURPOSING: (("cascade_user", 15),),
    Stage.DISMANTLING: (("dismantler", 15), ("recycler", 30)),
    Stage.RECYCLING: (("recycler", 30),),
}


def deadline_days(stage: Stage | None, roles: frozenset[str] | set[str]) -> int | None:
    """The working days a reporter with these roles has to report this stage, or None."""
    if stage is None:
        return None
    owed = [days for role, days in DUTIES.get(stage, ()) if role in roles]
    return min(owed) if owed else None


def deadline(
    calendar: WorkCalendar,
    stage: Stage | None,
    roles: frozenset[str] | set[str],
    happened: datetime.date,
) -> datetime.date | None:
    """The last day on which the stage may be reported (inclusive), or None."""
    days = deadline_days(stage, roles)
    return None if days is None else calendar.add_working_days(happened, days)
