from __future__ import annotations

from mcm_shared.errors import Conflict, NotFound


class ObligationNotFound(NotFound):
    type_slug, title = "obligation-not-found", "Obligation not found"


class ObligationClosed(Conflict):
    type_slug, title = "obligation-closed", "The obligation is closed"


class NothingDue(Conflict):
    type_slug, title = "nothing-due", "Nothing is due on this obligation"


class NotPaused(Conflict):
    type_slug, title = "not-paused", "The obligation is not paused"
