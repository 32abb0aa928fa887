"""Goals: set by members for a period, marked done, completion rates for facilitators."""

from __future__ import annotations

from .support import make_circle, make_facilitator, make_member, make_user


async def test_member_sets_goals_and_marks_them_done(api):
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben)
    joe = await make_member(api, circle)
    base = f"/api/v1/circles/{circle['id']}/goals"
    created = await api.post(
        joe, base, {"title": "Call my brother", "period_start": "2030-03-01", "period_end": "2030-03-31"}
    )
    assert created.status_code == 201, created.text
    goal = created.json()
    assert goal["done"] is False and goal["done_at"] is None
    done = await api.post(joe, f"{base}/{goal['id']}/done")
    assert done.status_code == 200 and done.json()["done"] is True and done.json()["done_at"]
    reopened = await api.patch(joe, f"{base}/{goal['id']}", {"done": False, "title": "Call my brother twice"})
    assert reopened.json()["done"] is False and reopened.json()["title"] == "Call my brother twice"
    mine = (await api.get(joe, f"{base}/me?period_start=2030-03-15&period_end=2030-03-20")).json()
    assert [g["id"] for g in mine] == [goal["id"]]
    assert (await api.get(joe, f"{base}/me?period_start=2030-05-01")).json() == []


async def test_goals_are_private_to_their_owner(api):
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben)
    joe, max_ = await make_member(api, circle), await make_member(api, circle)
    base = f"/api/v1/circles/{circle['id']}/goals"
    goal = (
        await api.post(joe, base, {"title": "Run 5k", "period_start": "2030-01-01", "period_end": "2030-01-31"})
    ).json()
    assert (await api.post(max_, f"{base}/{goal['id']}/done")).status_code == 404
    assert (await api.post(ben, f"{base}/{goal['id']}/done")).status_code == 404
    assert (await api.delete(max_, f"{base}/{goal['id']}")).status_code == 404
    assert (await api.get(max_, f"{base}/me")).json() == []
    assert (await api.delete(joe, f"{base}/{goal['id']}")).status_code == 204


async def test_goal_input_is_validated_and_outsiders_cannot_set_goals(api):
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben)
    joe = await make_member(api, circle)
    base = f"/api/v1/circles/{circle['id']}/goals"
    for body in (
        {"title": "", "period_start": "2030-01-01", "period_end": "2030-01-31"},
        {"title": "x", "period_start": "2030-02-01", "period_end": "2030-01-31"},
        {"title": "x", "period_start": "2030-01-01", "period_end": "2032-01-31"},
        {"title": "x", "period_start": "2030-01-01", "period_end": "2030-01-31", "done": True},
    ):
        assert (await api.post(joe, base, body)).status_code == 422, body
    outsider = await make_user(api)
    body = {"title": "Sneak in", "period_start": "2030-01-01", "period_end": "2030-01-31"}
    assert (await api.post(outsider, base, body)).status_code == 403
    assert await api.scalar("SELECT count(*) FROM circles.goals") == 0


async def test_facilitator_sees_completion_rates_not_goal_texts(api):
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben)
    joe, max_ = await make_member(api, circle, name="Joe"), await make_member(api, circle, name="Max")
    base = f"/api/v1/circles/{circle['id']}/goals"
    march = {"period_start": "2030-03-01", "period_end": "2030-03-31"}
    goals = [(await api.post(joe, base, {"title": f"Goal {i}", **march})).json() for i in range(4)]
    await api.post(max_, base, {"title": "Max goal", **march})
    await api.post(max_, base, {"title": "Later goal", "period_start": "2030-06-01", "period_end": "2030-06-30"})
    for goal in goals[:3]:
        await api.post(joe, f"{base}/{goal['id']}/done")
    summary = await api.get(ben, f"{base}/summary?period_start=2030-03-01&period_end=2030-03-31")
    assert summary.status_code == 200
    body = summary.json()
    assert (body["total"], body["done"], body["rate"]) == (5, 3, 0.6)
    assert [(m["display_name"], m["total"], m["done"], m["rate"]) for m in body["members"]] == [
        ("Joe", 4, 3, 0.75),
        ("Max", 1, 0, 0.0),
    ]
    assert "Goal 0" not in summary.text
    assert (await api.get(joe, f"{base}/summary")).status_code == 403
    assert (await api.get(await make_user(api, "leadership"), f"{base}/summary")).json()["total"] == 6
