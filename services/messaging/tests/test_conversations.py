"""Who may talk to whom: direct conversations, circle and event threads, announcements (every
permission rule, 403 against 404), driven through HTTP with the read model fed over the bus."""

from __future__ import annotations

import uuid

CONVERSATIONS = "/api/v1/conversations"


def messages_of(conversation_id: str) -> str:
    return f"{CONVERSATIONS}/{conversation_id}/messages"


async def circle_with(harness, *, members: int = 1):
    circle = uuid.uuid4()
    facilitator = await harness.user("member", "facilitator")
    await harness.join(circle, facilitator, "facilitator")
    people = []
    for _ in range(members):
        member = await harness.user()
        membership = await harness.join(circle, member)
        people.append((member, membership))
    return circle, facilitator, people


# -- direct ------------------------------------------------------------------------------------
async def test_a_member_and_his_facilitator_talk_directly_in_one_conversation(harness):
    _circle, facilitator, [(member, _)] = await circle_with(harness)
    started = await harness.post(CONVERSATIONS, member, {"kind": "direct", "user_id": str(facilitator)})
    assert started.status_code == 201, started.text
    conversation = started.json()
    assert conversation["kind"] == "direct" and conversation["can_write"] is True
    assert set(conversation["participants"]) == {str(member), str(facilitator)}
    # The other side starting it again finds the same conversation.
    again = await harness.post(CONVERSATIONS, facilitator, {"kind": "direct", "user_id": str(member)}, "facilitator")
    assert again.status_code == 200 and again.json()["id"] == conversation["id"]
    sent = await harness.post(messages_of(conversation["id"]), facilitator, {"body": "Welcome"}, "facilitator")
    assert sent.status_code == 201, sent.text
    listed = (await harness.get(messages_of(conversation["id"]), member)).json()["items"]
    assert [m["body"] for m in listed] == ["Welcome"]


async def test_members_of_one_circle_cannot_start_direct_conversations_with_each_other(harness):
    _circle, _, [(one, _), (other, _)] = await circle_with(harness, members=2)
    refused = await harness.post(CONVERSATIONS, one, {"kind": "direct", "user_id": str(other)})
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("direct-not-allowed")


async def test_a_facilitator_of_another_circle_is_not_his_facilitator(harness):
    _, facilitator, _ = await circle_with(harness)
    _, _, [(member, _)] = await circle_with(harness)
    refused = await harness.post(CONVERSATIONS, member, {"kind": "direct", "user_id": str(facilitator)})
    assert refused.status_code == 403


async def test_staff_talk_with_anyone_and_anyone_with_staff(harness):
    support = await harness.user("member", "support")
    stranger = await harness.user()
    started = await harness.post(CONVERSATIONS, support, {"kind": "direct", "user_id": str(stranger)}, "support")
    assert started.status_code == 201
    other = await harness.user()
    assert (await harness.post(CONVERSATIONS, other, {"kind": "direct", "user_id": str(support)})).status_code == 201


async def test_unknown_disabled_and_self_targets_are_refused(harness):
    support = await harness.user("support")
    unknown = await harness.post(CONVERSATIONS, support, {"kind": "direct", "user_id": str(uuid.uuid4())}, "support")
    assert unknown.status_code == 404
    disabled = await harness.user(active=False)
    gone = await harness.post(CONVERSATIONS, support, {"kind": "direct", "user_id": str(disabled)}, "support")
    assert gone.status_code == 404
    myself = await harness.post(CONVERSATIONS, support, {"kind": "direct", "user_id": str(support)}, "support")
    assert myself.status_code == 422


async def test_outsiders_see_a_direct_conversation_as_missing(harness):
    support = await harness.user("support")
    member = await harness.user()
    conversation = (
        await harness.post(CONVERSATIONS, support, {"kind": "direct", "user_id": str(member)}, "support")
    ).json()
    outsider = await harness.user()
    for path in (f"{CONVERSATIONS}/{conversation['id']}", messages_of(conversation["id"])):
        assert (await harness.get(path, outsider)).status_code == 404
    assert (await harness.post(messages_of(conversation["id"]), outsider, {"body": "hi"})).status_code == 404
    # Even an admin does not read other people's direct conversations.
    assert (await harness.get(messages_of(conversation["id"]), outsider, "admin")).status_code == 404


# -- circle and event threads ------------------------------------------------------------------
async def test_every_circle_has_one_thread_for_its_members_and_facilitators(harness):
    circle, facilitator, [(member, _)] = await circle_with(harness)
    first = await harness.get(CONVERSATIONS, member, circle_id=str(circle))
    assert first.status_code == 200, first.text
    [thread] = first.json()["items"]
    assert thread["kind"] == "circle" and thread["circle_id"] == str(circle)
    same = (await harness.get(CONVERSATIONS, facilitator, "facilitator", circle_id=str(circle))).json()["items"]
    assert same[0]["id"] == thread["id"]
    assert (await harness.post(messages_of(thread["id"]), member, {"body": "Hello circle"})).status_code == 201
    outsider = await harness.user()
    assert (await harness.get(CONVERSATIONS, outsider, circle_id=str(circle))).status_code == 404
    assert (await harness.get(messages_of(thread["id"]), outsider)).status_code == 404
    assert (await harness.get(messages_of(thread["id"]), outsider, "admin")).status_code == 404


async def test_leaving_a_circle_ends_access_to_its_thread(harness):
    circle, _, [(member, membership)] = await circle_with(harness)
    [thread] = (await harness.get(CONVERSATIONS, member, circle_id=str(circle))).json()["items"]
    assert (await harness.post(messages_of(thread["id"]), member, {"body": "bye soon"})).status_code == 201
    await harness.leave(circle, member, membership)
    assert (await harness.get(messages_of(thread["id"]), member)).status_code == 404
    assert (await harness.post(messages_of(thread["id"]), member, {"body": "still here?"})).status_code == 404
    assert (await harness.get(CONVERSATIONS, member, circle_id=str(circle))).status_code == 404
    assert thread["id"] not in [c["id"] for c in (await harness.get(CONVERSATIONS, member)).json()["items"]]


