"""The notification centre's inbox (`notifications`) and the reminders' agenda (`agenda_items`,
`sent_reminders`).

Revision ID: 0002_notifications
Revises: 0001
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002_notifications"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = "messaging"


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("source_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.Text(), nullable=True),
        sa.Column("template", sa.String(length=60), nullable=False),
        sa.Column("data", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("urgent", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pushed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("email_state", sa.String(length=16), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("email_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "email_state IN ('pending', 'requested', 'skipped')", name=op.f("ck_notifications_email_state")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("source_id", "user_id", name="uq_notifications_source_user"),
        schema=SCHEMA,
    )
    op.create_index("ix_notifications_user_created", "notifications", ["user_id", "created_at"], schema=SCHEMA)
    op.create_index(
        "ix_notifications_unpushed",
        "notifications",
        ["created_at"],
        schema=SCHEMA,
        postgresql_where=sa.text("pushed_at IS NULL"),
    )
    op.create_index(
        "ix_notifications_email_due",
        "notifications",
        ["email_due_at"],
        schema=SCHEMA,
        postgresql_where=sa.text("email_state = 'pending'"),
    )
    op.create_table(
        "agenda_items",
        sa.Column("item_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("circle_id", sa.UUID(), nullable=True),
        sa.Column("user_id", sa.UUID(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("timezone", sa.String(length=64), server_default=sa.text("'UTC'"), nullable=False),
        sa.Column("details", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('meeting', 'event', 'dues')", name=op.f("ck_agenda_items_kind")),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_agenda_items")),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_agenda_items_upcoming",
        "agenda_items",
        ["starts_at"],
        schema=SCHEMA,
        postgresql_where=sa.text("cancelled_at IS NULL"),
    )
    op.create_table(
        "sent_reminders",
        sa.Column("item_id", sa.UUID(), nullable=False),
        sa.Column("offset_minutes", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("item_id", "offset_minutes", "starts_at", name=op.f("pk_sent_reminders")),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for table in ("sent_reminders", "agenda_items", "notifications"):
        op.drop_table(table, schema=SCHEMA)
