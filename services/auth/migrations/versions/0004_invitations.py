"""Invitations: email, token hash (single use, expiring), target (circle, event or roles), who sent
and who accepted.

Revision ID: 0004_invitations
Revises: 0003
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004_invitations"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "invitations",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("circle_id", sa.UUID(), nullable=True),
        sa.Column("event_id", sa.UUID(), nullable=True),
        sa.Column("roles", postgresql.ARRAY(sa.String(length=20)), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("invited_by", sa.UUID(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_by", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("email = lower(email)", name=op.f("ck_invitations_email_lowercase")),
        sa.CheckConstraint("circle_id IS NULL OR event_id IS NULL", name=op.f("ck_invitations_one_target")),
        sa.ForeignKeyConstraint(
            ["invited_by"], ["auth.users.id"], name=op.f("fk_invitations_invited_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["accepted_by"], ["auth.users.id"], name=op.f("fk_invitations_accepted_by_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_invitations_token_hash")),
        schema="auth",
    )
    op.create_index(
        "ix_invitations_invited_by_created", "invitations", ["invited_by", "created_at", "id"], schema="auth"
    )
    op.create_index("ix_invitations_created", "invitations", ["created_at", "id"], schema="auth")


def downgrade() -> None:
    op.drop_table("invitations", schema="auth")
