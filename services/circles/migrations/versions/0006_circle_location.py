"""Where a circle meets (issue 15): `circles.location_address` and `circles.location_video_url`
(https only), shown to the circle's members, facilitators and staff, never in listings.

Revision ID: 0006_circle_location
Revises: 0005_staff_operations
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_circle_location"
down_revision = "0005_staff_operations"
branch_labels = None
depends_on = None

S = "circles"


def upgrade() -> None:
    op.add_column("circles", sa.Column("location_address", sa.String(300), nullable=True), schema=S)
    op.add_column("circles", sa.Column("location_video_url", sa.String(500), nullable=True), schema=S)
    op.create_check_constraint(
        op.f("ck_circles_video_url_https"),
        "circles",
        "location_video_url IS NULL OR location_video_url LIKE 'https://%'",
        schema=S,
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_circles_video_url_https"), "circles", schema=S, type_="check")
    op.drop_column("circles", "location_video_url", schema=S)
    op.drop_column("circles", "location_address", schema=S)
