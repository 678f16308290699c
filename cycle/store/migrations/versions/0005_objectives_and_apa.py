"""Objectives with their history and ratings; APA activities proposed by the bodies
and the frozen versions of each cycle's APA; an activity item's facts.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "activity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("body", sa.String(length=60), nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("title_en", sa.Text(), nullable=False),
        sa.Column("title_es", sa.Text(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("window", sa.Boolean(), nullable=False),
        sa.Column("host", sa.String(length=60), nullable=False),
        sa.Column("participants", sa.Text(), nullable=False),
        sa.Column("line_of_effort", sa.String(length=60), nullable=False),
        sa.Column("objectives", sa.Text(), nullable=False),
        sa.Column("location_en", sa.Text(), nullable=True),
        sa.Column("location_es", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("proposed_by", sa.String(length=200), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("state IN ('proposed', 'withdrawn')", name=op.f("ck_activity_state")),
        sa.ForeignKeyConstraint(["body"], ["body.slug"], name=op.f("fk_activity_body_body")),
        sa.ForeignKeyConstraint(["cycle"], ["cycle.number"], name=op.f("fk_activity_cycle_cycle")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity")),
        sa.UniqueConstraint("key", name=op.f("uq_activity_key")),
    )
    op.create_index(op.f("ix_activity_cycle"), "activity", ["cycle"], unique=False)
    op.create_table(
        "apa_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("activities", sa.Text(), nullable=False),
        sa.Column("change", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.Text(), nullable=False),
        sa.Column("gate", sa.String(length=200), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('validated', 'amendment')", name=op.f("ck_apa_version_kind")),
        sa.ForeignKeyConstraint(["cycle"], ["cycle.number"], name=op.f("fk_apa_version_cycle_cycle")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apa_version")),
        sa.UniqueConstraint("cycle", "version", name=op.f("uq_apa_version_cycle_version")),
    )
    op.create_table(
        "objective",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=130), nullable=False),
        sa.Column("body", sa.String(length=60), nullable=False),
        sa.Column("slug", sa.String(length=60), nullable=False),
        sa.Column("horizon", sa.String(length=60), nullable=False),
        sa.Column("line_of_effort", sa.String(length=60), nullable=False),
        sa.Column("owner", sa.String(length=60), nullable=False),
        sa.Column("title_en", sa.Text(), nullable=False),
        sa.Column("title_es", sa.Text(), nullable=False),
        sa.Column("indicators", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("first_cycle", sa.Integer(), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("target", sa.Date(), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('proposed', 'active', 'achieved', 'dropped')", name=op.f("ck_objective_status")
        ),
        sa.ForeignKeyConstraint(["body"], ["body.slug"], name=op.f("fk_objective_body_body")),
        sa.ForeignKeyConstraint(["cycle"], ["cycle.number"], name=op.f("fk_objective_cycle_cycle")),
        sa.ForeignKeyConstraint(
            ["first_cycle"], ["cycle.number"], name=op.f("fk_objective_first_cycle_cycle")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_objective")),
        sa.UniqueConstraint("body", "slug", name=op.f("uq_objective_body_slug")),
        sa.UniqueConstraint("key", name=op.f("uq_objective_key")),
    )
    op.create_index(op.f("ix_objective_cycle"), "objective", ["cycle"], unique=False)
    op.create_table(
        "objective_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("objective_id", sa.Integer(), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("meeting", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["objective_id"], ["objective.id"], name=op.f("fk_objective_event_objective_id_objective")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_objective_event")),
    )
    op.create_index(
        op.f("ix_objective_event_objective_id"), "objective_event", ["objective_id"], unique=False
    )
    op.create_table(
        "objective_rating",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("objective_id", sa.Integer(), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("effectiveness", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("rated_by", sa.String(length=200), nullable=False),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["cycle"], ["cycle.number"], name=op.f("fk_objective_rating_cycle_cycle")),
        sa.ForeignKeyConstraint(
            ["objective_id"], ["objective.id"], name=op.f("fk_objective_rating_objective_id_objective")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_objective_rating")),
        sa.UniqueConstraint("objective_id", "cycle", name=op.f("uq_objective_rating_objective_id_cycle")),
    )
    op.create_index(
        op.f("ix_objective_rating_objective_id"), "objective_rating", ["objective_id"], unique=False
    )
    op.add_column("planned_item", sa.Column("activity", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("planned_item", "activity")
    op.drop_index(op.f("ix_objective_rating_objective_id"), table_name="objective_rating")
    op.drop_table("objective_rating")
    op.drop_index(op.f("ix_objective_event_objective_id"), table_name="objective_event")
    op.drop_table("objective_event")
    op.drop_index(op.f("ix_objective_cycle"), table_name="objective")
    op.drop_table("objective")
    op.drop_table("apa_version")
    op.drop_index(op.f("ix_activity_cycle"), table_name="activity")
    op.drop_table("activity")
