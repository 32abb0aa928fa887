"""Errors of invitations."""

from __future__ import annotations

from mcm_shared.errors import Conflict, Forbidden, InvalidInput, NotFound


class InvitationNotFound(NotFound):
    type_slug, title = "invitation-not-found", "No such invitation"


class InvalidInvitationToken(NotFound):
    type_slug, title = "invalid-invitation", "The invitation link is invalid, used, revoked or expired"


class InvitationClosed(Conflict):
    type_slug, title = "invitation-closed", "The invitation was already accepted or revoked"


class NotAllowedToInvite(Forbidden):
    type_slug, title = "not-allowed-to-invite", "You may not send this invitation"


class InvitationForSomeoneElse(Forbidden):
    type_slug, title = "invitation-for-someone-else", "This invitation grants roles to another address"


class InvalidInvitation(InvalidInput):
    type_slug, title = "invalid-invitation-request", "The invitation request is not valid"
