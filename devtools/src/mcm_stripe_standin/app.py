"""The stand-in's Starlette application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette

from mcm_stripe_standin import api, control, pages
from mcm_stripe_standin.config import StandInConfig
from mcm_stripe_standin.core import StandIn


def create_standin_app(config: StandInConfig | None = None) -> Starlette:
    standin = StandIn(config or StandInConfig.from_env())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        standin.sender.start()
        try:
            yield
        finally:
            standin.cancel_timers()
            await standin.sender.stop()

    app = Starlette(routes=[*api.routes(), *pages.routes(), *control.routes()], lifespan=lifespan)
    app.state.standin = standin
    return app
