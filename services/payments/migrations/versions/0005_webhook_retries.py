"""Staff retries of stored Stripe events (`POST /api/v1/payments/webhooks/flagged/{event_id}/retry`),
audited: who, when, why, the outcome before and what the retry gave.

Revision ID: 0005_webhook_retries
Revises: 0004
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005_webhook_retries"
down_revision = "0004"
branch_labels = None
depends_on = None

SCHEMA = "payments"


def upgrade() -> None:
    op.create_table(
        "webhook_retries",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("webhook_event_id", sa.UUID(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column(
            "actor_roles",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("outcome_before", sa.String(length=24), nullable=True),
        sa.Column("result", sa.String(length=24), nullable=False),
        sa.Column("outcome_after", sa.String(length=24), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["webhook_event_id"],
            [f"{SCHEMA}.webhook_events.id"],
            name=op.f("fk_webhook_retries_webhook_event_id_webhook_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_retries")),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_webhook_retries_event", "webhook_retries", ["webhook_event_id", "created_at"], unique=False, schema=SCHEMA
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_retries_event", table_name="webhook_retries", schema=SCHEMA)
    op.drop_table("webhook_retries", schema=SCHEMA)
