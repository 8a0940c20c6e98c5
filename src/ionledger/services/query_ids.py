"""Identifiers in queries: exact identifiers, EPC patterns, our own prefixes, EPC classes.

``MATCH_`` parameters name EPCs as any identifier the store canonicalises (a GS1 key as its
Digital Link). EPC patterns: ``urn:epc:idpat:sgtin|grai:...`` match our canonical Digital Links;
a company-prefix-only pattern matches on the GTIN digits (a Digital Link does not record where
the company prefix ends). Other ``idpat`` schemes match the ``urn:epc:id`` URNs. Our own
identifiers take a trailing ``*``: ``urn:ionledger:gbt34014:03HP*``, ``urn:ionledger:vin:LSV*``.
An EPC class (``MATCH_epcClass``) has one form per class, :func:`class_key`: LGTIN URN, sgtin
class pattern and Digital Link all become ``https://id.gs1.org/01/{GTIN-14}[/10/{lot}]``.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import unquote, urlsplit

from ionledger.domain.gs1 import check_digit, urn_unescape
from ionledger.domain.identity import GRAI_LINK_PREFIX, SGTIN_LINK_PREFIX, canonical_id
from ionledger.domain.vocabulary import GBT_URN_PREFIX, VIN_URN_PREFIX
from ionledger.errors import InvalidIdentifier
from ionledger.services.query_params import Param
from ionledger.store.port import IdMatch

__all__ = ["canonical", "class_key", "class_match", "epc_match", "matches"]

_IDPAT = "urn:epc:idpat:"
_DIGITS = re.compile("[0-9]+")
_GBT_PREFIX = re.compile("[0-9A-Z]{0,23}")
_GBT_FIRST = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@functools.lru_cache(maxsize=65_536)
def canonical(uri: str) -> str:
    try:
        return canonical_id(uri)
    except InvalidIdentifier:
        return uri


def matches(match: IdMatch, value: str) -> bool:
    return value in match.exact or value.startswith(match.prefixes)


def _gtin(company: str, reference: str) -> str | None:
    """GTIN-14 of an SGTIN's company prefix and item reference (its indicator digit first)."""
    if not (_DIGITS.fullmatch(company) and _DIGITS.fullmatch(reference)):
        return None
    if len(company) + len(reference) != 13 or not 6 <= len(company) <= 12:
        return None
    body = reference[0] + company + reference[1:]
    return body + str(check_digit(body))


def _pattern_gtin(p: Param, value: str, company: str, reference: str) -> str:
    gtin = _gtin(company, reference)
    if gtin is None:
        raise p.error(f"{value!r}: company prefix and item reference must be 13 digits together")
    return gtin


def _pattern_fields(p: Param, value: str) -> tuple[str, list[str], int]:
    """(scheme, the fields before the first '*', number of fields) of an EPC pattern URN."""
    scheme, _, body = value[len(_IDPAT) :].partition(":")
    fields = body.split(".")
    if not scheme or "" in fields:
        raise p.error(f"{value!r} is not an EPC pattern (urn:epc:idpat:SCHEME:FIELD.FIELD...)")
    stars = [f == "*" for f in fields]
    first = stars.index(True) if True in stars else len(fields)
    if not all(stars[first:]):
        raise p.error(f"{value!r}: after a '*' every field must be '*'")
    return scheme, fields[:first], len(fields)


def _sgtin_pattern(p: Param, value: str, fixed: list[str], *, item: bool) -> IdMatch:
    """Instances (item) or classes matching an sgtin pattern, as canonical Digital Links."""
    if not fixed:
        return IdMatch(prefixes=(SGTIN_LINK_PREFIX,))
    if len(fixed) == 1:  # company prefix only: any indicator digit before it
        if not _DIGITS.fullmatch(fixed[0]):
            raise p.error(f"{value!r}: the company prefix must be digits")
        return IdMatch(prefixes=tuple(f"{SGTIN_LINK_PREFIX}{d}{fixed[0]}" for d in "0123456789"))
    gtin = _pattern_gtin(p, value, fixed[0], fixed[1])
    if len(fixed) == 2:
        return IdMatch(
            prefixes=(f"{SGTIN_LINK_PREFIX}{gtin}/21/" if item else SGTIN_LINK_PREFIX + gtin,)
        )
    return IdMatch(exact=(_checked(p, "urn:epc:id:sgtin:" + ".".join(fixed)),))


def _grai_pattern(p: Param, value: str, fixed: list[str]) -> IdMatch:
    if any(not _DIGITS.fullmatch(f) for f in fixed[:2]):
        raise p.error(f"{value!r}: company prefix and asset type must be digits")
    if len(fixed) <= 1:
        return IdMatch(prefixes=(GRAI_LINK_PREFIX + ("0" + fixed[0] if fixed else ""),))
    if len(fixed[0]) + len(fixed[1]) != 12:
        raise p.error(f"{value!r}: company prefix and asset type must have 12 digits together")
    body = "0" + fixed[0] + fixed[1]
    if len(fixed) == 2:
        return IdMatch(prefixes=(GRAI_LINK_PREFIX + body + str(check_digit(body)),))
    return IdMatch(exact=(_checked(p, "urn:epc:id:grai:" + ".".join(fixed)),))


