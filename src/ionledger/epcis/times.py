"""Event times: EPCIS times carry a UTC offset; the store keeps them as fixed-width UTC text.

The fixed width (microseconds, ``Z``) makes the text sort in time order in any database.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc_key(timestamp: str) -> str:
    """``2024-03-01T10:00:00+08:00`` -> ``2024-03-01T02:00:00.000000Z``.

    Raises ValueError when the text is not ISO 8601 or has no offset (EPCIS requires one).
    """
    moment = datetime.fromisoformat(timestamp)
    if moment.tzinfo is None:
        raise ValueError(f"time {timestamp!r} has no UTC offset")
    # isoformat is several times faster than strftime and has the same fixed width.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def now_key(moment: datetime | None = None) -> str:
    """The UTC key of now (or of an aware ``moment``)."""
    when = datetime.now(UTC) if moment is None else moment.astimezone(UTC)
    return when.isoformat(timespec="microseconds")[:-6] + "Z"
