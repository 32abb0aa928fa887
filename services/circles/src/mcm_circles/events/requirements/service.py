"""Typed registration requirements and their evaluation.

A requirement is one of the specs below (discriminated by `kind`). Registration evaluates every
requirement of the event and, if any fails, answers 422 listing each failure with its reason —
never only the first. Facts about the person (verified contact flags, memberships, attendance)
come from the circles context through `directory.MemberDirectory`; missing facts count as
"not met" (an absent profile is unverified).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from mcm_circles.events.directory import MemberDirectory
from mcm_shared.security import Principal, Role


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VerifiedEmail(_Spec):
    kind: Literal["verified_email"]


class VerifiedPhone(_Spec):
    kind: Literal["verified_phone"]


class CircleMember(_Spec):
    kind: Literal["circle_member"]
    circle_id: UUID | None = Field(default=None, description="A given circle; null means any circle")


class MinMeetingsAttended(_Spec):
    kind: Literal["min_meetings_attended"]
    count: int = Field(ge=1, le=1000)
    circle_id: UUID | None = Field(default=None, description="Count only this circle's meetings")


class HasRole(_Spec):
    kind: Literal["has_role"]
    role: Role


class MinAge(_Spec):
    kind: Literal["min_age"]
    years: int = Field(ge=1, le=120, description="Checked against the date of birth declared when registering")


class Question(_Spec):
    id: str = Field(pattern=r"^[a-z0-9_]{1,40}$", description="Key of the answer in `answers`")
    prompt: str = Field(min_length=1, max_length=500)
    type: Literal["text", "choice"] = "text"
    choices: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(default=None, max_length=50)
    required: bool = True
    max_length: int = Field(default=2000, ge=1, le=10_000)

    @model_validator(mode="after")
    def _choices_match_type(self) -> Question:
        if self.type == "choice" and not self.choices:
            raise ValueError("a choice question needs choices")
        if self.type == "text" and self.choices is not None:
            raise ValueError("a text question has no choices")
        return self


class Questions(_Spec):
    kind: Literal["questions"]
    questions: list[Question] = Field(min_length=1, max_length=30)


RequirementSpec = Annotated[
    VerifiedEmail | VerifiedPhone | CircleMember | MinMeetingsAttended | HasRole | MinAge | Questions,
    Field(discriminator="kind"),
]
_SPEC = TypeAdapter(RequirementSpec)
MAX_REQUIREMENTS = 20


def parse_spec(kind: str, params: dict[str, Any]) -> RequirementSpec:
    return _SPEC.validate_python({**params, "kind": kind})


def spec_params(spec: RequirementSpec) -> dict[str, Any]:
    return spec.model_dump(mode="json", exclude={"kind"})


def question_ids_problem(specs: list[RequirementSpec]) -> str | None:
    """Question ids must be unique across an event's requirements (answers are keyed by them)."""
    seen: set[str] = set()
    for spec in specs:
        if isinstance(spec, Questions):
            for question in spec.questions:
                if question.id in seen:
                    return f"question id {question.id!r} is used twice"
                seen.add(question.id)
    return None


def _age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


async def evaluate(
    specs: list[RequirementSpec],
    *,
    principal: Principal,
    directory: MemberDirectory,
    answers: dict[str, Any],
    birth_date: date | None,
    event_day: date,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Check every requirement; return (failures, the answers to keep)."""
    user_id = principal.user_id
    if user_id is None:  # requirements are checked for people, never for service tokens
        raise RuntimeError("principal has no user id")
    failures: list[dict[str, Any]] = []
    kept: dict[str, Any] = {}
    profile = None
    if any(isinstance(spec, (VerifiedEmail, VerifiedPhone)) for spec in specs):
        profile = await directory.profile(user_id)

    def fail(index: int, spec: RequirementSpec, msg: str, **more: Any) -> None:
        failures.append(
            {
                "loc": ["requirements", str(index)],
                "requirement": spec.kind,
                "msg": msg,
                "type": "requirement_not_met",
                **more,
            }
        )

    known_questions: set[str] = set()
    for index, spec in enumerate(specs):
        if isinstance(spec, VerifiedEmail):
            if not (profile and profile.email_verified):
                fail(index, spec, "Your email address is not verified.")
        elif isinstance(spec, VerifiedPhone):
            if not (profile and profile.phone_verified):
                fail(index, spec, "Your phone number is not verified.")
        elif isinstance(spec, CircleMember):
            circles = await directory.member_circle_ids(user_id)
            if spec.circle_id is None and not circles:
                fail(index, spec, "You must be a member of a circle.")
            elif spec.circle_id is not None and spec.circle_id not in circles:
                fail(index, spec, "You must be a member of the required circle.", circle_id=str(spec.circle_id))
        elif isinstance(spec, MinMeetingsAttended):
            attended = await directory.meetings_attended(user_id, spec.circle_id)
            if attended < spec.count:
                fail(
                    index,
                    spec,
                    f"You have attended {attended} circle meetings; {spec.count} are required.",
                    required=spec.count,
                    actual=attended,
                )
        elif isinstance(spec, HasRole):
            if not principal.has_role(spec.role):
                fail(index, spec, f"You need the {spec.role} role.", role=spec.role)
        elif isinstance(spec, MinAge):
            if birth_date is None:
                fail(index, spec, f"Declare your date of birth (minimum age {spec.years}).", field="date_of_birth")
            elif _age_on(birth_date, event_day) < spec.years:
                fail(index, spec, f"You must be at least {spec.years} years old on the day of the event.")
        elif isinstance(spec, Questions):
            for question in spec.questions:
                known_questions.add(question.id)
                problem, value = _check_answer(question, answers.get(question.id))
                if problem:
                    fail(index, spec, problem, question_id=question.id)
                elif value is not None:
                    kept[question.id] = value
    for key in sorted(set(answers) - known_questions):
        failures.append(
            {"loc": ["body", "answers", key], "msg": "This event asks no such question.", "type": "unknown_answer"}
        )
    return failures, kept


def _check_answer(question: Question, raw: Any) -> tuple[str | None, str | None]:
    value = raw.strip() if isinstance(raw, str) else raw
    if value is None or value == "":
        return (f"Please answer: {question.prompt}" if question.required else None), None
    if not isinstance(value, str):
        return f"The answer to {question.id!r} must be text.", None
    if question.type == "choice" and value not in (question.choices or []):
        return f"The answer to {question.id!r} must be one of: {', '.join(question.choices or [])}.", None
    if len(value) > question.max_length:
        return f"The answer to {question.id!r} is longer than {question.max_length} characters.", None
    return None, value
