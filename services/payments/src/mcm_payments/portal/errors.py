from __future__ import annotations

from mcm_shared.errors import Conflict, Forbidden


class NoBillingAccount(Conflict):
    type_slug, title = "no-billing-account", "There is no billing account to manage yet"


class MembersOnly(Forbidden):
    type_slug, title = "members-only", "Only a member can manage his own billing"
