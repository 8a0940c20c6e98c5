"""The capture pipeline for documents: stream -> decode -> check -> de-duplicate -> store.

Two error behaviours, as EPCIS capture defines them: ``rollback`` (the default) stores nothing
from a document that has any bad event, and ``proceed`` stores the good events and skips the bad.
Either way every bad event is reported with its index, field and reason. In rollback mode the
whole document is one transaction; in proceed mode each batch is committed (and fsynced) on its
own, so a crash leaves the store as it was after the last committed batch.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, BinaryIO

import msgspec

from ionledger.epcis.documents import events_of, is_xml, read_document
from ionledger.epcis.lenient import Tolerated
from ionledger.epcis.stream import EventStream, iter_events
from ionledger.epcis.times import now_key
from ionledger.epcis.xml import MAX_XML_BYTES
from ionledger.errors import InvalidDocument, InvalidEvent, RuleViolation
from ionledger.governance.engine import Governor
from ionledger.services.capture import Accepted, accept, duplicate_in_document, ignore_fields
from ionledger.services.log import Checkpointer
from ionledger.services.projector import Projector
from ionledger.settings import Settings
from ionledger.store.port import EventStore, GovernanceDelta, Writer

MAX_NOTED_IDENTITIES = 1_000  # enough to name what a capture request stored
MAX_LISTED_ERRORS = 100_000  # beyond this, errors are counted, not kept (memory stays bounded)


@dataclass(slots=True)
class ImportReport:
    source: str
    read: int = 0
    stored: int = 0
    duplicates: int = 0  # already in the store before this import (idempotent re-import)
    errors: list[InvalidEvent] = field(default_factory=list)
    error_count: int = 0
    document_error: str | None = None
    committed: bool = False
    checkpoint: int | None = None  # the size of the checkpoint signed at the end, if any
    warnings: list[Tolerated] = field(default_factory=list)  # what lenient capture normalised
    warning_count: int = 0
    # The first accepted events' identities (stored or already present), by event index.
    identity_of: dict[int, str] = field(default_factory=dict)

    @property
    def identities(self) -> list[str]:
        """The first accepted events' identities, in acceptance order."""
        return list(self.identity_of.values())

    @property
    def ok(self) -> bool:
        return self.error_count == 0 and self.document_error is None

    def as_dict(self) -> dict[str, Any]:
        """The report for machines (``ionledger import --json``)."""
        return {
            "source": self.source,
            "ok": self.ok,
            "committed": self.committed,
            "read": self.read,
            "stored": self.stored,
            "alreadyPresent": self.duplicates,
            "errorCount": self.error_count,
            "documentError": self.document_error,
            "checkpoint": self.checkpoint,
            "warningCount": self.warning_count,
            "warnings": [asdict(w) for w in self.warnings],
            "errors": [e.details() for e in self.errors],
        }

    def add_warning(self, warning: Tolerated) -> None:
        self.warning_count += 1
        if len(self.warnings) < MAX_LISTED_ERRORS:
            self.warnings.append(warning)

    def add_error(self, error: InvalidEvent) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_LISTED_ERRORS:
            self.errors.append(error)


@contextmanager
def _bulk_gc() -> Iterator[None]:
    """Keep the cyclic GC from rescanning every live object again and again during a bulk load.

    An import allocates millions of short-lived, acyclic objects (reference counting frees
    them); with the default thresholds the collector would rescan the whole heap thousands of
    times. Existing objects are frozen out of its view and collections made rarer, then both are
    restored.
    """
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def write_batch(
    writer: Writer, batch: list[Accepted], record_time: str, governance: GovernanceDelta | None
) -> None:
    """Append accepted events and merge their projections, inside the writer's transaction."""
    first = writer.append([a.prepared for a in batch], record_time)
    projector = Projector()
    for seq, item in enumerate(batch, start=first):
        projector.add(seq, item.facts)
    writer.apply(projector.delta)
    if governance is not None:
        writer.apply_governance(governance)


