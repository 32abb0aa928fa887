from mcm_messaging.models import metadata
from mcm_shared.alembic_env import run_env

run_env(metadata)
