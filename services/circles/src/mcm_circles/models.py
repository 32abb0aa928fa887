"""Import point for every model of the service, so Alembic sees the whole metadata."""
from mcm_circles.db import Base

metadata = Base.metadata
