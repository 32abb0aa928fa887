"""Events: movie nights, workshops and retreats, their registrations, waitlists, requirements,
staff and check-in — a bounded context of its own inside the circles service.

HTTP lives in `router.py` and `registrations/router.py`; rules in `service.py`,
`cancellation.py` and the sub-packages `registrations/` (with `seats.py`, `holds.py` and the
payments handlers in `bus.py`), `waitlist/`, `staff/`, `checkin/` and `requirements/`; who may do
what in `access.py`; SQL in `repository.py`; what it publishes in `bus.py`. See docs/events.md.
"""
