from __future__ import annotations

from pydantic import BaseModel, Field


class PortalSession(BaseModel):
    url: str = Field(description="Stripe's billing portal page for the caller; short-lived, send the browser there")
