"""The problems conversations answer with (problem+json through mcm_shared.errors)."""

from __future__ import annotations

from mcm_shared.errors import Forbidden, InvalidInput, NotFound


class ConversationNotFound(NotFound):
    """Also for a conversation the caller may not see (ARCHITECTURE §7): its existence stays private."""

    type_slug, title = "conversation-not-found", "Conversation not found"


class MessageNotFound(NotFound):
    type_slug, title = "message-not-found", "Message not found"


class UserNotReachable(NotFound):
    type_slug, title = "user-not-found", "User not found"


class CannotStartDirect(Forbidden):
    type_slug, title = "direct-not-allowed", "You cannot start a conversation with this person"


class CannotAnnounce(Forbidden):
    type_slug, title = "announcement-not-allowed", "You cannot make announcements to this audience"


class ReadOnlyConversation(Forbidden):
    type_slug, title = "read-only-conversation", "Recipients of an announcement read it but do not answer"


class NotTheAuthor(Forbidden):
    type_slug, title = "not-the-author", "Only the author may change a message"


class EditWindowClosed(Forbidden):
    type_slug, title = "edit-window-closed", "The time to edit or delete this message has passed"


class InvalidBody(InvalidInput):
    type_slug, title = "invalid-message", "Invalid message"
