"""Import point for every model of the service, so Alembic sees the whole metadata."""

from mcm_payments.checkout.models import CheckoutSession
from mcm_payments.customers.models import Customer
from mcm_payments.db import Base
from mcm_payments.idempotency import IdempotencyRecord
from mcm_payments.ledger.models import Invoice, Payment, Subscription
from mcm_payments.obligations.models import Obligation, ObligationAudit
from mcm_payments.refunds.models import Refund
from mcm_payments.reports.models import ReportRefresh
from mcm_payments.tasks.models import StripeTask
from mcm_payments.webhooks.models import WebhookEvent, WebhookRetry
from mcm_shared.events import event_tables

EVENTS = event_tables(Base)
metadata = Base.metadata

__all__ = [
    "EVENTS",
    "CheckoutSession",
    "Customer",
    "IdempotencyRecord",
    "Invoice",
    "Obligation",
    "ObligationAudit",
    "Payment",
    "Refund",
    "ReportRefresh",
    "StripeTask",
    "Subscription",
    "WebhookEvent",
    "WebhookRetry",
    "metadata",
]
