"""Events: movie nights, workshops and retreats, their registrations, waitlists, requirements,
staff and check-in — a bounded context of its own inside the circles service.

HTTP lives in `router.py` / `router_registrations.py`; rules in the use-case modules
(`service.py`, `registration.py`, `waitlist.py`, `holds.py`, `staff.py`, `checkin.py`,
`cancellation.py`, `payments.py`, `requirements.py`); SQL in `repository.py`; what it publishes
and consumes in `messages.py`. See docs/events.md.
"""
