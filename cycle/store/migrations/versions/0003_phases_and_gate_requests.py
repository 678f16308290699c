"""Phase progress recorded by the flows, and open gate requests (run, expiry).

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
    op.create_table(
        "phase_progress",
        sa.Column("cycle", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("phase", sa.String(length=30), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("state IN ('open', 'completed')", name=op.f("ck_phase_progress_state")),
        sa.ForeignKeyConstraint(["cycle"], ["cycle.number"], name=op.f("fk_phase_progress_cycle_cycle")),
        sa.PrimaryKeyConstraint("cycle", "phase", name=op.f("pk_phase_progress")),
    )
    with op.batch_alter_table("gate") as batch:
        batch.add_column(sa.Column("requested_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("request_run", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("gate") as batch:
        batch.drop_column("expires_at")
        batch.drop_column("request_run")
        batch.drop_column("requested_at")
    op.drop_table("phase_progress")
