"""Typed requirements: registration answers 422 listing every failed requirement with its reason."""

from __future__ import annotations

from .support import World

QUESTIONS = {
    "kind": "questions",
    "questions": [
        {"id": "diet", "prompt": "Dietary needs?", "type": "choice", "choices": ["none", "vegetarian", "vegan"]},
        {"id": "why", "prompt": "Why do you come?", "type": "text"},
        {"id": "note", "prompt": "Anything else?", "required": False},
    ],
}


async def _event(world: World, *, circle_id=None):
    ptm = await world.person("ptm")
    requirements = [
        {"kind": "verified_email"},
        {"kind": "verified_phone"},
        {"kind": "circle_member", "circle_id": str(circle_id) if circle_id else None},
        {"kind": "min_meetings_attended", "count": 3},
        {"kind": "has_role", "role": "facilitator"},
        {"kind": "min_age", "years": 21},
        QUESTIONS,
    ]
    return ptm, await world.published_event(ptm, requirements=requirements)


async def test_every_failed_requirement_is_listed_with_its_reason(world: World):
    _, event = await _event(world)
    assert [r["kind"] for r in event["requirements"]][:3] == ["verified_email", "verified_phone", "circle_member"]
    person = await world.person(verified_email=True)
    response = await world.client.post(
        f"/api/v1/events/{event['id']}/registrations",
        json={"answers": {"diet": "carnivore", "bogus": "x"}, "date_of_birth": "2015-01-01"},
        headers=person.headers,
    )
    assert response.status_code == 422
    body = response.json()
    assert body["type"].endswith("/requirements-not-met")
    failed = [(e.get("requirement"), e["msg"]) for e in body["errors"]]
    kinds = [kind for kind, _ in failed]
    assert "verified_email" not in kinds
    assert kinds.count("verified_phone") == 1 and kinds.count("circle_member") == 1
    assert kinds.count("min_meetings_attended") == 1 and kinds.count("has_role") == 1 and kinds.count("min_age") == 1
    assert kinds.count("questions") == 2  # a wrong choice and a missing required answer
    reasons = " | ".join(msg for _, msg in failed)
    assert "phone number is not verified" in reasons
    assert "attended 0 circle meetings; 3 are required" in reasons
    assert "at least 21 years old" in reasons
    assert "must be one of: none, vegetarian, vegan" in reasons
    assert "Why do you come?" in reasons
    assert any(e["loc"] == ["body", "answers", "bogus"] for e in body["errors"])
    # Nothing was registered.
    await world.get(f"/api/v1/events/{event['id']}/registrations/me", person, expect=404)


async def test_a_person_meeting_every_requirement_registers_with_his_answers(world: World):
    person = await world.person("member", "facilitator", verified_email=True, verified_phone=True)
    circle = await world.circle(await world.person(), person)
    await world.attended(circle, person, 3)
    _, event = await _event(world, circle_id=circle)
    registration = await world.register(
        person, event["id"], answers={"diet": "vegan", "why": "  To grow. "}, date_of_birth="1980-05-04"
    )
    assert registration["status"] == "confirmed"
    assert registration["answers"] == {"diet": "vegan", "why": "To grow."}


async def test_a_profile_missing_entirely_counts_as_unverified(world: World):
    ptm = await world.person("ptm")
    event = await world.published_event(ptm, requirements=[{"kind": "verified_email"}])
    stranger = await world.person(profile=False)
    response = await world.client.post(f"/api/v1/events/{event['id']}/registrations", json={}, headers=stranger.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["msg"] == "Your email address is not verified."


async def test_membership_of_a_given_circle_and_attendance_there(world: World):
    ptm = await world.person("ptm")
    person = await world.person()
    home = await world.circle(await world.person(), person)
    other = await world.circle(await world.person())
    await world.attended(home, person, 2)
    event = await world.published_event(
        ptm,
        requirements=[
            {"kind": "circle_member", "circle_id": str(other)},
            {"kind": "min_meetings_attended", "count": 2, "circle_id": str(home)},
        ],
    )
    response = await world.client.post(f"/api/v1/events/{event['id']}/registrations", json={}, headers=person.headers)
    assert response.status_code == 422
    assert [e["requirement"] for e in response.json()["errors"]] == ["circle_member"]


async def test_bad_requirement_definitions_are_refused(world: World):
    ptm = await world.person("ptm")
    from .support import event_body

    bad = [
        [{"kind": "min_age"}],
        [{"kind": "has_role", "role": "king"}],
        [{"kind": "telepathy"}],
        [{"kind": "questions", "questions": [{"id": "q", "prompt": "Pick", "type": "choice"}]}],
        [QUESTIONS, QUESTIONS],  # the same question ids twice
    ]
    for requirements in bad:
        response = await world.client.post(
            "/api/v1/events", json=event_body(requirements=requirements), headers=ptm.headers
        )
        assert response.status_code == 422, requirements


async def test_templates_are_reusable_and_copied_onto_events(world: World):
    ptm = await world.person("ptm")
    member = await world.person()
    template = await world.post(
        "/api/v1/events/requirement-templates",
        ptm,
        expect=201,
        json={"name": "Retreat basics", "requirements": [{"kind": "verified_email"}, {"kind": "min_age", "years": 18}]},
    )
    duplicate = await world.client.post(
        "/api/v1/events/requirement-templates",
        headers=ptm.headers,
        json={"name": "Retreat basics", "requirements": [{"kind": "verified_email"}]},
    )
    assert duplicate.status_code == 409
    assert (
        await world.client.post(
            "/api/v1/events/requirement-templates",
            headers=member.headers,
            json={"name": "Mine", "requirements": [{"kind": "verified_email"}]},
        )
    ).status_code == 403
    listed = await world.get("/api/v1/events/requirement-templates", ptm)
    assert [t["name"] for t in listed["items"]] == ["Retreat basics"]

    event = await world.create_event(
        ptm, requirement_template_ids=[template["id"]], requirements=[{"kind": "verified_phone"}]
    )
    assert [r["kind"] for r in event["requirements"]] == ["verified_email", "min_age", "verified_phone"]
    unknown = await world.client.patch(
        f"/api/v1/events/{event['id']}",
        headers=ptm.headers,
        json={"requirement_template_ids": ["00000000-0000-0000-0000-000000000000"]},
    )
    assert unknown.status_code == 422
    cleared = await world.client.patch(f"/api/v1/events/{event['id']}", headers=ptm.headers, json={"requirements": []})
    assert cleared.json()["requirements"] == []


async def test_templates_are_for_circle_facilitators_not_for_the_token_role_alone(world: World):
    """The same rule as creating an event: facilitating a circle counts, the role claim does not."""
    body = {"name": "Adults", "requirements": [{"kind": "min_age", "years": 18}]}
    role_only = await world.person("member", "facilitator")
    await world.post("/api/v1/events/requirement-templates", role_only, expect=403, json=body)
    await world.get("/api/v1/events/requirement-templates", role_only, expect=403)
    facilitating = await world.person("member", "facilitator")
    await world.circle(facilitating)
    await world.post("/api/v1/events/requirement-templates", facilitating, expect=201, json=body)
    assert [t["name"] for t in (await world.get("/api/v1/events/requirement-templates", facilitating))["items"]] == [
        "Adults"
    ]
