"""Changing the registry: each change is validated, then appended to the verifiable log as a
registry record and applied to the registry tables, in one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import msgspec

from ionledger.epcis.times import now_key
from ionledger.errors import ValidationError
from ionledger.governance.engine import Governor
from ionledger.governance.registry import (
    REGISTRY_RECORD_TYPE,
    Enterprise,
    Registry,
    RegistryChange,
    Site,
    WhiteListEntry,
    decode_entry,
)
from ionledger.services.log import Checkpointer
from ionledger.store.port import EventStore, GovernanceDelta, PreparedEvent

REGISTRY_ID_PREFIX = "urn:ionledger:registry:"


def record_doc(change: RegistryChange, when: str) -> bytes:
    """A registry record as the log keeps it."""
    doc = {"type": REGISTRY_RECORD_TYPE, "op": change.op, "data": change.data, "eventTime": when}
    return msgspec.json.encode(doc)


def change_registry(
    store: EventStore,
    changes: Sequence[RegistryChange],
    *,
    actor: str,
    checkpointer: Checkpointer | None = None,
) -> list[str]:
    """Apply the changes, all or none; returns the identities of their registry records."""
    if not changes:
        return []
    when = now_key()
    governor = Governor()
    with store.writer() as writer:
        records: list[PreparedEvent] = []
        for i, change in enumerate(changes):
            delta = GovernanceDelta()  # applied change by change: each sees the ones before
            try:
                governor.registry_change(writer, change, writer.next_seq + i, delta)
            except ValidationError as exc:
                raise ValidationError(f"change {i} ({change.op}): {exc.message}") from None
            writer.apply_governance(delta)
            records.append(
                PreparedEvent(
                    identity=REGISTRY_ID_PREFIX + str(uuid.uuid4()),
                    hash_id=None,
                    event_type=REGISTRY_RECORD_TYPE,
                    event_time=when,
                    reporter=actor,
                    biz_step=None,
                    doc=record_doc(change, when),
                )
            )
        writer.append(records, when)
        if checkpointer is not None:
            checkpointer.now(writer)
        writer.commit()
    return [r.identity for r in records]


def load_registry(store: EventStore) -> Registry:
    registry = Registry()
    for kind, _key, doc, _seq in store.registry_entries():
        registry.put(kind, decode_entry(kind, doc))
    return registry


def changes_from_generator(doc: dict[str, Any]) -> list[RegistryChange]:
    """The changes that register what ``ionledger generate`` put in registry.json."""
    enterprises: list[RegistryChange] = []
    rest: list[RegistryChange] = []
    for e in doc.get("enterprises", []):
        prefix = e.get("companyPrefix")
        enterprise = Enterprise(
            id=e["id"],
            name=e["name"],
            registry_id=e["registryId"],
            roles=list(e["roles"]),
            province=e["province"],
            company_prefixes=[prefix] if prefix else [],
            glns=[e["pgln"]] if e.get("pgln") else [],
            manufacturer_codes=list(e.get("manufacturerCodes", [])),
        )
        enterprises.append(RegistryChange("enterprise.put", msgspec.to_builtins(enterprise)))
        for site in e.get("sites", []):
            s = Site(gln=site["sgln"], enterprise=e["id"], province=site["province"],
                     kind=site["kind"])  # fmt: skip
            rest.append(RegistryChange("site.put", msgspec.to_builtins(s)))
        for w in e.get("whiteList", []):
            entry = WhiteListEntry(
                enterprise=e["id"],
                category=w["category"],
                batch=int(w["batch"]),
                capacity_tpa=float(w["capacityTpa"]),
                valid_from=w["validFrom"],
                valid_to=w.get("validTo"),
            )
            rest.append(RegistryChange("whitelist.put", msgspec.to_builtins(entry)))
    return enterprises + rest
