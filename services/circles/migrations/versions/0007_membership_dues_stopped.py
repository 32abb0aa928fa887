"""Memberships: payment status `stopped` — the member cancelled his dues himself (Stripe's
billing portal; payments publishes `obligation.cancelled`), while staying in the circle.

Revision ID: 0007_dues_stopped
Revises: 0006_circle_location
Create Date: 2026-12-07
"""

from alembic import op

revision = "0007_dues_stopped"
down_revision = "0006_circle_location"
branch_labels = None
depends_on = None

S = "circles"
NAME = "ck_memberships_payment_status"
BEFORE = "('not_required', 'pending', 'current', 'overdue', 'paused', 'waived')"
AFTER = "('not_required', 'pending', 'current', 'overdue', 'paused', 'waived', 'stopped')"


def upgrade() -> None:
    op.drop_constraint(op.f(NAME), "memberships", schema=S, type_="check")
    op.create_check_constraint(op.f(NAME), "memberships", f"payment_status IN {AFTER}", schema=S)


def downgrade() -> None:
    op.execute("UPDATE circles.memberships SET payment_status = 'pending' WHERE payment_status = 'stopped'")
    op.drop_constraint(op.f(NAME), "memberships", schema=S, type_="check")
    op.create_check_constraint(op.f(NAME), "memberships", f"payment_status IN {BEFORE}", schema=S)
