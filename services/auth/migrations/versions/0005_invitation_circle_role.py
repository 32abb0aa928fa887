"""Bulk import: a circle invitation may make the invited person a facilitator of the circle
(`circle_role`), applied by circles when the invitation is accepted. NULL: a member, as before.

Revision ID: 0005_invitation_circle_role
Revises: 0004_invitations
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_invitation_circle_role"
down_revision = "0004_invitations"
branch_labels = None
depends_on = None

S = "auth"


def upgrade() -> None:
    op.add_column("invitations", sa.Column("circle_role", sa.String(11), nullable=True), schema=S)
    op.create_check_constraint(
        "circle_role",
        "invitations",
        "circle_role IS NULL OR (circle_id IS NOT NULL AND circle_role IN ('member', 'facilitator'))",
        schema=S,
    )


def downgrade() -> None:
    op.drop_constraint("ck_invitations_circle_role", "invitations", schema=S, type_="check")
    op.drop_column("invitations", "circle_role", schema=S)
