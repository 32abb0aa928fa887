from __future__ import annotations

from mcm_shared.errors import Conflict


class PaymentInProgress(Conflict):
    type_slug, title = "payment-in-progress", "A payment for this obligation is already under way"


class CollectionPaused(Conflict):
    type_slug, title = "collection-paused", "Collection of this obligation is paused"