class Importer:
    """Imports documents; with a checkpointer, signs a checkpoint after each one (and, with
    --proceed, at most every checkpoint interval in between)."""

    def __init__(
        self,
        store: EventStore,
        settings: Settings,
        *,
        reporter: str = "local",
        checkpointer: Checkpointer | None = None,
        sign_each: bool = True,
    ) -> None:
        self.store = store
        self.settings = settings
        self.reporter = reporter
        self.checkpointer = checkpointer
        self.sign_each = sign_each  # sign after every import, or at most every interval
        # The governance rules; None only where a benchmark measures the pipeline without them.
        self.governor: Governor | None = Governor(remember_parties=True) if settings.rules else None

    def import_stream(
        self,
        stream: BinaryIO,
        *,
        source: str = "<stream>",
        proceed: bool = False,
        progress: Callable[[int], None] | None = None,
        as_enterprise: str | None = None,
        on_commit: Callable[[Writer, list[tuple[int, int]]], None] | None = None,
    ) -> ImportReport:
        """Import one document. ``as_enterprise``: the enterprise whose credential sent it; its
        events report as that enterprise (the default ``ion:reportedBy``) and no other.
        ``on_commit``: what else the final commit writes, given the seq ranges stored (in
        rollback mode, the whole document's)."""
        report = ImportReport(source=source)
        reporter = as_enterprise or self.reporter
        if self.governor is not None:
            self.governor.rolled_back()  # nothing of an earlier, interrupted import is pending
        with _bulk_gc(), self.store.writer() as writer:
            run = _Run(
                writer,
                report,
                proceed=proceed,
                batch_size=self.settings.batch_size,
                checkpointer=self.checkpointer,
                sign_each=self.sign_each,
                governor=self.governor,
                on_commit=on_commit,
            )
            events: _Events | None = None
            ignore: tuple[str, ...] | None = None  # the document's ignoreFields, once known
            try:
                events = _Events(stream)
                for index, raw in enumerate(events):
                    report.read += 1
                    if ignore is None:  # a streamed header is complete once an event is read
                        ignore = ignore_fields(events.header())
                    result = accept(
                        raw,
                        index,
                        default_reporter=reporter,
                        context=events.context(),
                        ignore=ignore,
                    )
                    if as_enterprise and not isinstance(result, list):
                        result = _as_itself(result, as_enterprise)
                    if isinstance(result, list):
                        for error in result:
                            report.add_error(error)
                    else:
                        for warning in result.warnings:
                            report.add_warning(warning)
                        run.add(result)
                    if progress is not None and index % 1024 == 0:
                        progress(events.bytes_read)
            except InvalidDocument as exc:
                report.document_error = exc.message
            run.flush()
            run.finish()
            if progress is not None and events is not None:
                progress(events.bytes_read)
        return report


def _as_itself(item: Accepted, enterprise: str) -> Accepted | list[InvalidEvent]:
    """An enterprise reports only as itself: a credential cannot speak for another party."""
    if item.prepared.reporter == enterprise:
        return item
    reason = (
        f"ion:reportedBy is {item.prepared.reporter!r} but the credential is {enterprise!r}'s;"
        " an enterprise reports only as itself"
    )
    return [RuleViolation("access.reporter-mismatch", reason, index=item.index)]


class _Prefixed:
    """A stream whose first bytes were already read (to tell XML from JSON)."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head, self._rest = head, rest

    def read(self, size: int = -1) -> bytes:
        if not self._head:
            return self._rest.read(size)
        if size < 0:
            out, self._head = self._head + self._rest.read(), b""
        else:
            out, self._head = self._head[:size], self._head[size:]
        return out


class _Events:
    """The raw events of a document in either syntax, with its @context.

    JSON is streamed event by event (a 1 GB document is never held whole); XML is read whole,
    within the XML size limit, converted to the JSON-LD form and fed to the same pipeline.
    """

    def __init__(self, stream: BinaryIO) -> None:
        head = stream.read(4096)
        self.bytes_read = 0
        self._json: EventStream | None = None
        self._xml: Iterator[bytes] | None = None
        self._context: Any = None
        self._document: dict[str, Any] | None = None
        if is_xml(head):
            data = head + stream.read(MAX_XML_BYTES + 1 - len(head))
            if len(data) > MAX_XML_BYTES:
                raise InvalidDocument(f"XML document exceeds {MAX_XML_BYTES:,} bytes")
            document = read_document(data)
            self._document = document
            self._context = document.get("@context")
            self.bytes_read = len(data)
            self._xml = iter([msgspec.json.encode(e) for e in events_of(document)])
        else:
            self._json = iter_events(_Prefixed(head, stream))  # type: ignore[arg-type]

    def context(self) -> Any:
        if self._json is not None:
            return self._json.header.fields.get("@context")
        return self._context

    def header(self) -> dict[str, Any]:
        """The document's members read so far (JSON: those before its events; XML: all)."""
        if self._json is not None:
            return self._json.header.fields
        return self._document or {}

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self._xml is not None:
            return next(self._xml)
        assert self._json is not None
        raw = next(self._json)
        self.bytes_read = self._json.bytes_read
        return raw


