"""The formats GS1's EPCIS JSON schema asserts, read as the standards define them.

``uri`` is RFC 3986's ``URI`` (appendix A) and ``date-time`` RFC 3339 section 5.6 with a
mandatory UTC offset. Where JSON Schema leaves a choice we take the standard's reading: the
patterns are ECMA-262 (``$`` is the end of the string, ``\\d`` is ASCII), so Python's looser
``re`` habits (a final newline before ``$``, Unicode digits) do not slip through. Besides the
yes/no tests, each format says *why* a text fails, for strict validation's messages.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

__all__ = ["date_time_problem", "is_date_time", "is_uri", "show", "uri_problem"]


def show(value: Any) -> str:
    """A value as messages quote it: strings in single quotes, the rest as JSON, cut short."""
    text = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


# RFC 3986 appendix A, "URI". IPv4address is left out of host: reg-name admits all of it.
_UNRESERVED = r"A-Za-z0-9\-._~"
_SUB_DELIMS = r"!$&'()*+,;="
_PCT = r"%[0-9A-Fa-f]{2}"
_PCHAR = rf"(?:[{_UNRESERVED}{_SUB_DELIMS}:@]|{_PCT})"
_H16 = r"[0-9A-Fa-f]{1,4}"
_DEC_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_LS32 = rf"(?:{_H16}:{_H16}|{_DEC_OCTET}(?:\.{_DEC_OCTET}){{3}})"
_IPV6 = "|".join(
    (
        rf"(?:{_H16}:){{6}}{_LS32}",
        rf"::(?:{_H16}:){{5}}{_LS32}",
        rf"(?:{_H16})?::(?:{_H16}:){{4}}{_LS32}",
        rf"(?:(?:{_H16}:){{0,1}}{_H16})?::(?:{_H16}:){{3}}{_LS32}",
        rf"(?:(?:{_H16}:){{0,2}}{_H16})?::(?:{_H16}:){{2}}{_LS32}",
        rf"(?:(?:{_H16}:){{0,3}}{_H16})?::{_H16}:{_LS32}",
        rf"(?:(?:{_H16}:){{0,4}}{_H16})?::{_LS32}",
        rf"(?:(?:{_H16}:){{0,5}}{_H16})?::{_H16}",
        rf"(?:(?:{_H16}:){{0,6}}{_H16})?::",
    )
)
_IP_LITERAL = rf"\[(?:{_IPV6}|[Vv][0-9A-Fa-f]+\.[{_UNRESERVED}{_SUB_DELIMS}:]+)\]"
_REG_NAME = rf"(?:[{_UNRESERVED}{_SUB_DELIMS}]|{_PCT})*"
_AUTHORITY = (
    rf"(?:(?:[{_UNRESERVED}{_SUB_DELIMS}:]|{_PCT})*@)?(?:{_IP_LITERAL}|{_REG_NAME})(?::[0-9]*)?"
)
_HIER_PART = (
    rf"(?://{_AUTHORITY}(?:/{_PCHAR}*)*"  # "//" authority path-abempty
    rf"|/(?:{_PCHAR}+(?:/{_PCHAR}*)*)?"  # path-absolute
    rf"|{_PCHAR}+(?:/{_PCHAR}*)*"  # path-rootless
    r"|)"  # path-empty
)
_QUERY = rf"(?:{_PCHAR}|[/?])*"
_URI: Final = re.compile(rf"[A-Za-z][A-Za-z0-9+\-.]*:{_HIER_PART}(?:\?{_QUERY})?(?:#{_QUERY})?")
_SCHEME: Final = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*:")
_URI_CHARS: Final = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/?#[]%"
)


def is_uri(text: str) -> bool:
    """Whether ``text`` is an RFC 3986 URI (a scheme, then a hierarchical or opaque part)."""
    return _URI.fullmatch(text) is not None


def uri_problem(text: str) -> str:
    if _SCHEME.match(text) is None:
        return f"{show(text)} is not a URI: it has no scheme (such as 'urn:' or 'https:')"
    bad = next((c for c in text if c not in _URI_CHARS), None)
    if bad is not None:
        return f"{show(text)} is not a URI: {bad!r} must be percent-encoded"
    return f"{show(text)} is not an RFC 3986 URI"


# RFC 3339 section 5.6 date-time; "T" and "Z" may be lower case (ABNF strings are
# case-insensitive); the offset is mandatory. Leap seconds (:60) and year 0000 are refused:
# Python's datetime holds neither, and neither does the checker jsonschema uses.
_DATE_TIME: Final = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})[Tt]"
    r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})(?:\.[0-9]+)?"
    r"(?P<offset>[Zz]|[+-](?P<oh>[0-9]{2}):(?P<om>[0-9]{2}))?"
)
_DAYS: Final = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def date_time_problem(text: str) -> str | None:
    """Why ``text`` is not an RFC 3339 date-time with offset; None when it is one."""
    match = _DATE_TIME.fullmatch(text)
    if match is None:
        return f"{show(text)} is not an RFC 3339 date-time such as '2024-03-01T10:00:00+01:00'"
    year, month, day = (int(match[k]) for k in ("year", "month", "day"))
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    limits = (
        ("year", year, 1, 9999),
        ("month", month, 1, 12),
        ("day", day, 1, 29 if month == 2 and leap else _DAYS[min(max(month, 1), 12) - 1]),
        ("hour", int(match["hour"]), 0, 23),
        ("minute", int(match["minute"]), 0, 59),
        ("second", int(match["second"]), 0, 59),
        ("offset hour", int(match["oh"] or 0), 0, 23),
        ("offset minute", int(match["om"] or 0), 0, 59),
    )
    for name, number, low, high in limits:
        if not low <= number <= high:
            return f"{show(text)} is not a date-time: {name} {number} is out of range"
    if match["offset"] is None:
        return f"{show(text)} has no UTC offset; the schema requires one (Z or ±HH:MM)"
    return None


def is_date_time(text: str) -> bool:
    """Whether ``text`` is an RFC 3339 date-time with a UTC offset."""
    return date_time_problem(text) is None
