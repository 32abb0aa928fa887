"""Reports (docs/reports.md): the materialized views behind retention, attendance, goals and
events, the table recording when each was last refreshed, and the waitlist history the event
report needs.

A registration now remembers that it was ever waitlisted (`waitlisted_at`) and when it left the
waitlist for a seat (`promoted_at`). A trigger sets both, because registrations change status
through the ORM and through the one-statement admission path alike; once set they never change.
Registrations waitlisted before this migration get `waitlisted_at = created_at`.

Every view has a unique index, so the refresh job can use REFRESH ... CONCURRENTLY.

Revision ID: 0009_reports
Revises: 0008_directory
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_reports"
down_revision = "0008_directory"
branch_labels = None
depends_on = None

S = "circles"

VIEWS = {
    # Members' seats by circle, the UTC month they joined and the month they left ('infinity' while
    # they stay). Facilitators hold no seat; pending and declined requests never joined. Month
    # buckets are exact for periods of whole months: joined before month M <=> joined_month < M.
    "report_membership_flows": (
        f"""
        SELECT m.circle_id,
               date_trunc('month', m.joined_at AT TIME ZONE 'UTC')::date AS joined_month,
               coalesce(date_trunc('month', m.ended_at AT TIME ZONE 'UTC')::date, 'infinity'::date) AS ended_month,
               count(*) AS members
          FROM {S}.memberships m
         WHERE m.role = 'member' AND m.joined_at IS NOT NULL AND m.status IN ('active', 'ended')
         GROUP BY 1, 2, 3
        """,
        ["circle_id", "joined_month", "ended_month"],
        ["joined_month"],
    ),
    # Attendance marked at meetings that took place (not cancelled), per circle and UTC month.
    "report_attendance_monthly": (
        f"""
        SELECT a.circle_id,
               date_trunc('month', mt.starts_at AT TIME ZONE 'UTC')::date AS month,
               count(*) AS marked,
               count(*) FILTER (WHERE a.status = 'present') AS present,
               count(*) FILTER (WHERE a.status = 'late') AS late,
               count(*) FILTER (WHERE a.status = 'excused') AS excused,
               count(*) FILTER (WHERE a.status = 'absent') AS absent
          FROM {S}.attendance a
          JOIN {S}.meetings mt ON mt.id = a.meeting_id
         WHERE mt.status = 'scheduled'
         GROUP BY 1, 2
        """,
        ["circle_id", "month"],
        ["month"],
    ),
    # Goals per circle and the month of their target date (period_end).
    "report_goals_monthly": (
        f"""
        SELECT g.circle_id,
               date_trunc('month', g.period_end)::date AS month,
               count(*) AS goals_set,
               count(*) FILTER (WHERE g.done_at IS NOT NULL) AS completed
          FROM {S}.goals g
         GROUP BY 1, 2
        """,
        ["circle_id", "month"],
        ["month"],
    ),
    # Each event that was held or is open (published or completed), with its fill and waitlist.
    "report_event_fill": (
        f"""
        SELECT e.id AS event_id, e.title, e.starts_at,
               date_trunc('month', e.starts_at AT TIME ZONE 'UTC')::date AS month,
               e.capacity,
               count(r.id) FILTER (WHERE r.status = 'confirmed') AS confirmed,
               count(r.id) FILTER (WHERE r.waitlisted_at IS NOT NULL) AS waitlisted,
               count(r.id) FILTER (
                   WHERE r.waitlisted_at IS NOT NULL AND r.promoted_at IS NOT NULL AND r.confirmed_at IS NOT NULL
               ) AS converted
          FROM {S}.events e
          LEFT JOIN {S}.event_registrations r ON r.event_id = e.id
         WHERE e.status IN ('published', 'completed')
         GROUP BY e.id
        """,
        ["event_id"],
        ["month"],
    ),
}


def upgrade() -> None:
    op.add_column(
        "event_registrations", sa.Column("waitlisted_at", sa.DateTime(timezone=True), nullable=True), schema=S
    )
    op.add_column("event_registrations", sa.Column("promoted_at", sa.DateTime(timezone=True), nullable=True), schema=S)
    op.execute(f"UPDATE {S}.event_registrations SET waitlisted_at = created_at WHERE status = 'waitlisted'")
    op.execute(
        f"""
        CREATE FUNCTION {S}.registration_waitlist_history() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.status = 'waitlisted' AND NEW.waitlisted_at IS NULL THEN
                NEW.waitlisted_at := now();
            END IF;
            IF TG_OP = 'UPDATE' AND OLD.status = 'waitlisted' AND NEW.status IN ('pending_payment', 'confirmed')
               AND NEW.promoted_at IS NULL THEN
                NEW.promoted_at := now();
            END IF;
            RETURN NEW;
        END $$
        """
    )
    op.execute(
        f"""
        CREATE TRIGGER registration_waitlist_history
        BEFORE INSERT OR UPDATE OF status ON {S}.event_registrations
        FOR EACH ROW EXECUTE FUNCTION {S}.registration_waitlist_history()
        """
    )
    op.create_table(
        "report_refreshes",
        sa.Column("view", sa.String(63), primary_key=True),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        schema=S,
    )
    for name, (query, unique, indexed) in VIEWS.items():
        op.execute(f"CREATE MATERIALIZED VIEW {S}.{name} AS {query}")
        op.execute(f"CREATE UNIQUE INDEX uq_{name} ON {S}.{name} ({', '.join(unique)})")
        op.execute(f"CREATE INDEX ix_{name}_{'_'.join(indexed)} ON {S}.{name} ({', '.join(indexed)})")


def downgrade() -> None:
    for name in VIEWS:
        op.execute(f"DROP MATERIALIZED VIEW {S}.{name}")
    op.drop_table("report_refreshes", schema=S)
    op.execute(f"DROP TRIGGER registration_waitlist_history ON {S}.event_registrations")
    op.execute(f"DROP FUNCTION {S}.registration_waitlist_history()")
    op.drop_column("event_registrations", "promoted_at", schema=S)
    op.drop_column("event_registrations", "waitlisted_at", schema=S)