class _Run:
    """The state of one document's import."""

    def __init__(
        self,
        writer: Writer,
        report: ImportReport,
        *,
        proceed: bool,
        batch_size: int,
        checkpointer: Checkpointer | None,
        sign_each: bool = True,
        governor: Governor | None = None,
        on_commit: Callable[[Writer, list[tuple[int, int]]], None] | None = None,
    ) -> None:
        self.writer = writer
        self.on_commit = on_commit
        self.governor = governor
        self.report = report
        self.proceed = proceed
        self.batch_size = batch_size
        self.checkpointer = checkpointer
        self.sign_each = sign_each
        self.batch: list[Accepted] = []
        self.mine: list[tuple[int, int]] = []  # seq ranges this import wrote

    def _writing(self) -> bool:
        return self.proceed or (self.report.error_count == 0 and not self.report.document_error)

    def add(self, item: Accepted) -> None:
        if not self._writing():
            return  # rollback is certain: go on checking, write nothing more
        self.batch.append(item)
        if len(self.batch) >= self.batch_size:
            self.flush()

    def _note(self, identity: str, index: int) -> None:
        if len(self.report.identity_of) < MAX_NOTED_IDENTITIES:
            self.report.identity_of[index] = identity

    def _is_mine(self, seq: int) -> bool:
        return any(lo <= seq < hi for lo, hi in self.mine)

    def flush(self) -> None:
        batch, self.batch = self.batch, []
        if not batch or not self._writing():
            return
        found = self.writer.existing([a.prepared.identity for a in batch])
        kept: list[Accepted] = []
        first_index: dict[str, int] = {}
        for item in batch:
            identity = item.prepared.identity
            seq = found.get(identity)
            earlier = first_index.get(identity)
            if earlier is None and seq is not None and self._is_mine(seq):
                earlier = -1
            if earlier is not None:
                self.report.add_error(
                    duplicate_in_document(identity, earlier if earlier >= 0 else None, item.index)
                )
            elif seq is not None:
                self.report.duplicates += 1
                self._note(identity, item.index)
            else:
                first_index[identity] = item.index
                kept.append(item)
        if not kept or not self._writing():
            return
        start = self.writer.next_seq
        record_time = now_key()
        governance = None
        if self.governor is not None:
            screened = self.governor.screen(
                self.writer,
                [a.facts for a in kept],
                [a.index for a in kept],
                [record_time] * len(kept),
                first_seq=start,
            )
            for error in screened.rejected:
                self.report.add_error(error)
            kept = [kept[i] for i in screened.kept]
            governance = screened.delta
            if not kept or not self._writing():
                return
        for item in kept:
            self._note(item.prepared.identity, item.index)
        write_batch(self.writer, kept, record_time, governance)
        if self.mine and self.mine[-1][1] == start:  # contiguous: one range, not one per batch
            self.mine[-1] = (self.mine[-1][0], self.writer.next_seq)
        else:
            self.mine.append((start, self.writer.next_seq))
        self.report.stored += len(kept)
        if self.proceed:
            if self.checkpointer is not None:
                self.checkpointer.after_write(self.writer)
            self.writer.commit()
            if self.governor is not None:
                self.governor.committed()

    def finish(self) -> None:
        if self._writing():
            if self.checkpointer is not None:
                if self.sign_each:
                    self.checkpointer.now(self.writer)
                else:
                    self.checkpointer.after_write(self.writer)
                latest = self.checkpointer.signed_size
                self.report.checkpoint = latest if latest >= 0 else None
            if self.on_commit is not None:
                self.on_commit(self.writer, self.mine)
            self.writer.commit()
            self.report.committed = True
            if self.governor is not None:
                self.governor.committed()
        else:
            self.writer.rollback()
            self.report.stored = 0
            if self.governor is not None:
                self.governor.rolled_back()
