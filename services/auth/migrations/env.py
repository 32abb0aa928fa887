from mcm_shared.alembic_env import run_env

from mcm_auth.models import metadata

run_env(metadata)
