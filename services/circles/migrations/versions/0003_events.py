"""Events: event types (lookup, seeded), events, attached circles, invitations, requirements,
requirement templates, registrations (with waitlist positions and seat holds) and event staff.

Concurrency rules are constraints here: seats_taken <= capacity (CHECK), one active registration
per person and event (partial unique index), dense waitlist positions (deferred unique).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

S = "circles"
EVENT_TYPES = [
    ("movie_night", "Movie night"),
    ("workshop", "Workshop"),
    ("day_retreat", "Day retreat"),
    ("multi_day_retreat", "Multi-day retreat"),
    ("meetup", "Meetup"),
]
ACTIVE = "status IN ('confirmed', 'pending_payment', 'waitlisted')"


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    ]


def _event_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["event_id"], [f"{S}.events.id"], name=f"fk_{table}_event_id_events", ondelete="CASCADE"
    )


def upgrade() -> None:
    event_types = op.create_table(
        "event_types",
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("label", sa.String(80), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_event_types"),
        schema=S,
    )
    op.bulk_insert(event_types, [{"code": code, "label": label} for code, label in EVENT_TYPES])

    op.create_table(
        "events",
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("city", sa.String(120), nullable=True),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("url", sa.String(2000), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("price_amount", sa.Integer(), nullable=False),
        sa.Column("price_currency", sa.String(3), nullable=False),
        sa.Column("instalments", sa.Integer(), nullable=True),
        sa.Column("registration_opens_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("registration_closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("visibility", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("seats_taken", sa.Integer(), nullable=False),
        sa.Column("confirmed_count", sa.Integer(), nullable=False),
        sa.Column("waitlist_count", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        *_timestamps(),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_events_ends_after_start")),
        sa.CheckConstraint("capacity > 0", name=op.f("ck_events_capacity_positive")),
        sa.CheckConstraint(
            "seats_taken >= 0 AND seats_taken <= capacity", name=op.f("ck_events_seats_within_capacity")
        ),
        sa.CheckConstraint(
            "confirmed_count >= 0 AND confirmed_count <= seats_taken", name=op.f("ck_events_confirmed_within_seats")
        ),
        sa.CheckConstraint("waitlist_count >= 0", name=op.f("ck_events_waitlist_count_nonnegative")),
        sa.CheckConstraint("price_amount >= 0", name=op.f("ck_events_price_nonnegative")),
        sa.CheckConstraint("price_currency ~ '^[A-Z]{3}$'", name=op.f("ck_events_currency_iso")),
        sa.CheckConstraint(
            "instalments IS NULL OR (instalments BETWEEN 2 AND 12 AND price_amount > 0)",
            name=op.f("ck_events_payment_plan"),
        ),
        sa.CheckConstraint(
            "registration_opens_at IS NULL OR registration_closes_at IS NULL "
            "OR registration_opens_at < registration_closes_at",
            name=op.f("ck_events_registration_window"),
        ),
        sa.CheckConstraint("visibility IN ('public', 'circles', 'invited')", name=op.f("ck_events_visibility")),
        sa.CheckConstraint("status IN ('draft', 'published', 'cancelled', 'completed')", name=op.f("ck_events_status")),
        sa.ForeignKeyConstraint(["type"], [f"{S}.event_types.code"], name="fk_events_type_event_types"),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        schema=S,
    )
    op.create_index("ix_events_starts_at_id", "events", ["starts_at", "id"], schema=S)
    op.create_index("ix_events_status", "events", ["status"], schema=S)

    op.create_table(
        "event_circles",
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("circle_id", sa.UUID(), nullable=False),
        _event_fk("event_circles"),
        sa.PrimaryKeyConstraint("event_id", "circle_id", name="pk_event_circles"),
        schema=S,
    )
    op.create_index("ix_event_circles_circle_id", "event_circles", ["circle_id"], schema=S)

    op.create_table(
        "event_invitations",
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        _event_fk("event_invitations"),
        sa.PrimaryKeyConstraint("event_id", "user_id", name="pk_event_invitations"),
        schema=S,
    )
    op.create_index("ix_event_invitations_user_id", "event_invitations", ["user_id"], schema=S)

    op.create_table(
        "event_requirements",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("params", postgresql.JSONB(), nullable=False),
        _event_fk("event_requirements"),
        sa.PrimaryKeyConstraint("id", name="pk_event_requirements"),
        sa.UniqueConstraint("event_id", "position", name="uq_event_requirements_event_position"),
        schema=S,
    )

    op.create_table(
        "event_requirement_templates",
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("requirements", postgresql.JSONB(), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_event_requirement_templates"),
        sa.UniqueConstraint("name", name="uq_event_requirement_templates_name"),
        schema=S,
    )

    op.create_table(
        "event_registrations",
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("waitlist_position", sa.Integer(), nullable=True),
        sa.Column("hold_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("instalments", sa.Integer(), nullable=False),
        sa.Column("sponsor_user_id", sa.UUID(), nullable=True),
        sa.Column("care_user_id", sa.UUID(), nullable=True),
        sa.Column("answers", postgresql.JSONB(), nullable=False),
        sa.Column("declared_birth_date", sa.Date(), nullable=True),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("payment_overdue_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("payment_event_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.String(40), nullable=True),
        sa.Column("refund", sa.String(10), nullable=True),
        sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checked_in_by", sa.UUID(), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        *_timestamps(),
        sa.CheckConstraint(
            "status IN ('confirmed', 'pending_payment', 'waitlisted', 'cancelled', 'expired')",
            name=op.f("ck_event_registrations_status"),
        ),
        sa.CheckConstraint(
            "(status = 'waitlisted') = (waitlist_position IS NOT NULL)",
            name=op.f("ck_event_registrations_waitlist_position"),
        ),
        sa.CheckConstraint(
            "status <> 'pending_payment' OR hold_expires_at IS NOT NULL",
            name=op.f("ck_event_registrations_hold_has_expiry"),
        ),
        sa.CheckConstraint(
            "waitlist_position IS NULL OR waitlist_position > 0",
            name=op.f("ck_event_registrations_waitlist_position_positive"),
        ),
        sa.CheckConstraint(
            "sponsor_user_id IS NULL OR sponsor_user_id <> user_id",
            name=op.f("ck_event_registrations_sponsor_not_self"),
        ),
        _event_fk("event_registrations"),
        sa.PrimaryKeyConstraint("id", name="pk_event_registrations"),
        sa.UniqueConstraint(
            "event_id",
            "waitlist_position",
            name="uq_event_registrations_waitlist_position",
            deferrable=True,
            initially="DEFERRED",
        ),
        schema=S,
    )
    op.create_index(
        "uq_event_registrations_active",
        "event_registrations",
        ["event_id", "user_id"],
        unique=True,
        schema=S,
        postgresql_where=sa.text(ACTIVE),
    )
    op.create_index(
        "ix_event_registrations_holds",
        "event_registrations",
        ["hold_expires_at"],
        schema=S,
        postgresql_where=sa.text("status = 'pending_payment'"),
    )
    op.create_index("ix_event_registrations_user_id", "event_registrations", ["user_id"], schema=S)
    op.create_index(
        "ix_event_registrations_event_created", "event_registrations", ["event_id", "created_at", "id"], schema=S
    )

    op.create_table(
        "event_staff",
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("added_by", sa.UUID(), nullable=False),
        *_timestamps(),
        sa.CheckConstraint("role IN ('facilitator', 'ptm', 'care_team', 'support')", name=op.f("ck_event_staff_role")),
        _event_fk("event_staff"),
        sa.PrimaryKeyConstraint("event_id", "user_id", "role", name="pk_event_staff"),
        schema=S,
    )
    op.create_index("ix_event_staff_user_id", "event_staff", ["user_id"], schema=S)


def downgrade() -> None:
    for table in (
        "event_staff",
        "event_registrations",
        "event_requirement_templates",
        "event_requirements",
        "event_invitations",
        "event_circles",
        "events",
        "event_types",
    ):
        op.drop_table(table, schema=S)
