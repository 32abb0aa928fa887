"""GET /api/v1/circles: filters, sorts, keyset pages, private circles, constant statement count."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from .support import circle_body, count_statements, make_circle, make_facilitator, make_member, make_user


async def names(api, user, query: str = "") -> list[str]:
    response = await api.get(user, f"/api/v1/circles{query}")
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["items"]]


async def test_filters_narrow_the_list(api):
    ben = await make_facilitator(api)
    tom = await make_facilitator(api)
    await make_circle(
        api,
        ben,
        name="Berlin Tuesdays",
        description="honest talk",
        schedule={"weekday": "tuesday", "time": "19:00", "timezone": "Europe/Berlin", "frequency": "weekly"},
    )
    await make_circle(
        api,
        tom,
        name="Online Fathers",
        description="Dads sharing the load",
        location={"online": True},
        schedule={"weekday": "thursday", "time": "20:00", "timezone": "America/New_York", "frequency": "biweekly"},
    )
    small = await make_circle(
        api, tom, name="Hamburg Small", description="", capacity_max=2, location={"city": "Hamburg", "online": False}
    )
    await make_member(api, small)
    await make_member(api, small)
    viewer = await make_user(api)

    assert await names(api, viewer) == ["Berlin Tuesdays", "Hamburg Small", "Online Fathers"]
    assert await names(api, viewer, "?q=dads") == ["Online Fathers"]
    assert await names(api, viewer, "?q=HONEST") == ["Berlin Tuesdays"]
    assert await names(api, viewer, "?q=100%25") == []
    assert await names(api, viewer, "?city=berlin") == ["Berlin Tuesdays"]
    assert await names(api, viewer, "?online=true") == ["Online Fathers"]
    assert await names(api, viewer, "?online=false") == ["Berlin Tuesdays", "Hamburg Small"]
    assert await names(api, viewer, "?weekday=thursday") == ["Online Fathers"]
    assert await names(api, viewer, "?has_open_seats=true") == ["Berlin Tuesdays", "Online Fathers"]
    assert await names(api, viewer, "?has_open_seats=false") == ["Hamburg Small"]
    assert await names(api, viewer, f"?facilitator={tom.id}") == ["Hamburg Small", "Online Fathers"]
    assert await names(api, viewer, "?status=full") == ["Hamburg Small"]
    assert await names(api, viewer, "?status=forming") == ["Berlin Tuesdays", "Online Fathers"]
    assert await names(api, viewer, "?status=forming&online=true&weekday=thursday") == ["Online Fathers"]


async def test_archived_circles_are_listed_only_when_asked_for(api):
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben, name="Old one")
    await make_circle(api, ben, name="New one")
    assert (await api.delete(ben, f"/api/v1/circles/{circle['id']}")).status_code == 204
    assert await names(api, ben) == ["New one"]
    assert await names(api, ben, "?status=archived") == ["Old one"]


async def test_unknown_or_invalid_parameters_are_422(api):
    viewer = await make_user(api)
    for query in (
        "?sort=member_count",
        "?limit=0",
        "?limit=101",
        "?weekday=funday",
        "?status=deleted",
        "?facilitator=nobody",
        "?colour=blue",
        "?cursor=%%%",
        "?cursor=eyJ4IjoxfQ",
    ):
        response = await api.get(viewer, f"/api/v1/circles{query}")
        assert response.status_code == 422, (query, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_keyset_pages_cover_every_circle_once_in_each_sort(api):
    ben = await make_facilitator(api)
    created = []
    for index in range(7):
        circle = await make_circle(api, ben, name=f"Circle {index % 3}", capacity_max=2 + index % 4)
        created.append(circle["id"])
    viewer = await make_user(api)
    for sort in ("name", "-name", "created_at", "-created_at", "open_seats", "-open_seats"):
        seen, cursor = [], None
        while True:
            query = f"?sort={sort}&limit=3" + (f"&cursor={cursor}" if cursor else "")
            body = (await api.get(viewer, f"/api/v1/circles{query}")).json()
            seen.extend(body["items"])
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert sorted(item["id"] for item in seen) == sorted(created), sort
        field = sort.lstrip("-")
        keys = [(item[field], item["id"]) for item in seen]
        assert keys == sorted(keys, reverse=sort.startswith("-")), sort
    first = (await api.get(viewer, "/api/v1/circles?sort=name&limit=3")).json()
    foreign = await api.get(viewer, f"/api/v1/circles?sort=open_seats&cursor={first['next_cursor']}")
    assert foreign.status_code == 422


async def test_private_circles_are_absent_from_lists_except_for_members_and_staff(api):
    ben = await make_facilitator(api)
    await make_circle(api, ben, name="Public")
    private = await make_circle(api, ben, name="Private", visibility="private")
    outsider = await make_user(api)
    assert await names(api, outsider) == ["Public"]
    assert await names(api, outsider, "?q=private") == []
    assert await names(api, ben) == ["Private", "Public"]
    support = await make_user(api, "member", "support")
    assert await names(api, support) == ["Private", "Public"]
    member = await make_user(api)
    await api.post(ben, f"/api/v1/circles/{private['id']}/members", {"user_id": str(member.id)})
    assert await names(api, member) == ["Private", "Public"]


async def test_list_uses_a_constant_number_of_statements_whatever_the_page_size(api):
    facilitators = [await make_facilitator(api) for _ in range(5)]
    for index in range(55):
        circle = await make_circle(api, facilitators[index % 5], name=f"Circle {index:02d}")
        if index % 3 == 0:
            co = await make_user(api)
            await api.post(
                facilitators[index % 5],
                f"/api/v1/circles/{circle['id']}/members",
                {"user_id": str(co.id), "role": "facilitator"},
            )
    viewer = await make_user(api)
    await api.get(viewer, "/api/v1/circles?limit=2")  # the listing cache now knows his private circles (none)
    counts = {}
    for limit in (1, 50):
        with count_statements(api) as statements:
            response = await api.get(viewer, f"/api/v1/circles?limit={limit}")
        assert response.status_code == 200
        assert len(response.json()["items"]) == limit
        assert all(item["facilitators"] for item in response.json()["items"])
        counts[limit] = len(statements)
    assert counts[1] == counts[50] == 2, counts


async def test_every_list_filter_has_an_index(api):
    indexes = {
        row["indexname"] for row in await api.rows("SELECT indexname FROM pg_indexes WHERE schemaname = 'circles'")
    }
    assert {
        "ix_circles_search_trgm",
        "ix_circles_city",
        "ix_circles_online",
        "ix_circles_weekday",
        "ix_circles_open_seats_id",
        "ix_circles_status",
        "ix_memberships_facilitating",
        "ix_circles_name_id",
        "ix_circles_created_at_id",
        "uq_memberships_current",
    } <= indexes
    async with api.db.session() as session:
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(
            row[0]
            for row in await session.execute(
                text("EXPLAIN SELECT id FROM circles.circles WHERE search_text LIKE '%talk%'")
            )
        )
    assert "ix_circles_search_trgm" in plan, plan


async def test_circle_out_has_derived_status_and_seats(api):
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben, capacity_max=3, capacity_min=2)
    path = f"/api/v1/circles/{circle['id']}"
    await make_member(api, circle)
    body = (await api.get(ben, path)).json()
    assert (body["status"], body["member_count"], body["open_seats"]) == ("forming", 1, 2)
    await make_member(api, circle)
    body = (await api.get(ben, path)).json()
    assert (body["status"], body["member_count"], body["open_seats"]) == ("active", 2, 1)
    await make_member(api, circle)
    body = (await api.get(ben, path)).json()
    assert (body["status"], body["member_count"], body["open_seats"]) == ("full", 3, 0)
    assert uuid.UUID(body["id"])
    assert circle_body()["name"] != body["name"]
