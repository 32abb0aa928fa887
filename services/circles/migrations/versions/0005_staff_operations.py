"""Staff operations (issue 15): the audit trail of staff actions, registrations that need
approval (`events.requires_approval`, statuses `pending_approval` and `declined`, the decline
reason) and event types admins can deactivate (`event_types.active`).

`pending_approval` counts as active (one application per person and event) but takes no seat,
so the partial unique index and the status CHECK are rebuilt with the new values.

Revision ID: 0005_staff_operations
Revises: 0004
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005_staff_operations"
down_revision = "0004"
branch_labels = None
depends_on = None

S = "circles"
OLD_STATUSES = "'confirmed', 'pending_payment', 'waitlisted', 'cancelled', 'expired'"
NEW_STATUSES = OLD_STATUSES + ", 'pending_approval', 'declined'"
OLD_ACTIVE = "'confirmed', 'pending_payment', 'waitlisted'"
NEW_ACTIVE = OLD_ACTIVE + ", 'pending_approval'"


def _statuses(statuses: str, active: str) -> None:
    op.drop_constraint(op.f("ck_event_registrations_status"), "event_registrations", schema=S, type_="check")
    op.create_check_constraint(
        op.f("ck_event_registrations_status"), "event_registrations", f"status IN ({statuses})", schema=S
    )
    op.drop_index("uq_event_registrations_active", table_name="event_registrations", schema=S)
    op.create_index(
        "uq_event_registrations_active",
        "event_registrations",
        ["event_id", "user_id"],
        unique=True,
        schema=S,
        postgresql_where=sa.text(f"status IN ({active})"),
    )


def upgrade() -> None:
    op.create_table(
        "staff_actions",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("actor_user_id", sa.UUID(), nullable=False),
        sa.Column("subject_user_id", sa.UUID(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("details", postgresql.JSONB(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_staff_actions"),
        schema=S,
    )
    op.create_index("ix_staff_actions_subject_user_id", "staff_actions", ["subject_user_id", "created_at"], schema=S)
    op.create_index("ix_staff_actions_actor_user_id", "staff_actions", ["actor_user_id", "created_at"], schema=S)
    op.add_column(
        "events",
        sa.Column("requires_approval", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        schema=S,
    )
    op.add_column("event_registrations", sa.Column("decline_reason", sa.Text(), nullable=True), schema=S)
    _statuses(NEW_STATUSES, NEW_ACTIVE)
    op.add_column(
        "event_types", sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False), schema=S
    )


def downgrade() -> None:
    op.drop_column("event_types", "active", schema=S)
    # Applications and declines have no place in the old vocabulary: they end as cancelled.
    op.execute(
        "UPDATE circles.event_registrations SET status = 'cancelled', cancelled_at = coalesce(cancelled_at, now()) "
        "WHERE status IN ('pending_approval', 'declined')"
    )
    _statuses(OLD_STATUSES, OLD_ACTIVE)
    op.drop_column("event_registrations", "decline_reason", schema=S)
    op.drop_column("events", "requires_approval", schema=S)
    op.drop_table("staff_actions", schema=S)
