"""The stand-in's core: configuration, the object store, the webhook sender, and the two things
every flow needs — emitting an event and charging a card."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from mcm_stripe_standin import objects
from mcm_stripe_standin.config import StandInConfig
from mcm_stripe_standin.objects import CARDS, TestCard
from mcm_stripe_standin.state import Store, StripeError, missing, now
from mcm_stripe_standin.webhooks import WebhookSender


class StandIn:
    def __init__(self, config: StandInConfig) -> None:
        self.config = config
        self.store = Store()
        self.sender = WebhookSender(config)
        self.pm_cards: dict[str, TestCard] = {}
        self.session_lines: dict[str, list[dict[str, Any]]] = {}
        self._timers: set[asyncio.TimerHandle] = set()

    @property
    def base_url(self) -> str:
        return self.config.base_url

    def emit(self, type_: str, obj: dict[str, Any], previous: dict[str, Any] | None = None) -> dict[str, Any]:
        event = objects.event(type_, obj, previous, None)
        self.store.add(event)
        self.sender.enqueue(event)
        return event

    def later(self, delay: float, action: Callable[[], object]) -> None:
        loop = asyncio.get_running_loop()
        handle: asyncio.TimerHandle

        def run() -> None:
            self._timers.discard(handle)
            with contextlib.suppress(StripeError):  # the object moved on meanwhile (e.g. settled by hand)
                action()

        handle = loop.call_later(delay, run)
        self._timers.add(handle)

    def cancel_timers(self) -> None:
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()

    def card(self, number: str | None) -> TestCard:
        digits = (number or objects.DEFAULT_CARD).replace(" ", "")
        card = CARDS.get(digits)
        if card is None:
            raise StripeError(
                402,
                "Your card number is not one of the stand-in's test cards.",
                type_="card_error",
                code="invalid_number",
            )
        return card

    def new_payment_method(self, card: TestCard, customer_id: str | None) -> dict[str, Any]:
        pm = self.store.add(objects.payment_method(card, customer_id))
        self.pm_cards[pm["id"]] = card
        return pm

    def charge(
        self,
        *,
        amount: int,
        currency: str,
        customer_id: str | None,
        pm: dict[str, Any],
        succeed: bool,
        metadata: dict[str, Any] | None = None,
        description: str | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Create a payment intent and its charge; emit their events. Returns (intent, charge)."""
        intent = self.store.add(
            objects.payment_intent(
                amount=amount, currency=currency, customer_id=customer_id, metadata=metadata, description=description
            )
        )
        charge = self.store.add(objects.charge(intent, pm, succeeded=succeed, base_url=self.base_url))
        intent["payment_method"], intent["latest_charge"] = pm["id"], charge["id"]
        if succeed:
            intent["status"], intent["amount_received"] = "succeeded", amount
            self.emit("payment_intent.succeeded", intent)
            self.emit("charge.succeeded", charge)
        else:
            intent["last_payment_error"] = {
                "type": "card_error",
                "code": "card_declined",
                "decline_code": "generic_decline",
                "message": "Your card was declined.",
                "payment_method": {"id": pm["id"]},
            }
            self.emit("payment_intent.payment_failed", intent)
            self.emit("charge.failed", charge)
        return intent, charge

    def charge_outcome(self, pm_id: str | None, *, first: bool, outcome: str | None = None) -> bool:
        if outcome in {"succeed", "fail"}:
            return outcome == "succeed"
        card = self.pm_cards.get(pm_id or "")
        if card is None:
            return False
        return card.pays_first if first else card.pays_later

    def customer(self, customer_id: str, param: str = "id") -> dict[str, Any]:
        """A live customer; unknown or deleted → `resource_missing` on `param`, as Stripe answers."""
        obj = self.store.objects.get(customer_id)
        if obj is None or obj.get("object") != "customer" or obj.get("deleted"):
            raise missing("customer", customer_id, param)
        return obj

    def timestamp(self) -> int:
        return now()
