"""A sweep keeps its trial cap (``--trials``) for resume and its controller's lease (host, pid,
since when, last heartbeat); a run keeps its writer's last heartbeat.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sweeps") as batch:
        batch.add_column(sa.Column("trial_cap", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("lease_host", sa.String(255), nullable=True))
        batch.add_column(sa.Column("lease_pid", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("lease_since", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("heartbeat_at", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("heartbeat_at")
    with op.batch_alter_table("sweeps") as batch:
        batch.drop_column("heartbeat_at")
        batch.drop_column("lease_since")
        batch.drop_column("lease_pid")
        batch.drop_column("lease_host")
        batch.drop_column("trial_cap")
