"""Password reset tokens and verification codes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _entity_columns() -> list[sa.Column]:
    return [
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "password_resets",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        *_entity_columns(),
        sa.ForeignKeyConstraint(
            ["user_id"], ["auth.users.id"], name=op.f("fk_password_resets_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_resets")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_password_resets_token_hash")),
        schema="auth",
    )
    op.create_index(
        op.f("ix_auth_password_resets_user_id"), "password_resets", ["user_id"], unique=False, schema="auth"
    )
    op.create_table(
        "verification_codes",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("purpose", sa.String(length=8), nullable=False),
        sa.Column("target", sa.String(length=254), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("consumed_at", sa.DateTime(timezone=True), nullable=True),
        *_entity_columns(),
        sa.CheckConstraint("purpose IN ('email', 'phone')", name=op.f("ck_verification_codes_purpose")),
        sa.CheckConstraint("attempts >= 0 AND attempts <= 5", name=op.f("ck_verification_codes_attempts_range")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["auth.users.id"], name=op.f("fk_verification_codes_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_codes")),
        schema="auth",
    )
    op.create_index(
        "ix_verification_codes_user_purpose", "verification_codes", ["user_id", "purpose"], unique=False, schema="auth"
    )


def downgrade() -> None:
    op.drop_index("ix_verification_codes_user_purpose", table_name="verification_codes", schema="auth")
    op.drop_table("verification_codes", schema="auth")
    op.drop_index(op.f("ix_auth_password_resets_user_id"), table_name="password_resets", schema="auth")
    op.drop_table("password_resets", schema="auth")
