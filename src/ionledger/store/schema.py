"""The relational schema, shared by both adapters (the migrations create exactly this).

``events`` is the immutable record. Everything else here is a projection: derived from events,
dropped and recomputed by ``ionledger rebuild``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

metadata: MetaData = MetaData()  # annotated: schema_* modules import it cyclically

# seq is assigned by the store under the writer lock: gapless, 0-based, in acceptance order. It is
# also the event's leaf index in the verifiable log (every accepted event is a leaf, in seq order).
events = Table(
    "events",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("identity", Text, nullable=False, unique=True),
    Column("hash_id", Text, nullable=True),
    Column("event_type", String(32), nullable=False),
    Column("event_time", String(32), nullable=False),  # UTC, fixed-width ISO 8601 (sortable)
    Column("record_time", String(32), nullable=False),
    Column("reporter", Text, nullable=False),
    Column("biz_step", Text, nullable=True),
    Column("doc", LargeBinary, nullable=False),  # the event as compact JSON, as received
)

# The query engine's indexes (migration 0003): time windows and time order are index range
# scans, seq breaking ties; bizStep and eventType narrow with the same time order behind them,
# and their leading column lets the value lists (eventTypes, bizSteps) be loose index scans.
Index("ix_events_event_time", events.c.event_time, events.c.seq)
Index("ix_events_record_time", events.c.record_time, events.c.seq)
Index("ix_events_biz_step", events.c.biz_step, events.c.event_time, events.c.seq)
Index("ix_events_event_type", events.c.event_type, events.c.event_time, events.c.seq)

# Which batteries (and vehicles) an event mentions: the index behind `trace`.
event_batteries = Table(
    "event_batteries",
    metadata,
    Column("battery_id", Text, nullable=False),
    Column("seq", BigInteger, nullable=False),
    PrimaryKeyConstraint("battery_id", "seq", name="pk_event_batteries"),
    sqlite_with_rowid=False,
)

# Current state of each battery. Each "latest" field carries the (time, seq) key that chose it,
# so that merging batches in any grouping gives the same row (rebuild reproduces it exactly).
batteries = Table(
    "batteries",
    metadata,
    Column("id", Text, primary_key=True),
    Column("kind", String(16), nullable=True),  # pack / module / cell
    Column("chemistry", String(16), nullable=True),
    Column("category", String(16), nullable=True),
    Column("rated_energy_kwh", Float, nullable=True),
    Column("capacity_ah", Float, nullable=True),
    Column("mass_kg", Float, nullable=True),
    Column("manufacturer", String(8), nullable=True),
    Column("first_seen", String(32), nullable=False),
    Column("state", String(16), nullable=True),
    Column("state_time", String(32), nullable=True),
    Column("state_seq", BigInteger, nullable=True),
    Column("custodian", Text, nullable=True),
    Column("custodian_time", String(32), nullable=True),
    Column("custodian_seq", BigInteger, nullable=True),
    Column("province", String(8), nullable=True),
    Column("province_time", String(32), nullable=True),
    Column("province_seq", BigInteger, nullable=True),
    Column("event_count", Integer, nullable=False),
    # Governance (migration 0006): when it was recycled or destroyed, and its first commissioning.
    Column("ended_time", String(32), nullable=True),
    Column("commissioned_seq", BigInteger, nullable=True),
)

# cell -> module -> pack -> vehicle (component / installed_in) and repurposed -> original.
genealogy = Table(
    "genealogy",
    metadata,
    Column("child", Text, nullable=False),
    Column("parent", Text, nullable=False),
    Column("relation", String(16), nullable=False),
    Column("added_seq", BigInteger, nullable=False),
    Column("removed_seq", BigInteger, nullable=True),
    PrimaryKeyConstraint("child", "parent", "added_seq", name="pk_genealogy"),
)
Index("ix_genealogy_parent", genealogy.c.parent)

test_results = Table(
    "test_results",
    metadata,
    Column("battery_id", Text, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("event_time", String(32), nullable=False),
    Column("soh_pct", Float, nullable=True),
    Column("capacity_ah", Float, nullable=True),
    Column("resistance_ohm", Float, nullable=True),
    PrimaryKeyConstraint("battery_id", "seq", name="pk_test_results"),
)

# The verifiable log (ionledger.ledger): tlog-tiles, keyed by tile level and index, widened in
# place while partial, written in the same transaction as the events they cover.
log_tiles = Table(
    "log_tiles",
    metadata,
    Column("level", Integer, nullable=False),
    Column("idx", BigInteger, nullable=False),
    Column("hashes", LargeBinary, nullable=False),  # the tile as served: width x 32 bytes
    Column("interior", LargeBinary, nullable=False),  # tree levels between it and its root
    PrimaryKeyConstraint("level", "idx", name="pk_log_tiles"),
)

# Every signed checkpoint ever issued (C2SP signed note), one per tree size.
log_checkpoints = Table(
    "log_checkpoints",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("note", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
)

# EPCIS REST capture jobs: the job document (JSON) as GET /capture/{id} serves it.
capture_jobs = Table(
    "capture_jobs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("created_at", String(32), nullable=False),
    Column("doc", LargeBinary, nullable=False),
)
Index("ix_capture_jobs_created", capture_jobs.c.created_at, capture_jobs.c.id)

# EPCIS REST named queries (migration 0005): the query parameters as the client sent them (JSON).
named_queries = Table(
    "named_queries",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("query", LargeBinary, nullable=False),
    Column("created_at", String(32), nullable=False),
)

# Webhook subscriptions to named queries. next_seq is the delivery position: every matching event
# with a lower seq was delivered (seq is gapless and in commit order, so nothing slips behind it).
# It moves only in the transaction that records a 2xx from the subscriber. The lease keeps two
# delivering processes over one store from sending the same batch.
subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("query_name", String(128), nullable=False),
    Column("dest", Text, nullable=False),
    Column("signature_token", Text, nullable=True),
    Column("stream", Boolean, nullable=False),
    Column("schedule", Text, nullable=True),  # JSON: the QuerySchedule fields as given
    Column("report_if_empty", Boolean, nullable=False),
    Column("initial_record_time", String(32), nullable=True),
    Column("created_at", String(32), nullable=False),
    Column("next_seq", BigInteger, nullable=False),
    Column("delivered_record_time", String(32), nullable=True),  # of the last event delivered
    Column("last_notified_at", String(32), nullable=True),
    Column("next_run", String(32), nullable=True),  # scheduled: the next query time (UTC key)
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", String(32), nullable=True),
    # Migration 0009: the enterprise that subscribed (NULL: the operator); deliveries are what
    # it may read.
    Column("subscriber", Text, nullable=True),
    Column("epc_format", String(32), nullable=True),  # GS1-EPC-Format of deliveries
)
Index("ix_subscriptions_query", subscriptions.c.query_name, subscriptions.c.id)

# -- governance (migration 0006) ------------------------------------------------------------------
# The registry as registry records in the log left it: one JSON document per enterprise, site
# (key: GLN) and white-list entry (key: enterprise + category). Rebuilt from the log like any
# other projection.
registry_entries = Table(
    "registry_entries",
    metadata,
    Column("kind", String(16), nullable=False),
    Column("key", Text, nullable=False),
    Column("doc", LargeBinary, nullable=False),
    Column("seq", BigInteger, nullable=False),
    PrimaryKeyConstraint("kind", "key", name="pk_registry_entries"),
)

# Shipments of each battery; open until a matching receipt closes them.
transfers = Table(
    "transfers",
    metadata,
    Column("battery_id", Text, nullable=False),
    Column("ship_seq", BigInteger, nullable=False),
    Column("shipper", Text, nullable=False),
    Column("destination", Text, nullable=True),  # the destination as named (party or location)
    Column("receiver", Text, nullable=True),  # the registered enterprise it names, if any
    Column("event_time", String(32), nullable=False),
    Column("received_seq", BigInteger, nullable=True),
    PrimaryKeyConstraint("battery_id", "ship_seq", name="pk_transfers"),
)

# Who may read a battery's history: every enterprise that reported on or received it, and every
# province it was in or passed through ("province:CN-GD"). Keyed by party first: the access
# filter joins on it.
battery_parties = Table(
    "battery_parties",
    metadata,
    Column("party", Text, nullable=False),
    Column("battery_id", Text, nullable=False),
    PrimaryKeyConstraint("party", "battery_id", name="pk_battery_parties"),
)

# Breaches of duty found on capture (rules that alert; rejected records are never stored).
alerts = Table(
    "alerts",
    metadata,
    Column("seq", BigInteger, nullable=False),  # the event that raised it
    Column("rule", String(48), nullable=False),
    Column("subject", Text, nullable=False),  # the battery, or enterprise/year for capacity
    Column("reporter", Text, nullable=False),
    Column("province", String(8), nullable=True),
    Column("event_time", String(32), nullable=False),
    Column("message", Text, nullable=False),
    Column("details", LargeBinary, nullable=False),  # JSON
    PrimaryKeyConstraint("seq", "rule", "subject", name="pk_alerts"),
)
Index("ix_alerts_rule", alerts.c.rule, alerts.c.seq)
Index("ix_alerts_reporter", alerts.c.reporter, alerts.c.seq)

# Mass a recycler put through recycling, per calendar year (the capacity rule's running total).
recycler_tonnage = Table(
    "recycler_tonnage",
    metadata,
    Column("enterprise", Text, nullable=False),
    Column("year", Integer, nullable=False),
    Column("kg", Float, nullable=False),
    PrimaryKeyConstraint("enterprise", "year", name="pk_recycler_tonnage"),
)

# API credentials: only a hash of the secret is kept (the secret is shown once).
credentials = Table(
    "credentials",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("enterprise", Text, nullable=False),
    Column("scopes", Text, nullable=False),  # space-separated
    Column("secret_hash", String(64), nullable=False),
    Column("label", Text, nullable=True),
    Column("created_at", String(32), nullable=False),
    Column("expires_at", String(32), nullable=True),
    Column("revoked_at", String(32), nullable=True),
)

# Capture documents signed by an enterprise's key, kept whole for non-repudiation.
signed_captures = Table(
    "signed_captures",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("enterprise", Text, nullable=False),
    Column("public_key", Text, nullable=False),
    Column("signature", Text, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("first_seq", BigInteger, nullable=True),
    Column("last_seq", BigInteger, nullable=True),
    Column("created_at", String(32), nullable=False),
)

PROJECTIONS: tuple[Table, ...] = (
    event_batteries,
    batteries,
    genealogy,
    test_results,
    registry_entries,
    transfers,
    battery_parties,
    alerts,
    recycler_tonnage,
)

# The analytics fact tables (migration 0007, docs/analytics.md): projections like those above.
from ionledger.store.schema_facts import FACT_PROJECTIONS  # noqa: E402

PROJECTIONS = (*PROJECTIONS, *(t.to_metadata(metadata) for t in FACT_PROJECTIONS))

# EPR certificates (migration 0008): defined in schema_epr, registered here.
from ionledger.store.schema_epr import EPR_PROJECTIONS  # noqa: E402

PROJECTIONS = (*PROJECTIONS, *(t.to_metadata(metadata) for t in EPR_PROJECTIONS))
