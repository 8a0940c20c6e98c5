"""GS1 keys in the form the CBV 2.0 hash ID compares them: the constrained canonical Digital Link.

An EPC URI (``urn:epc:id:sgtin:4012345.011111.9876``, also the ``class`` and ``idpat`` forms)
and a GS1 Digital Link on any domain, with short names or qualifiers, become the one Digital Link
on ``https://id.gs1.org`` that identifies the same thing (``/01/04012345111118/21/9876``), as
the reference implementation of the hash ID (github.com/RalphTro/epcis-event-hash-generator)
writes it: the check digit computed, GTIN-8/12/13 padded to GTIN-14, the consumer product
variant and a lot beside a serial dropped, and characters a path segment must not carry raw
percent-encoded. Text that is neither gives None: the caller keeps it as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import NamedTuple

__all__ = ["digital_link", "epc_uri_to_digital_link", "web_uri_to_digital_link"]

_DL = "https://id.gs1.org/"
# One character of an EPC URI serial: the characters GS1 AI 82 allows, %-escaped where TDS says.
_CH = (  # the plain characters first: the regex engine tries alternatives in order
    r"(?:[!')(*+,.0-9:;=A-Za-z_-]"
    r"|%(?:2[125-9A-Fa-f]|3[0-9A-Fa-f]|4[1-9A-Fa-f]|5[0-9AaFf]|6[1-9A-Fa-f]|7[0-9Aa]))"
)
_CPI = r"(?:[0-9A-Z-]|%(?:2[3dfDF]|3[0-9]|4[1-9A-Fa-f]|5[0-9Aa]))"  # component/part reference
_ESCAPES = str.maketrans(
    {"!": "%21", "(": "%28", ")": "%29", "*": "%2A", "+": "%2B", ",": "%2C", ":": "%3A"}
)


def _esc(text: str) -> str:
    """Percent-encode what a Digital Link path segment must not carry raw (DL 1.2, table 7-1)."""
    return text if text.isalnum() else text.translate(_ESCAPES)


@lru_cache(maxsize=4096)  # the EPCs of one product share company prefix and item reference
def _check_digit(body: str) -> str:
    """GS1 mod-10 check digit (weights 3, 1, 3, ... from the right)."""
    digits = body.encode()  # sums of bytes run in C; each ASCII digit is 48 + its value
    threes, ones = digits[::-2], digits[-2::-2]
    total = 3 * (sum(threes) - 48 * len(threes)) + sum(ones) - 48 * len(ones)
    return str(-total % 10)


def _keyed(body: str) -> str:
    return body + _check_digit(body)


def _chars(text: str) -> int:
    """Length counting each %-escape as one character."""
    return len(text) - 2 * text.count("%")


def _gtin(company: str, item: str) -> str:
    """GTIN-14 from an EPC's company prefix and (indicator + item reference)."""
    return _keyed(item[:1] + company + item[1:])


class _UrnRule(NamedTuple):
    """How to read one EPC URI scheme and write its Digital Link path."""

    pattern: re.Pattern[str]
    size: int  # digits in company prefix + second field (0: none)
    build: Callable[..., str]
    limit: int  # most characters in company prefix + second field (0: none)


def _urn_rule(pattern: str, size: int, build: Callable[..., str], limit: int = 0) -> _UrnRule:
    return _UrnRule(re.compile(pattern), size, build, limit)