def _idpat(p: Param, value: str) -> IdMatch:
    scheme, fixed, count = _pattern_fields(p, value)
    if scheme in ("sgtin", "grai") and count != 3:
        raise p.error(f"{value!r}: an {scheme} pattern has 3 fields, got {count}")
    if scheme == "sgtin":
        return _sgtin_pattern(p, value, fixed, item=True)
    if scheme == "grai":
        return _grai_pattern(p, value, fixed)
    urn = f"urn:epc:id:{scheme}:"  # other schemes are stored as their EPC URNs
    if len(fixed) == count:
        return IdMatch(exact=(urn + ".".join(fixed),))
    return IdMatch(prefixes=(urn + "".join(f + "." for f in fixed),))


def _own_pattern(p: Param, value: str) -> IdMatch:
    """``urn:ionledger:gbt34014:03HP*`` (or a bare ``03HP*``), ``urn:ionledger:vin:LSV*``."""
    stem = value[:-1]
    if stem.startswith(VIN_URN_PREFIX):
        return IdMatch(prefixes=(stem,))
    code = stem.removeprefix(GBT_URN_PREFIX)
    if ":" in code or not _GBT_PREFIX.fullmatch(code):
        raise p.error(
            f"{value!r}: a '*' pattern is an EPC pattern (urn:epc:idpat:...) or the start of a"
            " GB/T 34014 code or VIN URN followed by '*'"
        )
    return IdMatch(prefixes=(code,) if code else tuple(_GBT_FIRST))


def _checked(p: Param, value: str) -> str:
    try:
        return canonical_id(value)
    except InvalidIdentifier as exc:
        raise p.error(f"{value!r} is not a valid identifier: {exc.message}") from None


def epc_match(p: Param) -> IdMatch:
    exact: list[str] = []
    prefixes: list[str] = []
    for value in p.values():
        if value.startswith(_IDPAT):
            one = _idpat(p, value)
        elif value.endswith("*"):
            one = _own_pattern(p, value)
        else:
            one = IdMatch(exact=(_checked(p, value),))
        exact += one.exact
        prefixes += one.prefixes
    return IdMatch(tuple(dict.fromkeys(exact)), tuple(dict.fromkeys(prefixes)))


def _link_class(uri: str) -> str | None:
    """``https://id.gs1.org/01/{GTIN-14}[/10/{lot}]`` of a Digital Link to a GTIN, or None."""
    try:
        segments = urlsplit(uri).path.split("/")
    except ValueError:
        return None
    for i, seg in enumerate(segments[:-1]):
        gtin = segments[i + 1]
        if seg == "01" and _DIGITS.fullmatch(gtin) and len(gtin) in (8, 12, 13, 14):
            rest = segments[i + 2 :]
            pairs = dict(zip(rest[::2], rest[1::2], strict=False))
            lot = f"/10/{unquote(pairs['10'])}" if "10" in pairs else ""
            return f"{SGTIN_LINK_PREFIX}{gtin.zfill(14)}{lot}"
    return None


@functools.lru_cache(maxsize=16_384)
def class_key(uri: str) -> str:
    """One form per EPC class: LGTIN URN, sgtin class pattern and Digital Link all become
    ``https://id.gs1.org/01/{GTIN-14}[/10/{lot}]``; other URIs stay as they are."""
    lgtin = re.fullmatch(r"urn:epc:class:lgtin:([0-9]+)\.([0-9]+)\.(.+)", uri)
    pattern = re.fullmatch(r"urn:epc:idpat:sgtin:([0-9]+)\.([0-9]+)\.\*", uri)
    match = lgtin or pattern
    if match is not None:
        gtin = _gtin(match[1], match[2])
        if gtin is None:
            return uri
        if lgtin is None:
            return SGTIN_LINK_PREFIX + gtin
        try:
            return f"{SGTIN_LINK_PREFIX}{gtin}/10/{urn_unescape('LGTIN', lgtin[3])}"
        except InvalidIdentifier:
            return uri
    if uri.startswith(("http://", "https://")):
        return _link_class(uri) or uri
    return uri


def class_match(p: Param) -> IdMatch:
    exact: list[str] = []
    prefixes: list[str] = []
    for value in p.values():
        if value.startswith(_IDPAT + "sgtin:"):
            _, fixed, count = _pattern_fields(p, value)
            if count != 3:
                raise p.error(f"{value!r}: an sgtin pattern has 3 fields, got {count}")
            one = _sgtin_pattern(p, value, fixed, item=False)
            exact += one.exact
            prefixes += one.prefixes
        elif (key := class_key(value)).startswith(SGTIN_LINK_PREFIX) and "/10/" not in key:
            prefixes.append(key)  # a GTIN: any of its lots too
        else:
            exact.append(key)  # a lot, or a class we know no structure of: itself only
    return IdMatch(tuple(exact), tuple(prefixes))
