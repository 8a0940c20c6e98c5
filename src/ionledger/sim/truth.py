"""truth.json: what really happened to every pack, streamed pack by pack.

Schema::

    {"schemaVersion": 2, "seed": int, "startYear": int, "endDate": "2026-06-30",
     "formalShare": float, "anomalyRate": float,
     "anomalyKinds": [...],              # the kinds this run plants: all, or none at rate 0
     "anomalyRules": {"<kind>": "<rule ID>"},   # every kind and the rule it trips
     "sohPlausible": [50.0, 95.0],
     "unregisteredParties": [{"id", "name", "province", "pgln", "sgln"}],   # informal workshops
     "packs": {"<24-char GB/T 34014 code>": {
         "chemistry": "LFP", "kWh": 60.0, "massKg": 412.3, "produced": "2021-03-04",
         "province": "CN-GD",            # where the vehicle was sold and used
         "producer": "VM0003",           # vehicle maker (the EPR producer)
         "batteryMaker": "BM0001", "vin": str,
         "retired": "2029-01-02" | null, # end of traction use (scrapping or replacement)
         "fate": "in_service" | "formal_second_life" | "formal_recycled" | "informal"
                 | "in_formal_pipeline",
         "channel": "formal" | "informal" | null,
         "anomalies": [{"kind": str, "eventID": "urn:uuid:...", "rule": "<rule ID>"}],
         # only where they apply:
         "informal": "silent" | "removed" | "diverted", "handler": "WL0001",
         "secondLifeCode": str, "replaces": str, "replacedBy": str}},
     "registryAnomalies": [             # anomalies of the registry, not of one event
         {"kind": "over_capacity", "rule": "recycling.over-capacity",
          "enterprise": "WL0003", "year": 2031}],
     "summary": {"packs", "replacementPacks", "events", "documents", "retired",
                 "fates": {...}, "channels": {...},
                 "anomalies": {"<kind>": int, ...}}}   # every kind, registry ones included

An anomaly's event names the pack (or, for installation_after_recycling and second_pack, one of
its modules); see :mod:`ionledger.sim.anomalies` for how each kind is planted. "informal" is
"diverted" only for a planted diversion.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from ionledger.sim.anomalies import ANOMALY_KINDS
from ionledger.sim.lifecycle import FATES


class TruthAnomaly(msgspec.Struct, frozen=True):
    kind: str
    event_id: str = msgspec.field(name="eventID")
    rule: str


class RegistryAnomaly(msgspec.Struct, frozen=True):
    kind: str
    rule: str
    enterprise: str
    year: int


class TruthPack(msgspec.Struct, omit_defaults=True):
    chemistry: str
    kwh: float = msgspec.field(name="kWh")
    mass_kg: float = msgspec.field(name="massKg")
    produced: str
    province: str
    producer: str
    battery_maker: str = msgspec.field(name="batteryMaker")
    vin: str
    retired: str | None
    fate: str
    channel: str | None
    anomalies: list[TruthAnomaly]
    informal: str | None = None
    handler: str | None = None
    second_life_code: str | None = msgspec.field(default=None, name="secondLifeCode")
    replaces: str | None = None
    replaced_by: str | None = msgspec.field(default=None, name="replacedBy")


class Tally(msgspec.Struct):
    """Counts for truth.json's summary, kept per chunk and added up."""

    packs: int = 0
    spares: int = 0
    retired: int = 0
    fates: dict[str, int] = msgspec.field(default_factory=lambda: dict.fromkeys(FATES, 0))
    channels: dict[str, int] = msgspec.field(
        default_factory=lambda: dict.fromkeys(("formal", "informal"), 0)
    )
    anomalies: dict[str, int] = msgspec.field(
        default_factory=lambda: dict.fromkeys(ANOMALY_KINDS, 0)
    )
    # (enterprise index, year) -> kg its stored recycling reports took in: (by the input
    # packs' mass, by the input modules' own mass); see anomalies.plant_over_capacity.
    processed: dict[tuple[int, int], tuple[float, float]] = msgspec.field(default_factory=dict)

    def count(self, pack: TruthPack) -> None:
        self.packs += 1
        self.spares += pack.replaces is not None
        self.retired += pack.retired is not None
        self.fates[pack.fate] += 1
        if pack.channel is not None:
            self.channels[pack.channel] += 1
        for a in pack.anomalies:
            self.anomalies[a.kind] += 1

    def merge(self, other: Tally) -> None:
        self.packs += other.packs
        self.spares += other.spares
        self.retired += other.retired
        for mine, theirs in (
            (self.fates, other.fates),
            (self.channels, other.channels),
            (self.anomalies, other.anomalies),
        ):
            for key, n in theirs.items():
                mine[key] += n
        for year_key, (hi, lo) in other.processed.items():
            was_hi, was_lo = self.processed.get(year_key, (0.0, 0.0))
            self.processed[year_key] = (was_hi + hi, was_lo + lo)


class TruthWriter:
    """Streams truth.json: the head, then each chunk's pack entries, then the summary."""

    def __init__(self, path: Path, head: dict[str, Any]) -> None:
        self._enc = msgspec.json.Encoder()
        self._file = path.open("wb")
        self._file.write(self._enc.encode(head)[:-1] + b',"packs":{')
        self._first = True
        self.tally = Tally()

    def write(self, entries: bytes, tally: Tally) -> None:
        """``entries``: ``"code":{...}`` members joined by commas (see :func:`encode_entries`)."""
        if entries:
            self._file.write(entries if self._first else b",\n" + entries)
            self._first = False
        self.tally.merge(tally)

    def close(
        self, *, events: int, documents: int, registry: list[RegistryAnomaly]
    ) -> dict[str, Any]:
        t = self.tally
        for anomaly in registry:
            t.anomalies[anomaly.kind] += 1
        summary = {
            "packs": t.packs,
            "replacementPacks": t.spares,
            "events": events,
            "documents": documents,
            "retired": t.retired,
            "fates": t.fates,
            "channels": t.channels,
            "anomalies": t.anomalies,
        }
        self._file.write(b'\n},"registryAnomalies":' + self._enc.encode(registry))
        self._file.write(b',"summary":' + self._enc.encode(summary) + b"}\n")
        self._file.close()
        return summary

    def abort(self) -> None:
        self._file.close()


def encode_entries(enc: msgspec.json.Encoder, entries: list[tuple[str, TruthPack]]) -> bytes:
    buf = bytearray()
    for i, (code, pack) in enumerate(entries):
        if i:
            buf += b",\n"
        enc.encode_into(code, buf, -1)
        buf += b":"
        enc.encode_into(pack, buf, -1)
    return bytes(buf)
