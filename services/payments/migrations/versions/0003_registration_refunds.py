"""Refunds may originate from a cancelled registration (`registration.cancelled` with
`refund: full`).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SCHEMA = "payments"
BEFORE = ("staff", "event_cancelled", "stripe", "cancelled_obligation")
AFTER = ("staff", "event_cancelled", "registration_cancelled", "stripe", "cancelled_obligation")


def _origin_check(origins: tuple[str, ...]) -> None:
    op.drop_constraint(op.f("ck_refunds_origin"), "refunds", type_="check", schema=SCHEMA)
    op.create_check_constraint(
        op.f("ck_refunds_origin"), "refunds", f"origin IN ({', '.join(repr(o) for o in origins)})", schema=SCHEMA
    )


def upgrade() -> None:
    _origin_check(AFTER)


def downgrade() -> None:
    # Relabel refunds of the new origin as the closest older one, so the narrower check holds.
    # SCHEMA is this module's constant, not input.
    op.execute(f"UPDATE {SCHEMA}.refunds SET origin = 'cancelled_obligation' WHERE origin = 'registration_cancelled'")  # noqa: S608
    _origin_check(BEFORE)
