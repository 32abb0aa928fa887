"""A user's Stripe customer can be replaced (Stripe no longer knows the old one): the old link is
kept, marked `replaced_at`, and only one current link per user is allowed.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-11
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SCHEMA = "payments"


def upgrade() -> None:
    op.add_column("customers", sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=True), schema=SCHEMA)
    op.drop_constraint(op.f("uq_customers_user_id"), "customers", type_="unique", schema=SCHEMA)
    op.create_index(
        "uq_customers_current_user",
        "customers",
        ["user_id"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("replaced_at IS NULL"),
    )


def downgrade() -> None:
    # The narrower schema has room for the current link only: the history of replaced customers is dropped.
    op.execute(f"DELETE FROM {SCHEMA}.customers WHERE replaced_at IS NOT NULL")  # noqa: S608 - SCHEMA is a constant
    op.drop_index(
        "uq_customers_current_user",
        table_name="customers",
        schema=SCHEMA,
        postgresql_where=sa.text("replaced_at IS NULL"),
    )
    op.create_unique_constraint(op.f("uq_customers_user_id"), "customers", ["user_id"], schema=SCHEMA)
    op.drop_column("customers", "replaced_at", schema=SCHEMA)
