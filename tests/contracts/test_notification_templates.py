"""Every kind messaging's notification centre asks auth to send names a template auth has (not
the generic fallback listing), and auth reads messaging's stream by default."""

from __future__ import annotations

from mcm_auth.config import Settings as AuthSettings
from mcm_auth.outbox.templates import TEMPLATES
from mcm_messaging.notifications.kinds import KINDS

# Wording chosen per entry rather than per kind (notifications/intake.py).
EXTRA = {"circle.transfer_approved", "circle.transfer_declined"}


def test_every_kind_has_an_auth_template() -> None:
    missing = sorted(({kind.template for kind in KINDS.values()} | EXTRA) - set(TEMPLATES))
    assert missing == []


def test_auth_consumes_messagings_requests_by_default() -> None:
    assert "messaging" in AuthSettings.model_fields["notification_sources"].default_factory()  # type: ignore[misc]
