from __future__ import annotations

from mcm_shared.errors import Conflict, NotFound


class PaymentNotFound(NotFound):
    type_slug, title = "payment-not-found", "Payment not found"


class RefundExceedsPayment(Conflict):
    type_slug, title = "refund-exceeds-payment", "Refund exceeds what is left of the payment"
