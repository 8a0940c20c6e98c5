"""The query engine's indexes on events: event time, record time, bizStep, eventType.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels = None
depends_on = None

# name -> columns; the same as ionledger.store.schema (seq last: the order's tie-breaker).
INDEXES: dict[str, list[str]] = {
    "ix_events_event_time": ["event_time", "seq"],
    "ix_events_record_time": ["record_time", "seq"],
    "ix_events_biz_step": ["biz_step", "event_time", "seq"],
    "ix_events_event_type": ["event_type", "event_time", "seq"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "events", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="events")
