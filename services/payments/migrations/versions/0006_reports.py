"""Reports (docs/reports.md): the materialized views behind the dues and revenue reports and the
table recording when each was last refreshed. Every view has a unique index, so the refresh job
can use REFRESH ... CONCURRENTLY. Money stays per currency: no view sums across currencies.

Revision ID: 0006_reports
Revises: 0005_webhook_retries
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_reports"
down_revision = "0005_webhook_retries"
branch_labels = None
depends_on = None

S = "payments"


def _month(column: str) -> str:
    return f"date_trunc('month', {column} AT TIME ZONE 'UTC')::date"


VIEWS = {
    # Each month's dues instalments (invoices of membership obligations, void ones excluded) by
    # the UTC month of their due date: the period they bill starts then (else: when issued).
    # On time: paid by the end of that UTC day.
    "report_dues_monthly": (
        f"""
        WITH due AS (
            SELECT i.status, i.paid_at, coalesce(i.period_start, i.created_at) AS due_at
              FROM {S}.invoices i JOIN {S}.obligations o ON o.id = i.obligation_id
             WHERE o.kind = 'membership' AND i.status <> 'void'
        ), judged AS (
            SELECT due_at, status = 'paid' AS paid,
                   status = 'paid' AND paid_at IS NOT NULL
                   AND paid_at < (date_trunc('day', due_at AT TIME ZONE 'UTC') + interval '1 day') AT TIME ZONE 'UTC'
                       AS on_time
              FROM due
        )
        SELECT {_month("due_at")} AS month,
               count(*) AS due,
               count(*) FILTER (WHERE on_time) AS paid_on_time,
               count(*) FILTER (WHERE paid AND NOT on_time) AS paid_late,
               count(*) FILTER (WHERE NOT paid) AS unpaid
          FROM judged
         GROUP BY 1
        """,
        ["month"],
    ),
    # Money received (payments, by when paid) and returned (succeeded refunds, by when they
    # succeeded), per UTC month and currency.
    "report_revenue_monthly": (
        f"""
        WITH paid AS (
            SELECT {_month("paid_at")} AS month, currency, sum(amount) AS collected, count(*) AS payments
              FROM {S}.payments GROUP BY 1, 2
        ), refunded AS (
            SELECT {_month("succeeded_at")} AS month, currency, sum(amount) AS refunded, count(*) AS refunds
              FROM {S}.refunds WHERE status = 'succeeded' AND succeeded_at IS NOT NULL GROUP BY 1, 2
        )
        SELECT coalesce(p.month, r.month) AS month, coalesce(p.currency, r.currency) AS currency,
               coalesce(p.collected, 0)::bigint AS collected, coalesce(p.payments, 0)::bigint AS payments,
               coalesce(r.refunded, 0)::bigint AS refunded, coalesce(r.refunds, 0)::bigint AS refunds
          FROM paid p FULL JOIN refunded r ON r.month = p.month AND r.currency = p.currency
        """,
        ["month", "currency"],
    ),
    # The same per event (registration obligations: context_id is the event's id).
    "report_revenue_events": (
        f"""
        WITH paid AS (
            SELECT o.context_id AS event_id, {_month("p.paid_at")} AS month, p.currency,
                   sum(p.amount) AS collected, count(*) AS payments
              FROM {S}.payments p JOIN {S}.obligations o ON o.id = p.obligation_id
             WHERE o.kind = 'registration' GROUP BY 1, 2, 3
        ), refunded AS (
            SELECT o.context_id AS event_id, {_month("r.succeeded_at")} AS month, r.currency,
                   sum(r.amount) AS refunded, count(*) AS refunds
              FROM {S}.refunds r JOIN {S}.obligations o ON o.id = r.obligation_id
             WHERE o.kind = 'registration' AND r.status = 'succeeded' AND r.succeeded_at IS NOT NULL
             GROUP BY 1, 2, 3
        )
        SELECT coalesce(p.event_id, r.event_id) AS event_id, coalesce(p.month, r.month) AS month,
               coalesce(p.currency, r.currency) AS currency,
               coalesce(p.collected, 0)::bigint AS collected, coalesce(p.payments, 0)::bigint AS payments,
               coalesce(r.refunded, 0)::bigint AS refunded, coalesce(r.refunds, 0)::bigint AS refunds
          FROM paid p FULL JOIN refunded r
            ON r.event_id = p.event_id AND r.month = p.month AND r.currency = p.currency
        """,
        ["event_id", "month", "currency"],
    ),
}


def upgrade() -> None:
    op.create_table(
        "report_refreshes",
        sa.Column("view", sa.String(63), primary_key=True),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        schema=S,
    )
    for name, (query, unique) in VIEWS.items():
        op.execute(f"CREATE MATERIALIZED VIEW {S}.{name} AS {query}")
        op.execute(f"CREATE UNIQUE INDEX uq_{name} ON {S}.{name} ({', '.join(unique)})")
    op.execute(f"CREATE INDEX ix_report_revenue_events_month ON {S}.report_revenue_events (month)")


def downgrade() -> None:
    for name in VIEWS:
        op.execute(f"DROP MATERIALIZED VIEW {S}.{name}")
    op.drop_table("report_refreshes", schema=S)
