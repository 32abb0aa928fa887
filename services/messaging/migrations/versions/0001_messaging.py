"""The messaging schema: the read model (known users, circle and event seats), conversations,
participants, messages, read marks, and the event bus inbox/outbox.

Revision ID: 0001
Revises:
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from mcm_shared.events import create_event_tables, drop_event_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "messaging"


def _now() -> sa.TextClause:
    return sa.text("now()")


def upgrade() -> None:
    op.execute(f'CREATE SCHEMA IF NOT EXISTS "{SCHEMA}"')
    create_event_tables(op, schema=SCHEMA)
    op.create_table(
        "known_users",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("roles", sa.ARRAY(sa.String(length=16)), server_default="{}", nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_known_users")),
        schema=SCHEMA,
    )
    op.create_table(
        "circle_seats",
        sa.Column("membership_id", sa.UUID(), nullable=False),
        sa.Column("circle_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("role IN ('member', 'facilitator')", name=op.f("ck_circle_seats_role")),
        sa.PrimaryKeyConstraint("membership_id", name=op.f("pk_circle_seats")),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_circle_seats_current_user",
        "circle_seats",
        ["user_id"],
        schema=SCHEMA,
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.create_index(
        "ix_circle_seats_current_circle",
        "circle_seats",
        ["circle_id"],
        schema=SCHEMA,
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.create_table(
        "event_seats",
        sa.Column("registration_id", sa.UUID(), nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("registration_id", name=op.f("pk_event_seats")),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_event_seats_current_user",
        "event_seats",
        ["user_id"],
        schema=SCHEMA,
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.create_index(
        "ix_event_seats_current_event",
        "event_seats",
        ["event_id"],
        schema=SCHEMA,
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.create_table(
        "conversations",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("direct_key", sa.String(length=80), nullable=True),
        sa.Column("circle_id", sa.UUID(), nullable=True),
        sa.Column("event_id", sa.UUID(), nullable=True),
        sa.Column("scope", sa.String(length=16), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activity_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('direct', 'circle', 'event', 'announcement')", name=op.f("ck_conversations_kind")),
        sa.CheckConstraint(
            "(kind = 'direct') = (direct_key IS NOT NULL)", name=op.f("ck_conversations_direct_has_key")
        ),
        sa.CheckConstraint("kind <> 'circle' OR circle_id IS NOT NULL", name=op.f("ck_conversations_circle_thread")),
        sa.CheckConstraint("kind <> 'event' OR event_id IS NOT NULL", name=op.f("ck_conversations_event_thread")),
        sa.CheckConstraint(
            "(kind = 'announcement') = (scope IS NOT NULL)", name=op.f("ck_conversations_announcement_scope")
        ),
        sa.CheckConstraint(
            "scope IS NULL OR scope IN ('everyone', 'role', 'circle', 'event')", name=op.f("ck_conversations_scope")
        ),
        sa.CheckConstraint(
            "scope IS DISTINCT FROM 'role' OR role IS NOT NULL", name=op.f("ck_conversations_role_scope")
        ),
        sa.CheckConstraint(
            "scope IS DISTINCT FROM 'circle' OR circle_id IS NOT NULL", name=op.f("ck_conversations_circle_scope")
        ),
        sa.CheckConstraint(
            "scope IS DISTINCT FROM 'event' OR event_id IS NOT NULL", name=op.f("ck_conversations_event_scope")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
        schema=SCHEMA,
    )
    op.create_index(
        "uq_conversations_direct_key",
        "conversations",
        ["direct_key"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("kind = 'direct'"),
    )
    op.create_index(
        "uq_conversations_circle_thread",
        "conversations",
        ["circle_id"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("kind = 'circle'"),
    )
    op.create_index(
        "uq_conversations_event_thread",
        "conversations",
        ["event_id"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("kind = 'event'"),
    )
    op.create_index(
        "ix_conversations_announcements",
        "conversations",
        ["scope"],
        schema=SCHEMA,
        postgresql_where=sa.text("kind = 'announcement'"),
    )
    op.create_table(
        "participants",
        sa.Column("conversation_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            [f"{SCHEMA}.conversations.id"],
            name=op.f("fk_participants_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conversation_id", "user_id", name=op.f("pk_participants")),
        schema=SCHEMA,
    )
    op.create_index("ix_participants_user", "participants", ["user_id"], schema=SCHEMA)
    op.create_table(
        "messages",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("conversation_id", sa.UUID(), nullable=False),
        sa.Column("author_id", sa.UUID(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("deleted_at IS NULL OR body = ''", name=op.f("ck_messages_deleted_is_blank")),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            [f"{SCHEMA}.conversations.id"],
            name=op.f("fk_messages_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_messages_conversation_order", "messages", ["conversation_id", "created_at", "id"], schema=SCHEMA
    )
    op.create_table(
        "read_marks",
        sa.Column("conversation_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("message_id", sa.UUID(), nullable=False),
        sa.Column("message_created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            [f"{SCHEMA}.conversations.id"],
            name=op.f("fk_read_marks_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conversation_id", "user_id", name=op.f("pk_read_marks")),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for table in (
        "read_marks",
        "messages",
        "participants",
        "conversations",
        "event_seats",
        "circle_seats",
        "known_users",
    ):
        op.drop_table(table, schema=SCHEMA)
    drop_event_tables(op, schema=SCHEMA)
