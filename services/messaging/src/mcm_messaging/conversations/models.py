"""Conversations, their participants (direct ones only: threads and announcements derive their
readers from the read model), messages and each reader's read mark.

The database holds what must hold under concurrency: one direct conversation per pair
(`direct_key`), one thread per circle and per event (partial unique indexes), a kind's own columns.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from mcm_messaging.db import Base

KINDS = ("direct", "circle", "event", "announcement")
SCOPES = ("everyone", "role", "circle", "event")


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        CheckConstraint("kind IN ('direct', 'circle', 'event', 'announcement')", name="kind"),
        CheckConstraint("(kind = 'direct') = (direct_key IS NOT NULL)", name="direct_has_key"),
        CheckConstraint("kind <> 'circle' OR circle_id IS NOT NULL", name="circle_thread"),
        CheckConstraint("kind <> 'event' OR event_id IS NOT NULL", name="event_thread"),
        CheckConstraint("(kind = 'announcement') = (scope IS NOT NULL)", name="announcement_scope"),
        CheckConstraint("scope IS NULL OR scope IN ('everyone', 'role', 'circle', 'event')", name="scope"),
        CheckConstraint("scope IS DISTINCT FROM 'role' OR role IS NOT NULL", name="role_scope"),
        CheckConstraint("scope IS DISTINCT FROM 'circle' OR circle_id IS NOT NULL", name="circle_scope"),
        CheckConstraint("scope IS DISTINCT FROM 'event' OR event_id IS NOT NULL", name="event_scope"),
        Index("uq_conversations_direct_key", "direct_key", unique=True, postgresql_where=text("kind = 'direct'")),
        Index("uq_conversations_circle_thread", "circle_id", unique=True, postgresql_where=text("kind = 'circle'")),
        Index("uq_conversations_event_thread", "event_id", unique=True, postgresql_where=text("kind = 'event'")),
        Index("ix_conversations_announcements", "scope", postgresql_where=text("kind = 'announcement'")),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    # direct: "<smaller user id>:<larger user id>"
    direct_key: Mapped[str | None] = mapped_column(String(80))
    # circle/event threads; announcements to a circle or an event use them too
    circle_id: Mapped[uuid.UUID | None]
    event_id: Mapped[uuid.UUID | None]
    # announcements: who hears it (everyone, a role, a circle, an event's registrants)
    scope: Mapped[str | None] = mapped_column(String(16))
    role: Mapped[str | None] = mapped_column(String(16))
    title: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime]
    # when the last message was sent (or the conversation made): the list's order
    activity_at: Mapped[datetime]


class Participant(Base):
    """Who is in a direct conversation."""

    __tablename__ = "participants"
    __table_args__ = (Index("ix_participants_user", "user_id"),)

    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)


class Message(Base):
    """Plain text, never interpreted as HTML. Deleting blanks the body and keeps the row, so ids
    and read marks stay valid; deleted messages are not listed and not counted unread."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_conversation_order", "conversation_id", "created_at", "id"),
        CheckConstraint("deleted_at IS NULL OR body = ''", name="deleted_is_blank"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    author_id: Mapped[uuid.UUID | None]
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    edited_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]


class ReadMark(Base):
    """How far a reader has read a conversation: up to (and including) one message."""

    __tablename__ = "read_marks"

    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    message_id: Mapped[uuid.UUID]
    message_created_at: Mapped[datetime]
    read_at: Mapped[datetime]
