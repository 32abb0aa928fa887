"""Payments tables: obligations and their audit trail, Stripe customers, checkout sessions,
subscriptions, invoices, payments, refunds, the webhook inbox, Stripe tasks, idempotency keys,
and the event bus outbox/inbox.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from mcm_shared.events import create_event_tables, drop_event_tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = "payments"


def upgrade() -> None:
    create_event_tables(op, schema=SCHEMA)
    op.create_table(
        "customers",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("stripe_customer_id", sa.Text(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("stripe_customer_id", name=op.f("uq_customers_stripe_customer_id")),
        sa.UniqueConstraint("user_id", name=op.f("uq_customers_user_id")),
        schema=SCHEMA,
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("response", postgresql.JSONB(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("scope", "owner", "key", name=op.f("pk_idempotency_keys")),
        schema=SCHEMA,
    )
    op.create_table(
        "obligations",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.UUID(), nullable=False),
        sa.Column("context_id", sa.UUID(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("interval", sa.String(length=8), nullable=True),
        sa.Column("instalments", sa.Integer(), server_default="1", nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("amount_due", sa.BigInteger(), nullable=False),
        sa.Column("amount_paid", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("instalments_paid", sa.Integer(), server_default="0", nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overdue_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("attention", sa.Text(), nullable=True),
        sa.Column("last_reminder_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_obligations_currency_iso")),
        sa.CheckConstraint("kind IN ('membership', 'registration')", name=op.f("ck_obligations_kind")),
        sa.CheckConstraint(
            "status <> 'paused' OR paused_until IS NOT NULL", name=op.f("ck_obligations_paused_has_until")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'settled', 'overdue', 'paused', 'waived', 'cancelled')",
            name=op.f("ck_obligations_status"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_obligations_amount_positive")),
        sa.CheckConstraint("amount_due >= 0", name=op.f("ck_obligations_amount_due_not_negative")),
        sa.CheckConstraint(
            "instalments BETWEEN 1 AND 36 AND amount >= instalments", name=op.f("ck_obligations_instalments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_obligations")),
        sa.UniqueConstraint("kind", "source_id", name="uq_obligations_kind_source"),
        schema=SCHEMA,
    )
    op.create_index("ix_obligations_context", "obligations", ["kind", "context_id"], unique=False, schema=SCHEMA)
    op.create_index(
        "ix_obligations_paused",
        "obligations",
        ["paused_until"],
        unique=False,
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'paused'"),
    )
    op.create_index(
        "ix_obligations_queue",
        "obligations",
        ["overdue_since"],
        unique=False,
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'overdue' OR attention IS NOT NULL"),
    )
    op.create_index("ix_obligations_user", "obligations", ["user_id", "created_at"], unique=False, schema=SCHEMA)
    op.create_table(
        "stripe_tasks",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("params", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("obligation_id", sa.UUID(), nullable=True),
        sa.Column("status", sa.String(length=8), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('cancel_subscription', 'cancel_at_period_end', 'pause_collection', 'resume_collection', "
            "'pay_invoice_out_of_band', 'expire_checkout_session', 'submit_refund')",
            name=op.f("ck_stripe_tasks_kind"),
        ),
        sa.CheckConstraint("status IN ('pending', 'done', 'failed')", name=op.f("ck_stripe_tasks_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_tasks")),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_stripe_tasks_due",
        "stripe_tasks",
        ["next_attempt_at"],
        unique=False,
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "webhook_events",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("stripe_event_id", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("event_created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("livemode", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("object_id", sa.Text(), nullable=True),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=24), nullable=True),
        sa.Column("flagged", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_events")),
        sa.UniqueConstraint("stripe_event_id", name=op.f("uq_webhook_events_stripe_event_id")),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_webhook_events_flagged",
        "webhook_events",
        ["received_at"],
        unique=False,
        schema=SCHEMA,
        postgresql_where=sa.text("flagged"),
    )
    op.create_index(
        "ix_webhook_events_unprocessed",
        "webhook_events",
        ["next_attempt_at"],
        unique=False,
        schema=SCHEMA,
        postgresql_where=sa.text("processed_at IS NULL"),
    )
    op.create_table(
        "checkout_sessions",
        sa.Column("obligation_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("stripe_session_id", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("mode IN ('payment', 'subscription')", name=op.f("ck_checkout_sessions_mode")),
        sa.CheckConstraint("status IN ('open', 'complete', 'expired')", name=op.f("ck_checkout_sessions_status")),
        sa.ForeignKeyConstraint(
            ["obligation_id"],
            ["payments.obligations.id"],
            name=op.f("fk_checkout_sessions_obligation_id_obligations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkout_sessions")),
        sa.UniqueConstraint("stripe_session_id", name=op.f("uq_checkout_sessions_stripe_session_id")),
        schema=SCHEMA,
    )
    op.create_index(
        "uq_checkout_sessions_one_open",
        "checkout_sessions",
        ["obligation_id"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_table(
        "invoices",
        sa.Column("obligation_id", sa.UUID(), nullable=False),
        sa.Column("stripe_invoice_id", sa.Text(), nullable=False),
        sa.Column("stripe_subscription_id", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("amount_due", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("attempted", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("paid_out_of_band", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("number", sa.Text(), nullable=True),
        sa.Column("hosted_invoice_url", sa.Text(), nullable=True),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("status IN ('open', 'paid', 'void', 'uncollectible')", name=op.f("ck_invoices_status")),
        sa.CheckConstraint("amount_due >= 0", name=op.f("ck_invoices_amount_due_not_negative")),
        sa.ForeignKeyConstraint(
            ["obligation_id"],
            ["payments.obligations.id"],
            name=op.f("fk_invoices_obligation_id_obligations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("stripe_invoice_id", name=op.f("uq_invoices_stripe_invoice_id")),
        schema=SCHEMA,
    )
    op.create_index("ix_invoices_obligation", "invoices", ["obligation_id", "status"], unique=False, schema=SCHEMA)
    op.create_table(
        "obligation_audit",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("obligation_id", sa.UUID(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("actor_roles", postgresql.JSONB(), server_default=sa.text("'[]'::jsonb"), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("status_before", sa.String(length=16), nullable=True),
        sa.Column("status_after", sa.String(length=16), nullable=True),
        sa.Column("data", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["obligation_id"],
            ["payments.obligations.id"],
            name=op.f("fk_obligation_audit_obligation_id_obligations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_obligation_audit")),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_obligation_audit_obligation",
        "obligation_audit",
        ["obligation_id", "created_at"],
        unique=False,
        schema=SCHEMA,
    )
    op.create_table(
        "payments",
        sa.Column("obligation_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_refunded", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("stripe_payment_intent_id", sa.Text(), nullable=True),
        sa.Column("stripe_invoice_id", sa.Text(), nullable=True),
        sa.Column("receipt_number", sa.Text(), nullable=True),
        sa.Column("receipt_url", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.Text(), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_payments_currency_iso")),
        sa.CheckConstraint("method IN ('card', 'cash', 'cheque', 'bank_transfer')", name=op.f("ck_payments_method")),
        sa.CheckConstraint("source IN ('stripe', 'offline')", name=op.f("ck_payments_source")),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payments_amount_positive")),
        sa.CheckConstraint(
            "amount_refunded >= 0 AND amount_refunded <= amount", name=op.f("ck_payments_refund_within_amount")
        ),
        sa.ForeignKeyConstraint(
            ["obligation_id"],
            ["payments.obligations.id"],
            name=op.f("fk_payments_obligation_id_obligations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("stripe_invoice_id", name=op.f("uq_payments_stripe_invoice_id")),
        sa.UniqueConstraint("stripe_payment_intent_id", name=op.f("uq_payments_stripe_payment_intent_id")),
        schema=SCHEMA,
    )
    op.create_index("ix_payments_obligation", "payments", ["obligation_id"], unique=False, schema=SCHEMA)
    op.create_index("ix_payments_paid_at", "payments", ["paid_at"], unique=False, schema=SCHEMA)
    op.create_index("ix_payments_user", "payments", ["user_id", "paid_at"], unique=False, schema=SCHEMA)
    op.create_table(
        "subscriptions",
        sa.Column("obligation_id", sa.UUID(), nullable=False),
        sa.Column("stripe_subscription_id", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("current_period_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_at_period_end", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("canceled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["obligation_id"],
            ["payments.obligations.id"],
            name=op.f("fk_subscriptions_obligation_id_obligations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
        sa.UniqueConstraint("stripe_subscription_id", name=op.f("uq_subscriptions_stripe_subscription_id")),
        schema=SCHEMA,
    )
    op.create_index("ix_subscriptions_obligation", "subscriptions", ["obligation_id"], unique=False, schema=SCHEMA)
    op.create_table(
        "refunds",
        sa.Column("payment_id", sa.UUID(), nullable=False),
        sa.Column("obligation_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="requested", nullable=False),
        sa.Column("origin", sa.String(length=24), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.Text(), nullable=False),
        sa.Column("stripe_refund_id", sa.Text(), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("succeeded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "origin IN ('staff', 'event_cancelled', 'stripe', 'cancelled_obligation')", name=op.f("ck_refunds_origin")
        ),
        sa.CheckConstraint(
            "status IN ('requested', 'pending', 'succeeded', 'failed', 'canceled')", name=op.f("ck_refunds_status")
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_refunds_amount_positive")),
        sa.ForeignKeyConstraint(
            ["obligation_id"],
            ["payments.obligations.id"],
            name=op.f("fk_refunds_obligation_id_obligations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.payments.id"], name=op.f("fk_refunds_payment_id_payments"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
        sa.UniqueConstraint("stripe_refund_id", name=op.f("uq_refunds_stripe_refund_id")),
        schema=SCHEMA,
    )
    op.create_index("ix_refunds_created", "refunds", ["created_at"], unique=False, schema=SCHEMA)
    op.create_index("ix_refunds_payment", "refunds", ["payment_id"], unique=False, schema=SCHEMA)


def downgrade() -> None:
    op.drop_index("ix_refunds_payment", table_name="refunds", schema=SCHEMA)
    op.drop_index("ix_refunds_created", table_name="refunds", schema=SCHEMA)
    op.drop_table("refunds", schema=SCHEMA)
    op.drop_index("ix_subscriptions_obligation", table_name="subscriptions", schema=SCHEMA)
    op.drop_table("subscriptions", schema=SCHEMA)
    op.drop_index("ix_payments_user", table_name="payments", schema=SCHEMA)
    op.drop_index("ix_payments_paid_at", table_name="payments", schema=SCHEMA)
    op.drop_index("ix_payments_obligation", table_name="payments", schema=SCHEMA)
    op.drop_table("payments", schema=SCHEMA)
    op.drop_index("ix_obligation_audit_obligation", table_name="obligation_audit", schema=SCHEMA)
    op.drop_table("obligation_audit", schema=SCHEMA)
    op.drop_index("ix_invoices_obligation", table_name="invoices", schema=SCHEMA)
    op.drop_table("invoices", schema=SCHEMA)
    op.drop_index(
        "uq_checkout_sessions_one_open",
        table_name="checkout_sessions",
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'open'"),
    )
    op.drop_table("checkout_sessions", schema=SCHEMA)
    op.drop_index(
        "ix_webhook_events_unprocessed",
        table_name="webhook_events",
        schema=SCHEMA,
        postgresql_where=sa.text("processed_at IS NULL"),
    )
    op.drop_index(
        "ix_webhook_events_flagged", table_name="webhook_events", schema=SCHEMA, postgresql_where=sa.text("flagged")
    )
    op.drop_table("webhook_events", schema=SCHEMA)
    op.drop_index(
        "ix_stripe_tasks_due", table_name="stripe_tasks", schema=SCHEMA, postgresql_where=sa.text("status = 'pending'")
    )
    op.drop_table("stripe_tasks", schema=SCHEMA)
    op.drop_index("ix_obligations_user", table_name="obligations", schema=SCHEMA)
    op.drop_index(
        "ix_obligations_queue",
        table_name="obligations",
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'overdue' OR attention IS NOT NULL"),
    )
    op.drop_index(
        "ix_obligations_paused", table_name="obligations", schema=SCHEMA, postgresql_where=sa.text("status = 'paused'")
    )
    op.drop_index("ix_obligations_context", table_name="obligations", schema=SCHEMA)
    op.drop_table("obligations", schema=SCHEMA)
    op.drop_table("idempotency_keys", schema=SCHEMA)
    op.drop_table("customers", schema=SCHEMA)
    drop_event_tables(op, schema=SCHEMA)
