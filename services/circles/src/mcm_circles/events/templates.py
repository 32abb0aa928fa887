"""Reusable requirement templates: named lists of requirements an event copies when it is
created or edited (later edits of a template never change existing events).

Managed by whoever may create events — ptm, admin, and whoever facilitates a circle (an active
facilitator membership, as for creating an event; the `facilitator` token role alone is not
enough) — and readable by the same people.
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.actors import actor_id
from mcm_circles.events.access import MANAGE_ALL
from mcm_circles.events.directory import MemberDirectory
from mcm_circles.events.errors import DuplicateTemplateName, NotEventManager, TemplateNotFound, field_error
from mcm_circles.events.models import RequirementTemplate
from mcm_circles.events.repository import EventRepository
from mcm_circles.events.requirements.service import RequirementSpec, parse_spec
from mcm_circles.events.schemas import RequirementTemplateCreate
from mcm_shared.security import Principal


async def _ensure_event_creator(session: AsyncSession, principal: Principal) -> None:
    user_id = actor_id(principal)
    if principal.has_role(*MANAGE_ALL):
        return
    _member_of, facilitating = await MemberDirectory(session).circle_roles(user_id)
    if not facilitating:
        raise NotEventManager("Only ptm, admin and circle facilitators use requirement templates.")


def stored_specs(template: RequirementTemplate) -> list[RequirementSpec]:
    return [parse_spec(item["kind"], {k: v for k, v in item.items() if k != "kind"}) for item in template.requirements]


async def expand_templates(session: AsyncSession, template_ids: list[UUID]) -> list[RequirementSpec]:
    ordered = list(dict.fromkeys(template_ids))
    found = await EventRepository(session).templates(ordered)
    missing = [str(template_id) for template_id in ordered if template_id not in found]
    if missing:
        raise field_error(["body", "requirement_template_ids"], f"unknown templates: {', '.join(missing)}")
    return [spec for template_id in ordered for spec in stored_specs(found[template_id])]


async def create_template(
    session: AsyncSession, principal: Principal, *, data: RequirementTemplateCreate
) -> RequirementTemplate:
    await _ensure_event_creator(session, principal)
    template = RequirementTemplate(
        name=data.name,
        description=data.description,
        requirements=[spec.model_dump(mode="json") for spec in data.requirements],
        created_by=principal.user_id,
    )
    session.add(template)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise DuplicateTemplateName(f"A requirement template named {data.name!r} already exists.") from None
    return template


async def get_template(session: AsyncSession, principal: Principal, template_id: UUID) -> RequirementTemplate:
    await _ensure_event_creator(session, principal)
    template = await EventRepository(session).template(template_id)
    if template is None:
        raise TemplateNotFound()
    return template


async def list_templates(
    session: AsyncSession, principal: Principal, *, limit: int, after: tuple[str, UUID] | None
) -> list[RequirementTemplate]:
    await _ensure_event_creator(session, principal)
    return await EventRepository(session).template_page(limit=limit, after=after)
