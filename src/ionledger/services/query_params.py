"""The EPCIS query parameters as the REST binding gives them, and the errors they raise.

Values are lists (ORed): separated by ``|`` (the openapi's pipeDelimited style) when the value
has one, else by ``,``; a repeated parameter adds to its list. A value that itself contains a
comma must be sent in a ``|`` list (e.g. with a trailing ``|``). A :class:`Param` reads its
values as lists, date-times, numbers, integers or flags, and names itself in the
:class:`QueryError` a bad value raises.

Parameters the API layer handles (pagination), accepted and ignored by the query itself:
:data:`API_PARAMETERS`. A page token (``nextPageToken``) is opaque to the client: URL-safe
base64 of a small JSON value that only this server reads back.
"""

from __future__ import annotations

import base64
import math
import re
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec

from ionledger.epcis.times import utc_key
from ionledger.errors import ValidationError

__all__ = ["API_PARAMETERS", "Param", "QueryError", "decode_token", "encode_token", "restore_plus"]

API_PARAMETERS = frozenset({"perPage", "nextPageToken"})


class QueryError(ValidationError):
    """EPCIS QueryParameterException: an unknown parameter, a bad value or a bad combination."""

    code = "query-parameter"
    epcis_exception = "QueryParameterException"

    def __init__(self, parameter: str, problem: str) -> None:
        self.parameter = parameter
        self.reason = problem
        super().__init__(f"{parameter}: {problem}")

    def details(self) -> dict[str, Any]:
        return {"parameter": self.parameter, "reason": self.reason}


@dataclass(frozen=True)
class Param:
    name: str
    raw: tuple[str, ...]
    groups: tuple[str, ...] = ()

    def error(self, problem: str) -> QueryError:
        return QueryError(self.name, problem)

    def values(self) -> list[str]:
        out: list[str] = []
        for text in self.raw:
            sep = "|" if "|" in text else ","
            out += [v.strip() for v in text.split(sep) if v.strip()]
        if not out:
            raise self.error("needs a value")
        return out

    def one(self) -> str:
        if len(self.raw) != 1:
            raise self.error(f"given {len(self.raw)} times; give it once")
        return self.raw[0].strip()

    def time(self) -> str:
        return _time_key(self, self.one())

    def number(self) -> float:
        return _number(self, self.one())

    def numbers(self) -> list[float]:
        return [_number(self, v) for v in self.values()]

    def integer(self, minimum: int) -> int:
        text = self.one()
        if not re.fullmatch(r"[+-]?[0-9]+", text):
            raise self.error(f"{text!r} is not an integer")
        if int(text) < minimum:
            raise self.error(f"must be at least {minimum}, got {text}")
        return int(text)

    def flag(self) -> bool:
        text = self.one().lower()
        if text not in ("", "true", "false"):
            raise self.error(f"{self.one()!r} is not true or false")
        return text != "false"


def restore_plus(text: str) -> str:
    """A '+' sent unencoded in a query string arrives as a space: "10:00:00 08:00"."""
    return re.sub(r" (\d\d:?\d\d)$", r"+\1", text)


def _time_key(p: Param, text: str) -> str:
    try:
        return utc_key(restore_plus(text))
    except ValueError:
        raise p.error(f"{text!r} is not a date-time with a UTC offset") from None


def _number(p: Param, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise p.error(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise p.error(f"{text!r} is not a finite number")
    return value


# -- page tokens ------------------------------------------------------------------------------

T = TypeVar("T")


def encode_token(payload: Any) -> str:
    """A page token carrying ``payload`` (JSON), safe in a URL."""
    return base64.urlsafe_b64encode(msgspec.json.encode(payload)).rstrip(b"=").decode()


def decode_token(token: str, kind: type[T]) -> T:
    """The payload of a page token this server issued, as ``kind``; else QueryError."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        return msgspec.json.decode(raw, type=kind)
    except (ValueError, msgspec.DecodeError):
        raise QueryError("nextPageToken", "is not a page token this server issued") from None
