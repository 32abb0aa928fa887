"""Contracts that cannot break by accident: the gateway's merged OpenAPI document and the bus
messages are committed as snapshots (tests/contracts/openapi.json, tests/contracts/bus.json).

A breaking change (compare.py: a removed path, operation, parameter or field, a narrowed type, a
field becoming required in a request, a removed enum value, a removed event type or payload field)
fails here unless the snapshot is updated in the same commit. Additions pass. After a deliberate
change, rewrite the snapshots with `UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest -q tests/contracts`
and commit them with the change; the diff shows reviewers what clients will see.

The OpenAPI document is built the way the gateway builds it (mcm_gateway.openapi.merge_documents
over each service's `create_app().openapi()` and the gateway's own), without a running platform.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from bus_messages import published_messages
from compare import breaking_changes, bus_breaking_changes

HERE = Path(__file__).resolve().parent
OPENAPI = HERE / "openapi.json"
BUS = HERE / "bus.json"
UPDATE = os.environ.get("UPDATE_SNAPSHOTS") == "1"
DB = "postgresql://unused@127.0.0.1:1/unused"  # never connected to: no lifespan runs


def merged_openapi() -> dict[str, Any]:
    from mcm_auth.config import Settings as AuthSettings
    from mcm_auth.main import create_app as auth_app
    from mcm_circles.config import Settings as CirclesSettings
    from mcm_circles.main import create_app as circles_app
    from mcm_gateway.config import Settings as GatewaySettings
    from mcm_gateway.main import create_app as gateway_app
    from mcm_gateway.openapi import merge_documents
    from mcm_gateway.routes import RouteTable
    from mcm_messaging.config import Settings as MessagingSettings
    from mcm_messaging.main import create_app as messaging_app
    from mcm_payments.config import Settings as PaymentsSettings
    from mcm_payments.main import create_app as payments_app

    gateway = gateway_app(GatewaySettings(environment="test"))
    services = {
        "auth": auth_app(AuthSettings(environment="test", creds_database_url=DB)).openapi(),
        "circles": circles_app(CirclesSettings(environment="test", database_url=DB)).openapi(),
        "payments": payments_app(PaymentsSettings(environment="test", database_url=DB)).openapi(),
        "messaging": messaging_app(MessagingSettings(environment="test", database_url=DB)).openapi(),
    }
    # Title as the gateway serves it; the version is left out so a release does not churn the file.
    document = merge_documents(
        gateway.fastapi.openapi(), services, RouteTable(), title="Men's Circle Management Platform API", version=""
    )
    return json.loads(json.dumps(document))  # plain JSON types, as the client sees it


def _check(snapshot: Path, current: dict[str, Any], compare) -> None:
    text = json.dumps(current, indent=2, sort_keys=True) + "\n"
    if UPDATE or not snapshot.exists():
        if not UPDATE:
            pytest.fail(f"{snapshot.name} is missing: run with UPDATE_SNAPSHOTS=1 and commit it")
        snapshot.write_text(text)
        return
    breaking = compare(json.loads(snapshot.read_text()), current)
    assert not breaking, (
        f"breaking changes against {snapshot.relative_to(HERE.parents[1])} (if intended, rerun with "
        f"UPDATE_SNAPSHOTS=1 and commit the snapshot with the change):\n  " + "\n  ".join(breaking)
    )


def test_openapi_document_keeps_its_contract() -> None:
    _check(OPENAPI, merged_openapi(), breaking_changes)


def test_bus_messages_keep_their_contract() -> None:
    _check(BUS, published_messages(), bus_breaking_changes)


def test_every_known_event_type_is_found_in_the_code() -> None:
    """The reader sees every publish site (a site it cannot read would silently drop out)."""
    messages = published_messages()
    for event_type in ("user.registered", "user.updated", "user.erased", "membership.payment_required"):
        assert event_type in messages
    assert messages["notification.requested"]["x-producers"] == ["circles", "messaging", "payments"]
    assert set(messages["registration.payment_required"]["required"]) >= {"registration_id", "amount", "currency"}
