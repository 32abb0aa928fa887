"""Import point for every model of the service, so Alembic sees the whole metadata."""

from mcm_circles.audit.models import StaffAction  # noqa: F401
from mcm_circles.circles.models import Circle  # noqa: F401
from mcm_circles.db import Base
from mcm_circles.events import models as _event_models  # noqa: F401  (events, registrations, staff)
from mcm_circles.goals.models import Goal  # noqa: F401
from mcm_circles.meetings.models import Attendance, Meeting  # noqa: F401
from mcm_circles.memberships.models import Membership  # noqa: F401
from mcm_circles.outbox import EVENTS  # noqa: F401  (outbox + inbox tables)
from mcm_circles.profiles.models import Profile  # noqa: F401
from mcm_circles.reports.models import ReportRefresh  # noqa: F401
from mcm_circles.transfers.models import TransferRequest  # noqa: F401

metadata = Base.metadata
