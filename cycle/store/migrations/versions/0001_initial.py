"""Initial schema: cycles, bodies, planned items, deliverables, gates, change log.

Revision ID: 0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "body",
        sa.Column("slug", sa.String(length=60), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("name_es", sa.Text(), nullable=False),
        sa.Column("line_of_effort", sa.String(length=60), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("slug", name=op.f("pk_body")),
    )
    op.create_table(
        "change_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=True),
        sa.Column("item_key", sa.String(length=200), nullable=True),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_log")),
    )
    with op.batch_alter_table("change_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_change_log_cycle"), ["cycle"], unique=False)
        batch_op.create_index(batch_op.f("ix_change_log_item_key"), ["item_key"], unique=False)

    op.create_table(
        "cycle",
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=False),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column("planned_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_cycle")),
    )
    op.create_table(
        "planned_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("body", sa.String(length=60), nullable=True),
        sa.Column("phase", sa.String(length=30), nullable=False),
        sa.Column("owner", sa.String(length=60), nullable=True),
        sa.Column("host", sa.String(length=60), nullable=True),
        sa.Column("title_en", sa.Text(), nullable=False),
        sa.Column("title_es", sa.Text(), nullable=False),
        sa.Column("location_en", sa.Text(), nullable=True),
        sa.Column("location_es", sa.Text(), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("first_day", sa.Date(), nullable=True),
        sa.Column("last_day", sa.Date(), nullable=True),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('planned', 'cancelled')", name=op.f("ck_planned_item_status")),
        sa.ForeignKeyConstraint(["cycle"], ["cycle.number"], name=op.f("fk_planned_item_cycle_cycle")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planned_item")),
        sa.UniqueConstraint("key", name=op.f("uq_planned_item_key")),
    )
    with op.batch_alter_table("planned_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_planned_item_body"), ["body"], unique=False)
        batch_op.create_index("ix_planned_item_cycle_kind", ["cycle", "kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_planned_item_due"), ["due"], unique=False)
        batch_op.create_index(batch_op.f("ix_planned_item_owner"), ["owner"], unique=False)

    op.create_table(
        "deliverable",
        sa.Column("item_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_by", sa.String(length=200), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_by", sa.String(length=200), nullable=True),
        sa.Column("waived_reason", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('pending', 'submitted', 'accepted', 'waived')", name=op.f("ck_deliverable_state")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["planned_item.id"], name=op.f("fk_deliverable_item_id_planned_item")
        ),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_deliverable")),
    )
    with op.batch_alter_table("deliverable", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deliverable_state"), ["state"], unique=False)

    op.create_table(
        "gate",
        sa.Column("item_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.Text(), nullable=True),
        sa.Column("decision", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('pending', 'approved', 'rejected', 'timed-out')", name=op.f("ck_gate_state")
        ),
        sa.ForeignKeyConstraint(["item_id"], ["planned_item.id"], name=op.f("fk_gate_item_id_planned_item")),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_gate")),
    )


def downgrade() -> None:
    op.drop_table("gate")
    with op.batch_alter_table("deliverable", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deliverable_state"))

    op.drop_table("deliverable")
    with op.batch_alter_table("planned_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_planned_item_owner"))
        batch_op.drop_index(batch_op.f("ix_planned_item_due"))
        batch_op.drop_index("ix_planned_item_cycle_kind")
        batch_op.drop_index(batch_op.f("ix_planned_item_body"))

    op.drop_table("planned_item")
    op.drop_table("cycle")
    with op.batch_alter_table("change_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_change_log_item_key"))
        batch_op.drop_index(batch_op.f("ix_change_log_cycle"))

    op.drop_table("change_log")
    op.drop_table("body")
