"""Canonical text of single values in the CBV 2.0 hash ID's pre-hash string.

What two documents may write differently for the same value becomes one text, as the
reference implementation writes it: CBV 1.x URNs, bare CBV terms and ``gs1:``/``cbv:``/
``epcis:`` CURIEs become web URIs; numbers lose trailing zeros (``1.0`` -> ``1``); EPC URIs and
GS1 Digital Links become the constrained canonical Digital Link (see
:mod:`ionledger.epcis.digital_link`); timestamps are UTC with exactly three decimals. A field
whose bare values are CBV terms expands only the terms the EPCIS context defines (the
vocabularies of :mod:`ionledger.epcis.vocabularies`); anything else is a plain value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from ionledger.epcis.digital_link import digital_link
from ionledger.epcis.vocabularies import (
    BIZ_STEP,
    BIZ_TRANSACTION_TYPE,
    COMPONENT,
    DISPOSITION,
    MEASUREMENT_TYPE,
    SENSOR_ALERT_TYPE,
    SOURCE_DEST_TYPE,
    Vocabulary,
)

# --- values ----------------------------------------------------------------------------------

# CURIEs in values: only the standard vocabularies (CBV 2.0 rule 15). The reference's XML
# reader expands no other prefix in values, and its oracle keeps e.g. ``example:z`` as is.
_VALUE_PREFIXES = (
    ("gs1:", "https://gs1.org/voc/"),
    ("cbv:", "https://ref.gs1.org/cbv/"),
    ("epcis:", "https://ref.gs1.org/epcis/"),
)

_CBV_URNS = (
    ("urn:epcglobal:cbv:bizstep:", "https://ref.gs1.org/cbv/BizStep-"),
    ("urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-"),
    ("urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-"),
    ("urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-"),
    ("urn:epcglobal:cbv:er:", "https://ref.gs1.org/cbv/ER-"),
)
# What float() could read, roughly; float() itself decides (exceptions are slow to probe with).
_NUMERIC = re.compile(r"[+-]?[\d_]*\.?[\d_]*(?:[eE][+-]?[\d_]+)?")


def scalar_text(value: Any) -> str:
    """A JSON scalar as the text an XML document would carry."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):  # before int: bool is an int
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _number(text: str) -> str:
    """``1.0`` -> ``1``, ``+05`` -> ``5``, ``0.50`` -> ``0.5``; the reference goes via float."""
    if _NUMERIC.fullmatch(text) is None:
        return text
    try:
        number = float(text)
    except ValueError:
        return text
    if not math.isfinite(number):  # "nan", "inf": text, not quantities
        return text
    return str(int(number)) if number.is_integer() else repr(number)


@lru_cache(maxsize=16384)  # pure; bizStep, readPoint, uom, ... repeat from event to event
def plain(text: str) -> str:
    """The canonical form of a value that is not a timestamp."""
    text = text.strip()
    if not text:
        return text
    for prefix, namespace in _VALUE_PREFIXES:
        if text.startswith(prefix) and not text.startswith("//", len(prefix)):
            text = namespace + text[len(prefix) :]
            break
    if "urn:epcglobal:cbv:" in text:
        for urn, uri in _CBV_URNS:
            text = text.replace(urn, uri)
    text = _number(text)
    return digital_link(text) or text


def _vocabulary(namespace: str, vocabulary: Vocabulary) -> Callable[[str], str]:
    """Canonical form for a field whose bare values are CBV terms (@vocab in the EPCIS context).

    Only the terms that context defines expand (``shipping``); anything else is a plain value.
    """
    known = vocabulary.terms

    def canon(text: str) -> str:
        term = text.strip()
        return namespace + term if term in known else plain(term)

    return canon


biz_step = _vocabulary("https://ref.gs1.org/cbv/BizStep-", BIZ_STEP)
disposition = _vocabulary("https://ref.gs1.org/cbv/Disp-", DISPOSITION)
biz_transaction_type = _vocabulary("https://ref.gs1.org/cbv/BTT-", BIZ_TRANSACTION_TYPE)
source_destination_type = _vocabulary("https://ref.gs1.org/cbv/SDT-", SOURCE_DEST_TYPE)
measurement_type = _vocabulary("https://gs1.org/voc/", MEASUREMENT_TYPE)
sensor_alert = _vocabulary("https://gs1.org/voc/", SENSOR_ALERT_TYPE)
component = _vocabulary("https://ref.gs1.org/cbv/Comp-", COMPONENT)


# --- timestamps ------------------------------------------------------------------------------

_ONE_SECOND = timedelta(seconds=1)
_2D = tuple(f"{n:02d}" for n in range(100))  # datetime.isoformat is slow for our purpose
_3D = tuple(f"{n:03d}" for n in range(1000))


class BadTime(ValueError):
    """A timestamp the hash cannot place in UTC; ``path`` grows as it leaves nested objects."""

    def __init__(self, reason: str, path: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = path


def utc_millis(text: str) -> str:
    """``2023-02-02T12:04:03.1415+01:00`` -> ``2023-02-02T11:04:03.142Z``.

    Rule 9: three decimals, the 4th rounds half up (.1415 -> .142, .1414 -> .141); digits past
    the 6th never matter to that, and fromisoformat drops them.
    """
    text = text.strip()
    if text.endswith("z"):
        text = text[:-1] + "Z"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadTime(f"{text!r} is not an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        raise BadTime(f"{text!r} has no UTC offset")
    millis, sub_milli = divmod(moment.microsecond, 1000)
    try:
        moment = moment.astimezone(UTC)
        if sub_milli >= 500:
            millis += 1
            if millis == 1000:
                moment += _ONE_SECOND
                millis = 0
    except OverflowError:
        raise BadTime(f"{text!r} is out of range") from None
    year = moment.year
    return (
        f"{year if year >= 1000 else f'{year:04d}'}-{_2D[moment.month]}-{_2D[moment.day]}"
        f"T{_2D[moment.hour]}:{_2D[moment.minute]}:{_2D[moment.second]}.{_3D[millis]}Z"
    )


def timestamp(text: str) -> str:
    """A timestamp field's canonical text; blank stays blank (the field is then left out)."""
    return utc_millis(text) if text.strip() else ""
