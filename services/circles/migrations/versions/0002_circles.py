"""Circles: profiles, circles, memberships, transfer requests, meetings, attendance, goals, and
the service's event-bus outbox/inbox.

Every circles table of issue 4 is created here; the events context adds its own in 0003.
Generated columns (circles.status, open_seats, search_text) keep derived values indexable.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from mcm_shared.events.tables import create_event_tables, drop_event_tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Trigram index behind the `q` text filter (pg_trgm is a trusted contrib extension).
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "circles",
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("capacity_max", sa.SmallInteger(), nullable=False),
        sa.Column("capacity_min", sa.SmallInteger(), nullable=False),
        sa.Column("schedule_weekday", sa.String(length=9), nullable=False),
        sa.Column("schedule_time", sa.Time(), nullable=False),
        sa.Column("schedule_timezone", sa.String(length=64), nullable=False),
        sa.Column("schedule_frequency", sa.String(length=8), nullable=False),
        sa.Column("location_city", sa.String(length=100), nullable=True),
        sa.Column("location_online", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("visibility", sa.String(length=7), nullable=False),
        sa.Column("join_policy", sa.String(length=8), nullable=False),
        sa.Column("dues_amount", sa.Integer(), nullable=True),
        sa.Column("dues_currency", sa.String(length=3), nullable=True),
        sa.Column("member_count", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=False),
        sa.Column(
            "status",
            sa.String(length=8),
            sa.Computed(
                "CASE WHEN archived_at IS NOT NULL THEN 'archived' WHEN member_count >= capacity_max THEN 'full' "
                "WHEN member_count < capacity_min THEN 'forming' ELSE 'active' END",
                persisted=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "open_seats",
            sa.Integer(),
            sa.Computed(
                "CASE WHEN archived_at IS NOT NULL THEN 0 ELSE capacity_max - member_count END", persisted=True
            ),
            nullable=False,
        ),
        sa.Column(
            "search_text", sa.Text(), sa.Computed("lower(name || ' ' || description)", persisted=True), nullable=False
        ),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "(dues_amount IS NULL AND dues_currency IS NULL) "
            "OR (dues_amount BETWEEN 1 AND 1000000 AND dues_currency ~ '^[A-Z]{3}$')",
            name=op.f("ck_circles_dues"),
        ),
        sa.CheckConstraint("join_policy IN ('open', 'approval')", name=op.f("ck_circles_join_policy")),
        sa.CheckConstraint(
            "schedule_frequency IN ('weekly', 'biweekly', 'monthly')", name=op.f("ck_circles_frequency")
        ),
        sa.CheckConstraint(
            "schedule_weekday IN ('monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday')",
            name=op.f("ck_circles_weekday"),
        ),
        sa.CheckConstraint("visibility IN ('public', 'private')", name=op.f("ck_circles_visibility")),
        sa.CheckConstraint("capacity_max BETWEEN 2 AND 10", name=op.f("ck_circles_capacity_max_range")),
        sa.CheckConstraint(
            "capacity_min >= 2 AND capacity_min <= capacity_max", name=op.f("ck_circles_capacity_min_range")
        ),
        sa.CheckConstraint("location_online OR location_city IS NOT NULL", name=op.f("ck_circles_location")),
        sa.CheckConstraint(
            "member_count >= 0 AND member_count <= capacity_max", name=op.f("ck_circles_member_count_within_capacity")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_circles")),
        schema="circles",
    )
    op.create_index(
        "ix_circles_city", "circles", [sa.literal_column("lower(location_city)")], unique=False, schema="circles"
    )
    op.create_index("ix_circles_created_at_id", "circles", ["created_at", "id"], unique=False, schema="circles")
    op.create_index("ix_circles_name_id", "circles", ["name", "id"], unique=False, schema="circles")
    op.create_index("ix_circles_online", "circles", ["location_online"], unique=False, schema="circles")
    op.create_index("ix_circles_open_seats_id", "circles", ["open_seats", "id"], unique=False, schema="circles")
    op.create_index(
        "ix_circles_search_trgm",
        "circles",
        ["search_text"],
        unique=False,
        schema="circles",
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )
    op.create_index("ix_circles_status", "circles", ["status"], unique=False, schema="circles")
    op.create_index("ix_circles_visibility", "circles", ["visibility"], unique=False, schema="circles")
    op.create_index("ix_circles_weekday", "circles", ["schedule_weekday"], unique=False, schema="circles")
    create_event_tables(op, schema="circles")
    op.create_table(
        "profiles",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("verified_email", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("verified_phone", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_profiles")),
        schema="circles",
    )
    op.create_table(
        "meetings",
        sa.Column("circle_id", sa.UUID(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_minutes", sa.SmallInteger(), nullable=False),
        sa.Column("status", sa.String(length=9), server_default="scheduled", nullable=False),
        sa.Column("note", sa.String(length=1000), server_default="", nullable=False),
        sa.Column("cancel_reason", sa.String(length=500), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("status IN ('scheduled', 'cancelled')", name=op.f("ck_meetings_status")),
        sa.CheckConstraint("duration_minutes BETWEEN 15 AND 720", name=op.f("ck_meetings_duration")),
        sa.ForeignKeyConstraint(["circle_id"], ["circles.circles.id"], name=op.f("fk_meetings_circle_id_circles")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meetings")),
        schema="circles",
    )
    op.create_index(
        "ix_meetings_circle_starts", "meetings", ["circle_id", "starts_at", "id"], unique=False, schema="circles"
    )
    op.create_index(
        "uq_meetings_scheduled_start",
        "meetings",
        ["circle_id", "starts_at"],
        unique=True,
        schema="circles",
        postgresql_where=sa.text("status = 'scheduled'"),
    )
    op.create_table(
        "memberships",
        sa.Column("circle_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("role", sa.String(length=11), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("payment_status", sa.String(length=12), server_default="not_required", nullable=False),
        sa.Column("payment_status_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=16), nullable=True),
        sa.Column("end_note", sa.String(length=500), nullable=True),
        sa.Column("added_by", sa.UUID(), nullable=True),
        sa.Column("decided_by", sa.UUID(), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "(status IN ('declined', 'ended')) = (ended_at IS NOT NULL)", name=op.f("ck_memberships_ended_has_ended_at")
        ),
        sa.CheckConstraint(
            "end_reason IS NULL OR end_reason IN ('left', 'withdrawn', 'removed', 'declined', 'transferred', "
            "'role_changed', 'circle_archived', 'account_erased')",
            name=op.f("ck_memberships_end_reason"),
        ),
        sa.CheckConstraint(
            "payment_status IN ('not_required', 'pending', 'current', 'overdue', 'paused', 'waived')",
            name=op.f("ck_memberships_payment_status"),
        ),
        sa.CheckConstraint("role IN ('facilitator', 'member')", name=op.f("ck_memberships_role")),
        sa.CheckConstraint(
            "status <> 'active' OR joined_at IS NOT NULL", name=op.f("ck_memberships_active_has_joined_at")
        ),
        sa.CheckConstraint("status IN ('pending', 'active', 'declined', 'ended')", name=op.f("ck_memberships_status")),
        sa.ForeignKeyConstraint(["circle_id"], ["circles.circles.id"], name=op.f("fk_memberships_circle_id_circles")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["circles.profiles.user_id"], name=op.f("fk_memberships_user_id_profiles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memberships")),
        schema="circles",
    )
    op.create_index(
        "ix_memberships_circle_created",
        "memberships",
        ["circle_id", "created_at", "id"],
        unique=False,
        schema="circles",
    )
    op.create_index(
        "ix_memberships_facilitating",
        "memberships",
        ["user_id", "circle_id"],
        unique=False,
        schema="circles",
        postgresql_where=sa.text("role = 'facilitator' AND status = 'active'"),
    )
    op.create_index(
        "ix_memberships_flagged",
        "memberships",
        ["circle_id", "flagged_at"],
        unique=False,
        schema="circles",
        postgresql_where=sa.text("flagged_at IS NOT NULL"),
    )
    op.create_index("ix_memberships_user", "memberships", ["user_id", "status"], unique=False, schema="circles")
    op.create_index(
        "uq_memberships_current",
        "memberships",
        ["circle_id", "user_id"],
        unique=True,
        schema="circles",
        postgresql_where=sa.text("status IN ('pending', 'active')"),
    )
    op.create_table(
        "attendance",
        sa.Column("meeting_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("circle_id", sa.UUID(), nullable=False),
        sa.Column("membership_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.String(length=7), nullable=False),
        sa.Column("note", sa.String(length=2000), nullable=True),
        sa.Column("recorded_by", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("status IN ('present', 'late', 'excused', 'absent')", name=op.f("ck_attendance_status")),
        sa.ForeignKeyConstraint(["circle_id"], ["circles.circles.id"], name=op.f("fk_attendance_circle_id_circles")),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["circles.meetings.id"], name=op.f("fk_attendance_meeting_id_meetings")
        ),
        sa.ForeignKeyConstraint(
            ["membership_id"], ["circles.memberships.id"], name=op.f("fk_attendance_membership_id_memberships")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["circles.profiles.user_id"], name=op.f("fk_attendance_user_id_profiles")),
        sa.PrimaryKeyConstraint("meeting_id", "user_id", name="pk_attendance"),
        schema="circles",
    )
    op.create_index("ix_attendance_circle_user", "attendance", ["circle_id", "user_id"], unique=False, schema="circles")
    op.create_index("ix_attendance_user", "attendance", ["user_id"], unique=False, schema="circles")
    op.create_table(
        "goals",
        sa.Column("circle_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("membership_id", sa.UUID(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("period_end - period_start <= 366", name=op.f("ck_goals_period_length")),
        sa.CheckConstraint("period_end >= period_start", name=op.f("ck_goals_period")),
        sa.ForeignKeyConstraint(["circle_id"], ["circles.circles.id"], name=op.f("fk_goals_circle_id_circles")),
        sa.ForeignKeyConstraint(
            ["membership_id"], ["circles.memberships.id"], name=op.f("fk_goals_membership_id_memberships")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["circles.profiles.user_id"], name=op.f("fk_goals_user_id_profiles")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goals")),
        schema="circles",
    )
    op.create_index(
        "ix_goals_circle_user_period", "goals", ["circle_id", "user_id", "period_start"], unique=False, schema="circles"
    )
    op.create_index("ix_goals_user", "goals", ["user_id"], unique=False, schema="circles")
    op.create_table(
        "transfer_requests",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("from_membership_id", sa.UUID(), nullable=False),
        sa.Column("from_circle_id", sa.UUID(), nullable=False),
        sa.Column("to_circle_id", sa.UUID(), nullable=False),
        sa.Column("to_membership_id", sa.UUID(), nullable=True),
        sa.Column("message", sa.String(length=1000), server_default="", nullable=False),
        sa.Column("status", sa.String(length=9), server_default="pending", nullable=False),
        sa.Column("decided_by", sa.UUID(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.String(length=500), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("(status = 'pending') = (decided_at IS NULL)", name=op.f("ck_transfer_requests_decided_at")),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'declined', 'cancelled')", name=op.f("ck_transfer_requests_status")
        ),
        sa.CheckConstraint("from_circle_id <> to_circle_id", name=op.f("ck_transfer_requests_different_circles")),
        sa.ForeignKeyConstraint(
            ["from_circle_id"], ["circles.circles.id"], name=op.f("fk_transfer_requests_from_circle_id_circles")
        ),
        sa.ForeignKeyConstraint(
            ["from_membership_id"],
            ["circles.memberships.id"],
            name=op.f("fk_transfer_requests_from_membership_id_memberships"),
        ),
        sa.ForeignKeyConstraint(
            ["to_circle_id"], ["circles.circles.id"], name=op.f("fk_transfer_requests_to_circle_id_circles")
        ),
        sa.ForeignKeyConstraint(
            ["to_membership_id"],
            ["circles.memberships.id"],
            name=op.f("fk_transfer_requests_to_membership_id_memberships"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["circles.profiles.user_id"], name=op.f("fk_transfer_requests_user_id_profiles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfer_requests")),
        schema="circles",
    )
    op.create_index(
        "ix_transfer_requests_from_circle",
        "transfer_requests",
        ["from_circle_id", "status", "created_at"],
        unique=False,
        schema="circles",
    )
    op.create_index(
        "ix_transfer_requests_to_circle",
        "transfer_requests",
        ["to_circle_id", "status", "created_at"],
        unique=False,
        schema="circles",
    )
    op.create_index(
        "ix_transfer_requests_user", "transfer_requests", ["user_id", "created_at"], unique=False, schema="circles"
    )
    op.create_index(
        "uq_transfer_requests_pending",
        "transfer_requests",
        ["from_membership_id"],
        unique=True,
        schema="circles",
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    # pg_trgm stays: other schemas of the main database may use it.
    op.drop_index(
        "uq_transfer_requests_pending",
        table_name="transfer_requests",
        schema="circles",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_index("ix_transfer_requests_user", table_name="transfer_requests", schema="circles")
    op.drop_index("ix_transfer_requests_to_circle", table_name="transfer_requests", schema="circles")
    op.drop_index("ix_transfer_requests_from_circle", table_name="transfer_requests", schema="circles")
    op.drop_table("transfer_requests", schema="circles")
    op.drop_index("ix_goals_user", table_name="goals", schema="circles")
    op.drop_index("ix_goals_circle_user_period", table_name="goals", schema="circles")
    op.drop_table("goals", schema="circles")
    op.drop_index("ix_attendance_user", table_name="attendance", schema="circles")
    op.drop_index("ix_attendance_circle_user", table_name="attendance", schema="circles")
    op.drop_table("attendance", schema="circles")
    op.drop_index(
        "uq_memberships_current",
        table_name="memberships",
        schema="circles",
        postgresql_where=sa.text("status IN ('pending', 'active')"),
    )
    op.drop_index("ix_memberships_user", table_name="memberships", schema="circles")
    op.drop_index(
        "ix_memberships_flagged",
        table_name="memberships",
        schema="circles",
        postgresql_where=sa.text("flagged_at IS NOT NULL"),
    )
    op.drop_index(
        "ix_memberships_facilitating",
        table_name="memberships",
        schema="circles",
        postgresql_where=sa.text("role = 'facilitator' AND status = 'active'"),
    )
    op.drop_index("ix_memberships_circle_created", table_name="memberships", schema="circles")
    op.drop_table("memberships", schema="circles")
    op.drop_index(
        "uq_meetings_scheduled_start",
        table_name="meetings",
        schema="circles",
        postgresql_where=sa.text("status = 'scheduled'"),
    )
    op.drop_index("ix_meetings_circle_starts", table_name="meetings", schema="circles")
    op.drop_table("meetings", schema="circles")
    op.drop_table("profiles", schema="circles")
    drop_event_tables(op, schema="circles")
    op.drop_index("ix_circles_weekday", table_name="circles", schema="circles")
    op.drop_index("ix_circles_visibility", table_name="circles", schema="circles")
    op.drop_index("ix_circles_status", table_name="circles", schema="circles")
    op.drop_index(
        "ix_circles_search_trgm",
        table_name="circles",
        schema="circles",
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )
    op.drop_index("ix_circles_open_seats_id", table_name="circles", schema="circles")
    op.drop_index("ix_circles_online", table_name="circles", schema="circles")
    op.drop_index("ix_circles_name_id", table_name="circles", schema="circles")
    op.drop_index("ix_circles_created_at_id", table_name="circles", schema="circles")
    op.drop_index("ix_circles_city", table_name="circles", schema="circles")
    op.drop_table("circles", schema="circles")