_URN_RULES: dict[str, _UrnRule] = {
    "id:sgtin": _urn_rule(
        rf"(\d{{6,12}})\.(\d+)\.({_CH}{{1,20}})",
        13,
        lambda c, i, s: f"01/{_gtin(c, i)}/21/{_esc(s)}",
    ),
    "id:sscc": _urn_rule(r"(\d{6,12})\.(\d+)", 17, lambda c, s: f"00/{_keyed(s[:1] + c + s[1:])}"),
    "id:sgln": _urn_rule(
        rf"(\d{{6,12}})\.(\d*)\.({_CH}{{1,20}})",
        12,
        lambda c, r, x: f"414/{_keyed(c + r)}" + ("" if x == "0" else f"/254/{_esc(x)}"),
    ),
    "id:grai": _urn_rule(
        rf"(\d{{6,12}})\.(\d*)\.({_CH}{{1,16}})",
        12,
        lambda c, a, s: f"8003/{_keyed('0' + c + a)}{_esc(s)}",
    ),
    "id:giai": _urn_rule(
        rf"(\d{{6,12}})\.({_CH}{{1,24}})", 0, lambda c, a: f"8004/{c}{_esc(a)}", limit=30
    ),
    "id:gsrn": _urn_rule(r"(\d{6,12})\.(\d+)", 17, lambda c, s: f"8018/{_keyed(c + s)}"),
    "id:gsrnp": _urn_rule(r"(\d{6,12})\.(\d+)", 17, lambda c, s: f"8017/{_keyed(c + s)}"),
    "id:gdti": _urn_rule(
        rf"(\d{{6,12}})\.(\d*)\.({_CH}{{0,20}})",
        12,
        lambda c, d, s: f"253/{_keyed(c + d)}{_esc(s)}",
    ),
    "id:cpi": _urn_rule(
        rf"(\d{{6,12}})\.({_CPI}{{1,24}})\.(\d{{1,12}})",
        0,
        lambda c, p, s: f"8010/{_esc(c + p)}/8011/{s}",
        limit=30,
    ),
    "id:sgcn": _urn_rule(
        r"(\d{6,12})\.(\d*)\.(\d{1,12})", 12, lambda c, r, s: f"255/{_keyed(c + r)}{s}"
    ),
    "id:ginc": _urn_rule(
        rf"(\d{{6,12}})\.({_CH}{{1,24}})", 0, lambda c, r: f"401/{c}{_esc(r)}", limit=30
    ),
    "id:gsin": _urn_rule(r"(\d{6,12})\.(\d+)", 16, lambda c, s: f"402/{_keyed(c + s)}"),
    "id:itip": _urn_rule(
        rf"(\d{{6,12}})\.(\d+)\.(\d\d)\.(\d\d)\.({_CH}{{1,20}})",
        13,
        lambda c, i, p, t, s: f"8006/{_gtin(c, i)}{p}{t}/21/{_esc(s)}",
    ),
    "id:upui": _urn_rule(
        rf"(\d{{6,12}})\.(\d+)\.({_CH}{{1,28}})",
        13,
        lambda c, i, s: f"01/{_gtin(c, i)}/235/{_esc(s)}",
    ),
    "id:pgln": _urn_rule(r"(\d{6,12})\.(\d*)", 12, lambda c, r: f"417/{_keyed(c + r)}"),
    "class:lgtin": _urn_rule(
        rf"(\d{{6,12}})\.(\d+)\.({_CH}{{1,20}})",
        13,
        lambda c, i, lot: f"01/{_gtin(c, i)}/10/{_esc(lot)}",
    ),
    "idpat:sgtin": _urn_rule(r"(\d{6,12})\.(\d+)\.\*", 13, lambda c, i: f"01/{_gtin(c, i)}"),
    "idpat:grai": _urn_rule(
        r"(\d{6,12})\.(\d*)\.\*", 12, lambda c, a: f"8003/{_keyed('0' + c + a)}"
    ),
    "idpat:gdti": _urn_rule(r"(\d{6,12})\.(\d*)\.\*", 12, lambda c, d: f"253/{_keyed(c + d)}"),
    "idpat:sgcn": _urn_rule(r"(\d{6,12})\.(\d*)\.\*", 12, lambda c, r: f"255/{_keyed(c + r)}"),
    "idpat:cpi": _urn_rule(
        rf"(\d{{6,12}})\.({_CPI}{{1,24}})\.\*",
        0,
        lambda c, p: f"8010/{_esc(c + p)}",
        limit=30,
    ),
    "idpat:itip": _urn_rule(
        r"(\d{6,12})\.(\d+)\.(\d\d)\.(\d\d)\.\*", 13, lambda c, i, p, t: f"8006/{_gtin(c, i)}{p}{t}"
    ),
    "idpat:upui": _urn_rule(r"(\d{6,12})\.(\d+)\.\*", 13, lambda c, i: f"01/{_gtin(c, i)}"),
}


def epc_uri_to_digital_link(uri: str) -> str | None:
    """``urn:epc:id:sgtin:4012345.011111.9876`` -> ``https://id.gs1.org/01/.../21/9876``."""
    kind_end = uri.find(":", uri.find(":", 8) + 1)  # after "urn:epc:<id|class|idpat>:<scheme>"
    rule = _URN_RULES.get(uri[8:kind_end]) if kind_end > 0 else None
    if rule is None:
        return None
    match = rule.pattern.fullmatch(uri, kind_end + 1)
    if match is None:
        return None
    fields = match.groups()
    if rule.size and len(fields[0]) + len(fields[1]) != rule.size:
        return None
    if rule.limit and len(fields[0]) + _chars(fields[1]) > rule.limit:
        return None
    return _DL + rule.build(*fields)


