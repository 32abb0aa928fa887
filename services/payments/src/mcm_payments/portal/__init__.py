"""Billing self-service: a Stripe billing portal session for the member (card, cancel, pause)."""
