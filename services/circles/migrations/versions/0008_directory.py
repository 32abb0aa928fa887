"""Directory: a member may hide himself (profiles.directory_visible), and the staff directory's
name search is indexed (trigram GIN for the case-insensitive substring match of 3+ characters,
a text_pattern_ops btree for the prefix match of shorter texts, a btree for the (name, id)
order), all over the rows the directory can show only.

The GIN index has no pending list (fastupdate off): names change rarely, and a pending list
would make every search scan it and the planner cost the index too high until the next vacuum.

pg_trgm is already installed by 0002 (a trusted contrib extension, present in the embedded
PostgreSQL and in the official images).

Revision ID: 0008_directory
Revises: 0007_dues_stopped
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_directory"
down_revision = "0007_dues_stopped"
branch_labels = None
depends_on = None

S = "circles"
SHOWN = "directory_visible AND erased_at IS NULL"


def upgrade() -> None:
    op.add_column(
        "profiles",
        sa.Column("directory_visible", sa.Boolean(), server_default=sa.true(), nullable=False),
        schema=S,
    )
    op.execute(
        f"CREATE INDEX ix_profiles_directory_name_trgm ON {S}.profiles "
        f"USING gin (lower(display_name) gin_trgm_ops) WITH (fastupdate = off) WHERE {SHOWN}"
    )
    op.execute(
        f"CREATE INDEX ix_profiles_directory_name_id ON {S}.profiles (lower(display_name), user_id) WHERE {SHOWN}"
    )
    # Searches of one or two characters (no trigram) match the start of the name.
    op.execute(
        f"CREATE INDEX ix_profiles_directory_name_prefix ON {S}.profiles "
        f"(lower(display_name) text_pattern_ops) WHERE {SHOWN}"
    )


def downgrade() -> None:
    op.drop_index("ix_profiles_directory_name_prefix", table_name="profiles", schema=S)
    op.drop_index("ix_profiles_directory_name_id", table_name="profiles", schema=S)
    op.drop_index("ix_profiles_directory_name_trgm", table_name="profiles", schema=S)
    op.drop_column("profiles", "directory_visible", schema=S)
