"""Refunds: created `pending` against a succeeded charge (never more than is left of it), then
settled — by themselves after `refund_settle_seconds`, or through the control endpoints."""

from __future__ import annotations

from typing import Any

from mcm_stripe_standin import objects
from mcm_stripe_standin.core import StandIn
from mcm_stripe_standin.forms import FormError, to_int
from mcm_stripe_standin.state import StripeError

REASONS = {"duplicate", "fraudulent", "requested_by_customer"}
COUNTING = {"pending", "succeeded", "requires_action"}


def _charge_of(s: StandIn, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("charge"):
        return s.store.get(params["charge"], "charge")
    if params.get("payment_intent"):
        intent = s.store.get(params["payment_intent"], "payment_intent", "payment_intent")
        if intent["status"] != "succeeded" or not intent["latest_charge"]:
            raise StripeError(
                400, "This PaymentIntent does not have a successful charge to refund.", code="charge_not_refundable"
            )
        return s.store.get(intent["latest_charge"], "charge")
    raise StripeError(400, "One of the following params should be provided for this request: payment_intent or charge.")


def refundable(s: StandIn, charge: dict[str, Any]) -> int:
    taken = sum(r["amount"] for r in s.store.find("refund", charge=charge["id"]) if r["status"] in COUNTING)
    return int(charge["amount"] - taken)


def create(s: StandIn, params: dict[str, Any]) -> dict[str, Any]:
    charge = _charge_of(s, params)
    if charge["status"] != "succeeded":
        raise StripeError(400, "This charge cannot be refunded.", code="charge_not_refundable")
    left = refundable(s, charge)
    try:
        amount = to_int(params["amount"], "amount") if params.get("amount") not in (None, "") else left
    except FormError as exc:
        raise StripeError(400, str(exc), param="amount") from None
    if left <= 0:
        raise StripeError(400, f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded")
    if amount <= 0 or amount > left:
        raise StripeError(
            400,
            f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left}).",
            code="amount_too_large",
            param="amount",
        )
    reason = params.get("reason") or None
    if reason is not None and reason not in REASONS:
        raise StripeError(400, "Invalid reason.", param="reason")
    metadata = {k: str(v) for k, v in (params.get("metadata") or {}).items()}
    refund = s.store.add(objects.refund(charge_obj=charge, amount=amount, reason=reason, metadata=metadata))
    _sync_charge(s, charge)
    s.emit("refund.created", refund)
    if s.config.refund_settle_seconds is not None:
        s.later(s.config.refund_settle_seconds, lambda: settle(s, refund["id"], succeed=True))
    return refund


def _sync_charge(s: StandIn, charge: dict[str, Any]) -> None:
    refunds = s.store.find("refund", charge=charge["id"])
    charge["amount_refunded"] = sum(r["amount"] for r in refunds if r["status"] in COUNTING)
    charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
    charge["refunds"] = objects.listing(f"/v1/charges/{charge['id']}/refunds", [dict(r) for r in refunds])


def settle(s: StandIn, refund_id: str, *, succeed: bool) -> dict[str, Any]:
    refund = s.store.get(refund_id, "refund")
    if refund["status"] != "pending":
        raise StripeError(400, f"Refund is already {refund['status']}.", code="refund_not_pending")
    previous = {"status": refund["status"]}
    refund["status"] = "succeeded" if succeed else "failed"
    if not succeed:
        refund["failure_reason"] = "expired_or_canceled_card"
    charge = s.store.get(refund["charge"], "charge")
    _sync_charge(s, charge)
    s.emit("refund.updated", refund, previous)
    if succeed:
        s.emit("charge.refunded", charge, {"amount_refunded": charge["amount_refunded"] - refund["amount"]})
    return refund
