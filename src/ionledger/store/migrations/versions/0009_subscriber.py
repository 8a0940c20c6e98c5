"""Who subscribed, and in which GS1-EPC-Format: a subscription delivers only what its
subscriber may read, its identifiers written as it asked when it subscribed.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision: str | None = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL: made before credentials existed (or by the operator): it reads everything.
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("subscriber", sa.Text, nullable=True))
        batch.add_column(sa.Column("epc_format", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("epc_format")
        batch.drop_column("subscriber")
