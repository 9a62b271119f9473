"""Sweeps keep their environment (captured once per sweep), their spec file's path, and when their
state last changed.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sweeps") as batch:
        batch.add_column(sa.Column("environment", sa.Text(), nullable=True))
        batch.add_column(sa.Column("updated_at", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("source", sa.Text(), nullable=True))
        batch.create_index("ix_sweeps_name", ["name"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sweeps") as batch:
        batch.drop_index("ix_sweeps_name")
        batch.drop_column("source")
        batch.drop_column("updated_at")
        batch.drop_column("environment")
