from mcm_payments.models import metadata
from mcm_shared.alembic_env import run_env

run_env(metadata)
