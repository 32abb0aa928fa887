"""Pydantic schemas for circles."""
from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel


class Circle(BaseModel):
    id: UUID
    name: str
    description: str
    status: str
