"""SQL for conversations, participants, messages and read marks."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, func, or_, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from mcm_messaging.conversations.models import Conversation, Message, Participant, ReadMark


@dataclass(frozen=True, slots=True)
class Reader:
    """Everything that decides which conversations a user sees in his list."""

    user_id: uuid.UUID
    roles: frozenset[str]
    circles: Collection[uuid.UUID]
    events: Collection[uuid.UUID]


# The predicates of the partial unique indexes (models.py), for ON CONFLICT to name them.
_KIND_PREDICATES = {kind: text(f"kind = '{kind}'") for kind in ("direct", "circle", "event")}


def _in(column: Any, values: Collection[Any]) -> ColumnElement[bool]:
    return column.in_(list(values)) if values else false()


def _visible_to(reader: Reader) -> ColumnElement[bool]:
    direct_member = exists().where(
        Participant.conversation_id == Conversation.id, Participant.user_id == reader.user_id
    )
    return or_(
        and_(Conversation.kind == "direct", direct_member),
        and_(Conversation.kind == "circle", _in(Conversation.circle_id, reader.circles)),
        and_(Conversation.kind == "event", _in(Conversation.event_id, reader.events)),
        and_(
            Conversation.kind == "announcement",
            or_(
                Conversation.created_by == reader.user_id,
                Conversation.scope == "everyone",
                and_(Conversation.scope == "role", _in(Conversation.role, reader.roles)),
                and_(Conversation.scope == "circle", _in(Conversation.circle_id, reader.circles)),
                and_(Conversation.scope == "event", _in(Conversation.event_id, reader.events)),
            ),
        ),
    )


class ConversationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- conversations -------------------------------------------------------------------------
    async def get(self, conversation_id: uuid.UUID) -> Conversation | None:
        return await self.session.get(Conversation, conversation_id)

    async def lock(self, conversation_id: uuid.UUID) -> Conversation | None:
        return await self.session.scalar(
            select(Conversation).where(Conversation.id == conversation_id).with_for_update()
        )

    async def ensure(self, values: dict[str, Any], key: InstrumentedAttribute[Any]) -> Conversation:
        """Insert unless the kind's unique index already holds one (`key` names its column);
        either way, the conversation. Two first requests at once both end with the same row."""
        kind = values["kind"]
        await self.session.execute(
            insert(Conversation)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[key], index_where=_KIND_PREDICATES[kind])
        )
        found = await self.session.scalar(select(Conversation).where(Conversation.kind == kind, key == values[key.key]))
        assert found is not None  # noqa: S101 (just inserted, or the row that made the insert a no-op)
        return found

    async def add(self, values: dict[str, Any]) -> Conversation:
        conversation = Conversation(**values)
        self.session.add(conversation)
        await self.session.flush()
        return conversation

    async def add_participants(self, conversation_id: uuid.UUID, user_ids: Collection[uuid.UUID]) -> None:
        await self.session.execute(
            insert(Participant)
            .values([{"conversation_id": conversation_id, "user_id": user_id} for user_id in user_ids])
            .on_conflict_do_nothing()
        )

    async def is_participant(self, conversation_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        found = await self.session.scalar(
            select(Participant.user_id).where(
                Participant.conversation_id == conversation_id, Participant.user_id == user_id
            )
        )
        return found is not None

    async def participants(self, conversation_id: uuid.UUID) -> list[uuid.UUID]:
        return list(
            await self.session.scalars(
                select(Participant.user_id).where(Participant.conversation_id == conversation_id)
            )
        )

    async def visible_page(
        self, reader: Reader, limit: int, after: tuple[datetime, uuid.UUID] | None
    ) -> Sequence[Conversation]:
        """Up to `limit` conversations the reader sees, most recent activity first."""
        query = select(Conversation).where(_visible_to(reader))
        if after is not None:
            query = query.where(tuple_(Conversation.activity_at, Conversation.id) < tuple_(*after))
        query = query.order_by(Conversation.activity_at.desc(), Conversation.id.desc()).limit(limit)
        return list(await self.session.scalars(query))

    async def touch(self, conversation_id: uuid.UUID, at: datetime) -> None:
        await self.session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(activity_at=func.greatest(Conversation.activity_at, at))
        )

    # -- messages ------------------------------------------------------------------------------
    async def add_message(self, message: Message) -> Message:
        self.session.add(message)
        await self.session.flush()
        return message

    async def message(self, conversation_id: uuid.UUID, message_id: uuid.UUID, *, lock: bool = False) -> Message | None:
        query = select(Message).where(
            Message.id == message_id, Message.conversation_id == conversation_id, Message.deleted_at.is_(None)
        )
        if lock:
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def message_page(
        self, conversation_id: uuid.UUID, limit: int, before: tuple[datetime, uuid.UUID] | None
    ) -> Sequence[Message]:
        """Newest first; `before` is the position of the last message of the previous page."""
        query = select(Message).where(Message.conversation_id == conversation_id, Message.deleted_at.is_(None))
        if before is not None:
            query = query.where(tuple_(Message.created_at, Message.id) < tuple_(*before))
        query = query.order_by(Message.created_at.desc(), Message.id.desc()).limit(limit)
        return list(await self.session.scalars(query))

    async def last_messages(self, conversation_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Message]:
        if not conversation_ids:
            return {}
        rows = await self.session.scalars(
            select(Message)
            .where(Message.conversation_id.in_(list(conversation_ids)), Message.deleted_at.is_(None))
            .order_by(Message.conversation_id, Message.created_at.desc(), Message.id.desc())
            .ext(distinct_on(Message.conversation_id))
        )
        return {message.conversation_id: message for message in rows}

    async def unread_counts(self, user_id: uuid.UUID, conversation_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, int]:
        """Messages of others after the user's read mark (all of them without one), per conversation."""
        if not conversation_ids:
            return {}
        mark = (
            select(ReadMark)
            .where(ReadMark.user_id == user_id, ReadMark.conversation_id.in_(list(conversation_ids)))
            .subquery()
        )
        rows = await self.session.execute(
            select(Message.conversation_id, func.count())
            .select_from(Message)
            .outerjoin(mark, mark.c.conversation_id == Message.conversation_id)
            .where(
                Message.conversation_id.in_(list(conversation_ids)),
                Message.deleted_at.is_(None),
                Message.author_id.is_distinct_from(user_id),
                or_(
                    mark.c.message_id.is_(None),
                    tuple_(Message.created_at, Message.id) > tuple_(mark.c.message_created_at, mark.c.message_id),
                ),
            )
            .group_by(Message.conversation_id)
        )
        return {conversation_id: count for conversation_id, count in rows}

    # -- read marks ----------------------------------------------------------------------------
    async def mark_read(self, conversation_id: uuid.UUID, user_id: uuid.UUID, message: Message, at: datetime) -> None:
        """Move the user's mark forward to `message`; a mark already further stays where it is."""
        statement = insert(ReadMark).values(
            conversation_id=conversation_id,
            user_id=user_id,
            message_id=message.id,
            message_created_at=message.created_at,
            read_at=at,
        )
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[ReadMark.conversation_id, ReadMark.user_id],
                set_={
                    "message_id": statement.excluded.message_id,
                    "message_created_at": statement.excluded.message_created_at,
                    "read_at": statement.excluded.read_at,
                },
                where=tuple_(ReadMark.message_created_at, ReadMark.message_id)
                < tuple_(statement.excluded.message_created_at, statement.excluded.message_id),
            )
        )

    async def read_marks(self, conversation_id: uuid.UUID) -> Sequence[ReadMark]:
        return list(
            await self.session.scalars(
                select(ReadMark).where(ReadMark.conversation_id == conversation_id).order_by(ReadMark.read_at.desc())
            )
        )