async def test_an_end_that_arrives_before_its_start_is_not_undone(harness):
    circle, member, membership = uuid.uuid4(), await harness.user(), uuid.uuid4()
    payload = {"membership_id": membership, "circle_id": circle, "user_id": member}
    ended = await harness.publish("circles", "membership.ended", {**payload, "reason": "left"})
    started = await harness.publish("circles", "membership.started", {**payload, "role": "member"})
    await harness.applied(ended, started)
    assert (await harness.get(CONVERSATIONS, member, circle_id=str(circle))).status_code == 404


async def test_an_event_thread_is_for_registrants_and_staff(harness):
    event = uuid.uuid4()
    registrant = await harness.user()
    registration = await harness.register(event, registrant)
    [thread] = (await harness.get(CONVERSATIONS, registrant, event_id=str(event))).json()["items"]
    assert thread["kind"] == "event"
    ptm = await harness.user("ptm")
    assert (await harness.post(messages_of(thread["id"]), ptm, {"body": "Bring a blanket"}, "ptm")).status_code == 201
    outsider = await harness.user()
    assert (await harness.get(CONVERSATIONS, outsider, event_id=str(event))).status_code == 404
    cancelled = await harness.publish(
        "circles", "registration.cancelled", {"registration_id": registration, "event_id": event, "user_id": registrant}
    )
    await harness.applied(cancelled)
    assert (await harness.get(messages_of(thread["id"]), registrant)).status_code == 404


async def test_circle_and_event_filters_are_exclusive(harness):
    response = await harness.get(CONVERSATIONS, uuid.uuid4(), circle_id=str(uuid.uuid4()), event_id=str(uuid.uuid4()))
    assert response.status_code == 422


# -- announcements -----------------------------------------------------------------------------
async def test_leadership_announces_to_everyone_and_recipients_cannot_answer(harness):
    leader = await harness.user("leadership")
    made = await harness.post(
        CONVERSATIONS,
        leader,
        {"kind": "announcement", "audience": {"scope": "everyone"}, "title": "News"},
        "leadership",
    )
    assert made.status_code == 201, made.text
    announcement = made.json()
    assert announcement["audience"] == {"scope": "everyone"}
    assert (
        await harness.post(messages_of(announcement["id"]), leader, {"body": "Retreat in May"}, "leadership")
    ).status_code == 201
    member = await harness.user()
    listed = (await harness.get(CONVERSATIONS, member)).json()["items"]
    assert [c["id"] for c in listed] == [announcement["id"]] and listed[0]["can_write"] is False
    assert listed[0]["unread_count"] == 1 and listed[0]["last_message"]["body"] == "Retreat in May"
    answer = await harness.post(messages_of(announcement["id"]), member, {"body": "Great"})
    assert answer.status_code == 403 and answer.json()["type"].endswith("read-only-conversation")


async def test_who_may_announce_to_which_audience(harness):
    circle, facilitator, [(member, _)] = await circle_with(harness)
    event = uuid.uuid4()

    async def announce(user, audience, *roles):
        return (
            await harness.post(CONVERSATIONS, user, {"kind": "announcement", "audience": audience}, *roles)
        ).status_code

    assert await announce(member, {"scope": "everyone"}) == 403
    assert await announce(facilitator, {"scope": "everyone"}, "facilitator") == 403
    assert await announce(facilitator, {"scope": "role", "role": "member"}, "facilitator") == 403
    assert await announce(facilitator, {"scope": "circle", "circle_id": str(circle)}, "facilitator") == 201
    assert await announce(facilitator, {"scope": "circle", "circle_id": str(uuid.uuid4())}, "facilitator") == 403
    assert await announce(member, {"scope": "circle", "circle_id": str(circle)}) == 403
    ptm = await harness.user("ptm")
    assert await announce(ptm, {"scope": "event", "event_id": str(event)}, "ptm") == 201
    assert await announce(ptm, {"scope": "everyone"}, "ptm") == 403
    assert await announce(facilitator, {"scope": "event", "event_id": str(event)}, "facilitator") == 403
    admin = await harness.user("admin")
    assert await announce(admin, {"scope": "role", "role": "facilitator"}, "admin") == 201
    assert await announce(admin, {"scope": "role", "role": "emperor"}, "admin") == 422


async def test_an_announcement_reaches_only_its_audience(harness):
    circle, facilitator, [(member, _)] = await circle_with(harness)
    made = await harness.post(
        CONVERSATIONS,
        facilitator,
        {"kind": "announcement", "audience": {"scope": "circle", "circle_id": str(circle)}},
        "facilitator",
    )
    announcement = made.json()
    assert (await harness.get(f"{CONVERSATIONS}/{announcement['id']}", member)).json()["can_write"] is False
    outsider = await harness.user()
    assert (await harness.get(f"{CONVERSATIONS}/{announcement['id']}", outsider)).status_code == 404
    admin = await harness.user("admin")
    to_facilitators = (
        await harness.post(
            CONVERSATIONS,
            admin,
            {"kind": "announcement", "audience": {"scope": "role", "role": "facilitator"}},
            "admin",
        )
    ).json()
    assert (await harness.get(f"{CONVERSATIONS}/{to_facilitators['id']}", member)).status_code == 404
    assert (
        await harness.get(f"{CONVERSATIONS}/{to_facilitators['id']}", facilitator, "facilitator")
    ).status_code == 200