_AIS = (
    "01|gtin|8006|itip|8010|cpid|414|gln|417|party|8017|gsrnp|8018|gsrn|255|gcn|00|sscc"
    "|253|gdti|401|ginc|402|gsin|8003|grai|8004|giai"
)
_LINK = re.compile(rf"https?:[^?#]*/(?:{_AIS})/\d{{4}}[^/]")
_CANONICAL_LINK = re.compile(
    r"https://id\.gs1\.org/(?:01|8006|8010|414|417|8017|8018|255|00|253|401|402|8003|8004)"
    r"/\d{4}[^/]"
)
_SHORT_NAMES = tuple(
    (f"/{name}/", f"/{ai}/")
    for name, ai in (
        ("gtin", "01"), ("itip", "8006"), ("cpid", "8010"), ("gln", "414"), ("party", "417"),
        ("gsrnp", "8017"), ("gsrn", "8018"), ("gcn", "255"), ("sscc", "00"), ("gdti", "253"),
        ("ginc", "401"), ("gsin", "402"), ("grai", "8003"), ("giai", "8004"), ("cpv", "22"),
        ("lot", "10"), ("ser", "21"),
    )
)  # fmt: skip
# The reference looks for the primary key in this order (not by position) to drop the domain.
_PRIMARY_KEYS = tuple(
    f"/{ai}/" for ai in ("00", "01", "253", "255", "401", "402", "414", "417")
) + tuple(f"/{ai}/" for ai in ("8003", "8004", "8006", "8010", "8017", "8018"))
_C = r"[\x22\x27\x2D\x2E\x30-\x39\x3B-\x3F\x41-\x5A\x5F\x61-\x7A]"  # AI 82 characters, no %
_GTIN_KEY = r"https://id\.gs1\.org/(?:8006/\d{18}|01/\d{14})"
_WITH_CPV = re.compile(rf"{_GTIN_KEY}/22/{_C}{{0,20}}")
_WITH_CPV_AND_MORE = re.compile(rf"{_GTIN_KEY}/22/[/{_C[1:-1]}]{{0,20}}")
_LOT_AND_SERIAL = re.compile(rf"{_GTIN_KEY}/10/{_C}{{0,20}}/21/{_C}{{0,20}}")
_CONSTRAINED_LINK = re.compile(
    rf"https://id\.gs1\.org/(?:00/\d{{18}}|01/\d{{14}}(?:/21/{_C}{{0,20}}|/10/{_C}{{0,20}}"
    rf"|/235/{_C}{{0,28}})?|253/\d{{13}}{_C}{{0,17}}|255/\d{{13,25}}|401/{_C}{{0,30}}"
    rf"|402/\d{{17}}|414/\d{{13}}(?:/254/{_C}{{0,20}})?|417/\d{{13}}|8003/\d{{14}}{_C}{{0,16}}"
    rf"|8004/{_C}{{0,30}}|8006/\d{{18}}(?:/21/{_C}{{0,20}}|/10/{_C}{{0,20}})?"
    r"|8010/[\x23\x2D\x2F\x30-\x39\x41-\x5A]{0,30}(?:/8011/\d{0,12})?|8017/\d{18}|8018/\d{18})"
)


def web_uri_to_digital_link(uri: str) -> str | None:
    """A GS1 Digital Link on any domain, with any qualifiers -> the constrained canonical one."""
    if _LINK.match(uri) is None:
        return None
    uri = uri.partition("?")[0]
    for name, ai in _SHORT_NAMES:
        if name in uri:
            uri = uri.replace(name, ai)
    if _CANONICAL_LINK.match(uri) is None:
        for key in _PRIMARY_KEYS:
            at = uri.find(key)
            if at != -1:
                uri = "https://id.gs1.org" + uri[at:]
                break
    if uri.startswith("https://id.gs1.org/01/"):  # GTIN-8/12/13 -> GTIN-14
        key = uri[22:]
        digits = len(key) - len(key.lstrip("0123456789"))
        pad = 1 if digits == 13 else 2 if digits == 12 else 6 if 8 <= digits < 12 else 0
        if pad:
            uri = uri.replace("/01/", "/01/" + "0" * pad)
    if "/22/" in uri:  # drop the consumer product variant
        at = uri.find("/22/")
        if _WITH_CPV.fullmatch(uri):
            uri = uri[:at]
        elif _WITH_CPV_AND_MORE.fullmatch(uri):
            rest = uri[at + 4 :]
            uri = uri[:at] + rest[rest.find("/") :]
    if _LOT_AND_SERIAL.fullmatch(uri):  # the serial alone identifies the instance
        at = uri.find("/10/")
        rest = uri[at + 4 :]
        uri = uri[:at] + rest[rest.find("/") :]
    return uri if _CONSTRAINED_LINK.fullmatch(uri) else None


def digital_link(text: str) -> str | None:
    """The constrained canonical GS1 Digital Link of an EPC URI or Digital Link, else None."""
    if "." not in text:
        return None
    if text.startswith(("urn:epc:id:", "urn:epc:class:", "urn:epc:idpat:")):
        return epc_uri_to_digital_link(text)
    if text.startswith(("https:", "http:")):
        return web_uri_to_digital_link(text)
    return None
