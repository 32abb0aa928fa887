from __future__ import annotations

from mcm_shared.errors import InvalidInput


class AmountExceedsDue(InvalidInput):
    type_slug, title = "amount-exceeds-due", "The amount is more than is due"


class InvalidPause(InvalidInput):
    type_slug, title = "invalid-pause", "Invalid pause"
