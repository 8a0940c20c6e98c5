"""EPCIS / CBV version negotiation and the output-format headers of the REST binding.

The client may send ``GS1-EPCIS-Version`` (the version it wants), ``GS1-EPCIS-Min`` and
``GS1-EPCIS-Max`` (the range it supports), and likewise ``GS1-CBV-Version`` / ``-Min`` /
``-Max``. This node implements EPCIS 2.0.0 and CBV 2.0.0 only, so a request whose versions or
range exclude them is answered 406 ``epcisException:NotAcceptableException`` (openapi.yaml's
``406NotAcceptable``); a version that is not ``digits(.digits)*`` is a 400. Versions compare
numerically with missing parts as zeros (``2`` = ``2.0`` = ``2.0.0``).

``GS1-EPC-Format`` (default ``Always_GS1_Digital_Link``, as the openapi says) and
``GS1-CBV-XML-Format`` (default ``No_Preference``) choose how returned events are written; see
``ionledger.epcis.epc_format``. ``No_Preference`` leaves the choice to the server, which then
keeps identifiers as captured (``Never_Translates``): it costs nothing.

One FastAPI dependency, :func:`negotiate`, is on every EPCIS router. On a WebSocket it does
nothing: the subscription stream calls :func:`negotiated` itself, so that it can refuse the
handshake with a problem document.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Header
from starlette.requests import HTTPConnection

from ionledger.errors import IonLedgerError, NotAcceptable, ValidationError

EPCIS_VERSION = "2.0.0"
CBV_VERSION = "2.0.0"
VERSIONS = {"GS1-EPCIS-Version": EPCIS_VERSION, "GS1-CBV-Version": CBV_VERSION}

EPC_FORMATS = ("No_Preference", "Always_GS1_Digital_Link", "Always_EPC_URN", "Never_Translates")
DEFAULT_EPC_FORMAT = "Always_GS1_Digital_Link"  # openapi.yaml: "If absent the default value"
CBV_XML_FORMATS = ("No_Preference", "Always_Web_URI", "Always_URN", "Never_Translates")
DEFAULT_CBV_XML_FORMAT = "No_Preference"

_VERSION = re.compile(r"\d+(?:\.\d+)*")


def _epcis_typed(exc: IonLedgerError, problem: dict[str, Any]) -> dict[str, Any]:
    """Typed as the REST binding's exception on any path, ``/`` included (which the app's
    handler does not count as an EPCIS path)."""
    return {**problem, "type": f"epcisException:{exc.epcis_exception}", "code": exc.code}


class UnsupportedVersion(NotAcceptable):
    """The client's EPCIS or CBV versions exclude the ones this node implements."""

    def problem(self) -> dict[str, Any]:
        return _epcis_typed(self, super().problem())


class BadHeader(ValidationError):
    """A GS1 header whose value the binding does not define."""

    def problem(self) -> dict[str, Any]:
        return _epcis_typed(self, super().problem())


@dataclass(frozen=True, slots=True)
class Negotiated:
    """What a request asked for, checked: the formats returned events are written in."""

    epc_format: str = DEFAULT_EPC_FORMAT
    cbv_xml_format: str = DEFAULT_CBV_XML_FORMAT

    @property
    def applied_epc_format(self) -> str:
        return "Never_Translates" if self.epc_format == "No_Preference" else self.epc_format

    @property
    def applied_cbv_xml_format(self) -> str:
        return "Never_Translates" if self.cbv_xml_format == "No_Preference" else self.cbv_xml_format


def _version(name: str, text: str) -> tuple[int, ...]:
    text = text.strip()
    if not _VERSION.fullmatch(text):
        raise BadHeader(f"{name} {text!r}: a version is digits separated by dots, e.g. 2.0.0")
    parts = [int(p) for p in text.split(".")]
    while len(parts) > 1 and parts[-1] == 0:  # 2.0.0 == 2.0 == 2
        parts.pop()
    return tuple(parts)


# Whether the server's version ``mine`` satisfies a client's header of this kind.
_SATISFIES: dict[str, Callable[[tuple[int, ...], tuple[int, ...]], bool]] = {
    "Version": operator.eq,
    "Min": operator.ge,
    "Max": operator.le,
}


def _check_versions(headers: Mapping[str, str], family: str, ours: str) -> None:
    mine = _version("ours", ours)
    refused = []
    for kind, satisfies in _SATISFIES.items():
        name = f"GS1-{family}-{kind}"
        text = (headers.get(name) or "").strip()
        if text and not satisfies(mine, _version(name, text)):
            refused.append(f"{name} {text}")
    if refused:
        raise UnsupportedVersion(
            f"{', '.join(refused)}: this server implements {family} {ours} only"
        )


def _choice(headers: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    value = headers.get(name)
    if value is None or not value.strip():
        return default
    for choice in choices:
        if value.strip().lower() == choice.lower():
            return choice
    raise BadHeader(f"{name} {value.strip()!r}: expected one of {', '.join(choices)}")


def negotiated(headers: Mapping[str, str]) -> Negotiated:
    """Check a request's GS1 version headers and read its format headers.

    Raises UnsupportedVersion (406) or BadHeader (400), both typed as EPCIS exceptions.
    """
    _check_versions(headers, "EPCIS", EPCIS_VERSION)
    _check_versions(headers, "CBV", CBV_VERSION)
    return Negotiated(
        _choice(headers, "GS1-EPC-Format", EPC_FORMATS, DEFAULT_EPC_FORMAT),
        _choice(headers, "GS1-CBV-XML-Format", CBV_XML_FORMATS, DEFAULT_CBV_XML_FORMAT),
    )


async def negotiate(
    connection: HTTPConnection,
    # Declared (and read again from the raw headers) so that the app's OpenAPI lists them.
    gs1_epcis_version: Annotated[str | None, Header(alias="GS1-EPCIS-Version")] = None,
    gs1_epcis_min: Annotated[str | None, Header(alias="GS1-EPCIS-Min")] = None,
    gs1_epcis_max: Annotated[str | None, Header(alias="GS1-EPCIS-Max")] = None,
    gs1_cbv_version: Annotated[str | None, Header(alias="GS1-CBV-Version")] = None,
    gs1_cbv_min: Annotated[str | None, Header(alias="GS1-CBV-Min")] = None,
    gs1_cbv_max: Annotated[str | None, Header(alias="GS1-CBV-Max")] = None,
    gs1_epc_format: Annotated[str | None, Header(alias="GS1-EPC-Format")] = None,
    gs1_cbv_xml_format: Annotated[str | None, Header(alias="GS1-CBV-XML-Format")] = None,
) -> None:
    """The dependency on every EPCIS route: refuses what the node cannot serve and keeps the
    outcome on ``request.state`` for :func:`negotiation_of`. Async: a few string comparisons
    need no hop to the thread pool."""
    if connection.scope["type"] != "http":
        return  # a WebSocket stream negotiates itself, to refuse the handshake properly
    connection.state.epcis = negotiated(connection.headers)


def negotiation_of(connection: HTTPConnection) -> Negotiated:
    """The request's negotiated formats (read from its headers if the dependency did not run)."""
    found = getattr(connection.state, "epcis", None)
    return found if isinstance(found, Negotiated) else negotiated(connection.headers)
