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
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from ionledger.epcis.stream import iter_events
from ionledger.epcis.times import now_key
from ionledger.errors import InvalidDocument, InvalidEvent
from ionledger.services.capture import Accepted, accept
from ionledger.services.log import Checkpointer
from ionledger.services.projector import Projector
from ionledger.settings import Settings
from ionledger.store.port import EventStore, Writer

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
            "errors": [e.details() for e in self.errors],
        }

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


def write_batch(writer: Writer, batch: list[Accepted], record_time: str) -> None:
    """Append accepted events and merge their projections, inside the writer's transaction."""
    first = writer.append([a.prepared for a in batch], record_time)
    projector = Projector()
    for seq, item in enumerate(batch, start=first):
        projector.add(seq, item.facts)
    writer.apply(projector.delta)


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
    ) -> None:
        self.store = store
        self.settings = settings
        self.reporter = reporter
        self.checkpointer = checkpointer

    def import_stream(
        self,
        stream: BinaryIO,
        *,
        source: str = "<stream>",
        proceed: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> ImportReport:
        report = ImportReport(source=source)
        with _bulk_gc(), self.store.writer() as writer:
            run = _Run(
                writer,
                report,
                proceed=proceed,
                batch_size=self.settings.batch_size,
                checkpointer=self.checkpointer,
            )
            events = iter_events(stream)
            try:
                for index, raw in enumerate(events):
                    report.read += 1
                    result = accept(raw, index, default_reporter=self.reporter)
                    if isinstance(result, list):
                        for error in result:
                            report.add_error(error)
                    else:
                        run.add(result)
                    if progress is not None and index % 1024 == 0:
                        progress(events.bytes_read)
            except InvalidDocument as exc:
                report.document_error = exc.message
            run.flush()
            run.finish()
            if progress is not None:
                progress(events.bytes_read)
        return report


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
    ) -> None:
        self.writer = writer
        self.report = report
        self.proceed = proceed
        self.batch_size = batch_size
        self.checkpointer = checkpointer
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
                where = f"event {earlier}" if earlier >= 0 else "an earlier event"
                self.report.add_error(
                    InvalidEvent(
                        f"duplicate event identity {identity!r}: already given by {where} of this"
                        " document",
                        index=item.index,
                        field="eventID",
                    )
                )
            elif seq is not None:
                self.report.duplicates += 1
            else:
                first_index[identity] = item.index
                kept.append(item)
        if not kept or not self._writing():
            return
        start = self.writer.next_seq
        write_batch(self.writer, kept, now_key())
        if self.mine and self.mine[-1][1] == start:  # contiguous: one range, not one per batch
            self.mine[-1] = (self.mine[-1][0], self.writer.next_seq)
        else:
            self.mine.append((start, self.writer.next_seq))
        self.report.stored += len(kept)
        if self.proceed:
            if self.checkpointer is not None:
                self.checkpointer.after_write(self.writer)
            self.writer.commit()

    def finish(self) -> None:
        if self._writing():
            if self.checkpointer is not None:
                self.checkpointer.now(self.writer)
                self.report.checkpoint = self.writer.log_size()
            self.writer.commit()
            self.report.committed = True
        else:
            self.writer.rollback()
            self.report.stored = 0
