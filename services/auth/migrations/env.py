from mcm_auth.models import metadata
from mcm_shared.alembic_env import run_env

run_env(metadata)
