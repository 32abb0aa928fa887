"""The answer of an import (dry run or real)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ImportProblem(BaseModel):
    line: int = Field(description="Line of the file (the header is line 1)")
    message: str


class CircleCounts(BaseModel):
    created: int = Field(description="Created by this run (a dry run: would be created)")
    existing: int = Field(description="Already imported earlier, matched by key (never updated)")


class InvitationCounts(BaseModel):
    sent: int = Field(description="Invitations sent by this run (a dry run: would be sent)")
    already_open: int = Field(description="An invitation for this address and circle is still open: not sent again")
    already_accepted: int = Field(description="An invitation for this address and circle was accepted: not sent again")


class ImportReport(BaseModel):
    dry_run: bool
    circles: CircleCounts
    invitations: InvitationCounts
    problems: list[ImportProblem]
