"""Notify on every change the circle listing shows, so each replica's listing cache forgets it.

Row triggers on circles, memberships and profiles call pg_notify('circles_listing', ''):
PostgreSQL sends it at commit (never for a rollback), once per transaction however many rows
changed, to every listening connection. Updates notify only when something the listing
shows can change (a membership's status or role, a profile's name or erasure).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

S = "circles"
CHANNEL = "circles_listing"
# name → (table, when it fires): only changes the listing can show.
TRIGGERS = {
    "circles": ("circles", "AFTER INSERT OR UPDATE OR DELETE"),
    "memberships_rows": ("memberships", "AFTER INSERT OR DELETE"),
    "memberships_status": (
        "memberships",
        "AFTER UPDATE OF status, role "
        "WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.role IS DISTINCT FROM NEW.role)",
    ),
    "profiles": (
        "profiles",
        "AFTER UPDATE OF display_name, erased_at "
        "WHEN (OLD.display_name IS DISTINCT FROM NEW.display_name OR OLD.erased_at IS DISTINCT FROM NEW.erased_at)",
    ),
}


def upgrade() -> None:
    op.execute(
        f"""
        CREATE FUNCTION {S}.notify_listing_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', '');
            RETURN NULL;
        END
        $$
        """
    )
    for name, (table, timing) in TRIGGERS.items():
        event, _, condition = timing.partition(" WHEN ")
        op.execute(
            f"CREATE TRIGGER trg_{name}_notify_listing {event} ON {S}.{table} FOR EACH ROW "
            + (f"WHEN {condition} " if condition else "")
            + f"EXECUTE FUNCTION {S}.notify_listing_change()"
        )
    op.execute(
        f"CREATE TRIGGER trg_circles_notify_listing_truncate AFTER TRUNCATE ON {S}.circles "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {S}.notify_listing_change()"
    )


def downgrade() -> None:
    op.execute(f"DROP TRIGGER IF EXISTS trg_circles_notify_listing_truncate ON {S}.circles")
    for name, (table, _) in TRIGGERS.items():
        op.execute(f"DROP TRIGGER IF EXISTS trg_{name}_notify_listing ON {S}.{table}")
    op.execute(f"DROP FUNCTION IF EXISTS {S}.notify_listing_change()")
