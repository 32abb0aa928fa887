"""The member's billing portal: a Stripe billing portal session for his own Stripe customer,
returning to `PORTAL_RETURN_URL`. Only the caller's own customer is ever named: the portal is a
bearer link that acts as that customer, so nobody (staff included) opens one for someone else.

What the member does there comes back as webhooks (webhooks/portal.py): a new card, a
cancellation at the end of the paid month, a pause of collection, a resumption."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_payments.customers import service as customers
from mcm_payments.portal.errors import MembersOnly, NoBillingAccount
from mcm_payments.runtime import PaymentsRuntime
from mcm_payments.stripe_api import StripeRejected
from mcm_shared.security import Principal

NO_CUSTOMER = "You have not paid by card yet, so there is no card or subscription to manage: pay your dues first."


async def open_portal(session: AsyncSession, runtime: PaymentsRuntime, principal: Principal) -> str:
    """The portal page's URL for the caller's own Stripe customer."""
    if principal.user_id is None:
        raise MembersOnly("A billing portal is opened by the member himself.")
    customer_id = await customers.current_stripe_id(session, principal.user_id)
    # Nothing is held across the Stripe call: the session is read-only here.
    await session.rollback()
    if customer_id is None:
        raise NoBillingAccount(NO_CUSTOMER)
    try:
        portal = await runtime.stripe.create_portal_session(customer_id, runtime.settings.portal_return_url)
    except StripeRejected as exc:
        if exc.is_missing("customer"):
            # Stripe no longer knows the customer (deleted there; the stand-in restarted): it holds
            # no card and no subscription of his any more; the next checkout links a new one.
            raise NoBillingAccount(NO_CUSTOMER) from exc
        raise
    return str(portal["url"])
