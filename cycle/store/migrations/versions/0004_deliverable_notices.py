"""Reminders and escalations the overdue check has given, once each; an index of the
pending deliverables the check reads.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deliverable_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("notice", sa.String(length=20), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("level_slug", sa.String(length=60), nullable=True),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("working_days_late", sa.Integer(), nullable=False),
        sa.Column("noticed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("announced_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "notice IN ('due-soon', 'overdue', 'escalated')", name=op.f("ck_deliverable_notice_notice")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["planned_item.id"], name=op.f("fk_deliverable_notice_item_id_planned_item")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliverable_notice")),
        sa.UniqueConstraint(
            "item_id", "notice", "level", "due", name=op.f("uq_deliverable_notice_item_id_notice_level_due")
        ),
    )
    op.create_index(op.f("ix_deliverable_notice_item_id"), "deliverable_notice", ["item_id"], unique=False)
    op.create_index(
        "ix_deliverable_pending",
        "deliverable",
        ["item_id"],
        unique=False,
        postgresql_where=sa.text("state = 'pending'"),
        sqlite_where=sa.text("state = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index("ix_deliverable_pending", table_name="deliverable")
    op.drop_index(op.f("ix_deliverable_notice_item_id"), table_name="deliverable_notice")
    op.drop_table("deliverable_notice")
