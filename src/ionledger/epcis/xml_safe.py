"""Hardened XML parsing: what reaches the EPCIS XML reader is a safe, bounded element tree.

lxml parses with entities unresolved, no network, no DTD loading and no huge trees, and a
resolver that refuses anything should libxml2 still ask. A document with a DOCTYPE that could
declare anything (an internal subset, a SYSTEM or PUBLIC identifier) is refused before it
reaches the parser, by a scan of the prolog in whatever encoding XML autodetects, and again
after parsing should the scan have missed it (an encoding such as UTF-7). A bare
``<!DOCTYPE name>`` declares nothing and is tolerated: GS1's own examples carry
``<!DOCTYPE project>``. The size is capped before parsing and the element depth before the tree
is converted. Every failure is an :class:`~ionledger.errors.InvalidDocument`.
"""

from __future__ import annotations

import re
from typing import Any, Final

from lxml import etree  # type: ignore[import-untyped]

from ionledger.errors import InvalidDocument

__all__ = ["DOCTYPE_REFUSED", "MAX_DEPTH", "MAX_XML_BYTES", "parse"]

MAX_XML_BYTES = 256 * 1024 * 1024
MAX_DEPTH = 64

DOCTYPE_REFUSED: Final = (
    "XML with a DOCTYPE is refused: DTDs and entities are not allowed (XXE / entity expansion)"
)

_BLANK: Final = re.compile(r"[ \t\r\n]*")
_BARE_DOCTYPE: Final = re.compile(r"[ \t\r\n]+[^\s\[\]<>\"']+[ \t\r\n]*")
_PROLOG_LIMIT: Final = 1024 * 1024


class _RefuseResolver(etree.Resolver):  # type: ignore[misc]
    """Defence in depth: should libxml2 ever ask for an external resource, it gets nothing."""

    def resolve(self, system_url: str, public_id: str, context: Any) -> Any:
        return self.resolve_string("", context)


def _parser() -> Any:
    # A fresh parser per call: lxml parsers must not be shared between threads.
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    parser.resolvers.add(_RefuseResolver())
    return parser


def _head_text(data: bytes) -> str:
    """The first bytes as text, enough to read the prolog in any encoding XML autodetects."""
    head = data[:_PROLOG_LIMIT]
    boms = (
        (b"\xff\xfe\x00\x00", "utf-32-le"),
        (b"\x00\x00\xfe\xff", "utf-32-be"),
        (b"\xff\xfe", "utf-16-le"),
        (b"\xfe\xff", "utf-16-be"),
    )
    for bom, codec in boms:
        if head.startswith(bom):
            return head[len(bom) :].decode(codec, errors="replace")
    starts = (
        (b"<\x00\x00\x00", "utf-32-le"),
        (b"\x00\x00\x00<", "utf-32-be"),
        (b"<\x00", "utf-16-le"),
        (b"\x00<", "utf-16-be"),
    )
    for start, codec in starts:
        if head.startswith(start):
            return head.decode(codec, errors="replace")
    # ASCII-compatible (UTF-8, Latin-1, ...): only the markup characters matter here.
    return head.decode("latin-1").removeprefix("\xef\xbb\xbf")


def _prolog_doctype(data: bytes) -> str | None:
    """The DOCTYPE declaration's body (after ``<!DOCTYPE``) if the prolog has one, else None.

    Refuses a prolog longer than the scan window: no real EPCIS document has one, and it could
    hide a DOCTYPE from this check.
    """
    text = _head_text(data).removeprefix("\ufeff")
    i = 0
    while True:
        blank = _BLANK.match(text, i)
        i = blank.end() if blank else i
        closing = "?>" if text.startswith("<?", i) else "-->" if text.startswith("<!--", i) else ""
        if not closing:
            break
        end = text.find(closing, i + 2)
        if end < 0:
            i = len(text)
            break
        i = end + len(closing)
    if i >= len(text):
        if len(data) > _PROLOG_LIMIT:
            raise InvalidDocument(
                f"the XML prolog (before the root element) is longer than {_PROLOG_LIMIT:,} bytes"
            )
        return None  # no root element: the parser reports it
    if not text.startswith("<!DOCTYPE", i):
        return None
    end = text.find(">", i)
    return text[i + len("<!DOCTYPE") : end if end >= 0 else len(text)]


def _check_doctype(data: bytes) -> bool:
    """Refuse any DOCTYPE that could declare or load anything; True if a bare one was seen.

    A bare ``<!DOCTYPE name>`` (no identifiers, no internal subset) declares nothing, so it is
    tolerated: GS1's own examples carry ``<!DOCTYPE project>``.
    """
    body = _prolog_doctype(data)
    if body is None:
        return False
    if _BARE_DOCTYPE.fullmatch(body) is None:  # an internal subset, SYSTEM or PUBLIC
        raise InvalidDocument(DOCTYPE_REFUSED)
    return True


def parse(data: bytes, *, max_bytes: int, max_depth: int) -> Any:
    """The root element of ``data``, parsed safely within the limits; else InvalidDocument."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise InvalidDocument(f"expected the XML document as bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) > max_bytes:
        raise InvalidDocument(
            f"XML document of {len(data):,} bytes exceeds the limit of {max_bytes:,} bytes"
        )
    if not data or data.isspace():  # (no copy of a large document, unlike strip())
        raise InvalidDocument("empty document: no XML to read")
    bare_doctype = _check_doctype(data)
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(exc, max_depth) from None
    except (etree.LxmlError, ValueError) as exc:
        raise InvalidDocument(f"unreadable XML: {exc}") from None
    if root is None:
        raise InvalidDocument("empty document: no XML to read")
    docinfo = root.getroottree().docinfo
    # Backstop for encodings the prolog scan cannot read: any DOCTYPE it did not vet is refused.
    if docinfo.doctype and not bare_doctype:
        raise InvalidDocument(DOCTYPE_REFUSED)
    if docinfo.public_id or docinfo.system_url:
        raise InvalidDocument(DOCTYPE_REFUSED)
    _check_depth(root, max_depth)
    return root


def _syntax_error(exc: Any, max_depth: int) -> InvalidDocument:
    last = exc.error_log.last_error
    message = last.message if last is not None and last.message else exc.msg
    line, column = exc.position if exc.position else (0, 0)
    if "Excessive depth" in str(message):  # libxml2's own cap without huge_tree
        return InvalidDocument(
            f"XML nesting deeper than the limit of {min(max_depth, 256)} elements (line {line})"
        )
    if "amplification" in str(message):  # entity expansion: only possible with a DOCTYPE
        return InvalidDocument(DOCTYPE_REFUSED)
    return InvalidDocument(f"malformed XML at line {line}, column {column}: {message}")


def _check_depth(root: Any, max_depth: int) -> None:
    depth = 0
    for event, element in etree.iterwalk(root, events=("start", "end")):
        if event == "end":
            depth -= 1
            continue
        depth += 1
        if depth > max_depth:
            raise InvalidDocument(
                f"XML nesting deeper than the limit of {max_depth} elements"
                f" (line {element.sourceline})"
            )
