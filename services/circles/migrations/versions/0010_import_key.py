"""Bulk import: a circle brought in from an organisation's CSV keeps the file's key
(`import_key`), unique, so importing the same file again matches it instead of creating it twice.
Circles created through the API have none.

Revision ID: 0010_import_key
Revises: 0009_reports
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_import_key"
down_revision = "0009_reports"
branch_labels = None
depends_on = None

S = "circles"


def upgrade() -> None:
    op.add_column("circles", sa.Column("import_key", sa.String(64), nullable=True), schema=S)
    op.create_unique_constraint("uq_circles_import_key", "circles", ["import_key"], schema=S)


def downgrade() -> None:
    op.drop_constraint("uq_circles_import_key", "circles", schema=S, type_="unique")
    op.drop_column("circles", "import_key", schema=S)
