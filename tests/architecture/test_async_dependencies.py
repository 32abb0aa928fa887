"""No route of any service depends on a plain `def`: FastAPI runs those in its thread pool, one
hop per request, which costs more than most of the dependencies themselves and queues behind
other blocking work."""

from __future__ import annotations

import inspect

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from mcm_auth.config import Settings as AuthSettings
from mcm_auth.main import create_app as auth_app
from mcm_circles.config import Settings as CirclesSettings
from mcm_circles.main import create_app as circles_app
from mcm_messaging.config import Settings as MessagingSettings
from mcm_messaging.main import create_app as messaging_app
from mcm_payments.config import Settings as PaymentsSettings
from mcm_payments.main import create_app as payments_app

DB = "postgresql://unused@127.0.0.1:1/unused"
APPS = {
    "auth": lambda: auth_app(AuthSettings(environment="test", creds_database_url=DB)),
    "circles": lambda: circles_app(CirclesSettings(environment="test", database_url=DB)),
    "payments": lambda: payments_app(PaymentsSettings(environment="test", database_url=DB)),
    "messaging": lambda: messaging_app(MessagingSettings(environment="test", database_url=DB)),
}


def _is_async(call) -> bool:
    target = call if inspect.isfunction(call) or inspect.ismethod(call) else type(call).__call__
    return inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)


def _sync_dependencies(dependant: Dependant, seen: set[int]) -> list[str]:
    found = []
    for sub in dependant.dependencies:
        if sub.call is not None and id(sub.call) not in seen:
            seen.add(id(sub.call))
            if not _is_async(sub.call):
                found.append(getattr(sub.call, "__qualname__", repr(sub.call)))
        found += _sync_dependencies(sub, seen)
    return found


def _routes(routes) -> list:
    """Every route with a dependant, through included routers (FastAPI keeps them nested)."""
    found = []
    for route in routes:
        if isinstance(route, APIRoute) or hasattr(route, "dependant"):
            # FastAPI exposes no dependant for an included WebSocket route (messaging's
            # /api/v1/realtime); its one dependency, get_websocket_runtime, is async.
            if route.dependant is not None:
                found.append(route)
        elif hasattr(route, "effective_candidates"):
            found += _routes(route.effective_candidates())
    return found


@pytest.mark.parametrize("service", sorted(APPS))
def test_every_dependency_of_every_route_is_async(service):
    routes = _routes(APPS[service]().routes)
    assert len(routes) > 10
    offenders = {
        f"{sorted(route.methods)[0]} {route.path}": sync
        for route in routes
        if (sync := _sync_dependencies(route.dependant, set()))
    }
    assert not offenders, offenders
