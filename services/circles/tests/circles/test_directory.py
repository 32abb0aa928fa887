"""The staff directory: who may search, what it shows, who it never shows, and its index."""

from __future__ import annotations

from sqlalchemy import text

from .support import make_circle, make_facilitator, make_member, make_user

DIRECTORY = "/api/v1/directory"


async def test_members_may_not_search_the_directory(api):
    joe = await make_user(api)
    response = await api.get(joe, DIRECTORY, params={"q": "a"})
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_without_a_token_the_directory_is_401(api):
    assert (await api.client.get(DIRECTORY)).status_code == 401


async def test_facilitator_by_membership_ptm_support_leadership_admin_may_search(api):
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben)
    # A co-facilitator without the token role: his facilitation of a circle is what counts.
    co = await make_user(api, name="Co Facilitator")
    added = await api.post(
        ben, f"/api/v1/circles/{circle['id']}/members", {"user_id": str(co.id), "role": "facilitator"}
    )
    assert added.status_code == 201
    searchers = [ben, co] + [await make_user(api, role) for role in ("ptm", "support", "leadership", "admin")]
    for searcher in searchers:
        response = await api.get(searcher, DIRECTORY)
        assert response.status_code == 200, (searcher.roles, response.text)


async def test_search_is_case_insensitive_on_any_part_of_the_name(api):
    ptm = await make_user(api, "ptm")
    await make_user(api, name="Johnny Miller")
    await make_user(api, name="Marc Johnson")
    await make_user(api, name="Peter Pan")
    expected = {
        "JOHN": {"Johnny Miller", "Marc Johnson"},
        "john": {"Johnny Miller", "Marc Johnson"},
        "nny": {"Johnny Miller"},
        "mIlLeR": {"Johnny Miller"},
        "pe": {"Peter Pan"},
        # One or two characters (no trigram) match the start of the name only.
        "jo": {"Johnny Miller"},
        "MI": set(),
    }
    for q, names in expected.items():
        found = {item["display_name"] for item in (await api.get(ptm, DIRECTORY, params={"q": q})).json()["items"]}
        assert found == names, q


async def test_wildcards_in_the_query_are_taken_literally(api):
    ptm = await make_user(api, "ptm")
    await make_user(api, name="Percent 100% Guy")
    await make_user(api, name="Plain Person")
    names = [item["display_name"] for item in (await api.get(ptm, DIRECTORY, params={"q": "0%"})).json()["items"]]
    assert names == []  # two characters match the start of the name only
    names = [item["display_name"] for item in (await api.get(ptm, DIRECTORY, params={"q": "100%"})).json()["items"]]
    assert names == ["Percent 100% Guy"]
    assert (await api.get(ptm, DIRECTORY, params={"q": "_"})).json()["items"] == []


async def test_items_carry_public_fields_and_active_circles_only(api):
    ben = await make_facilitator(api, name="Ben Facil")
    first = await make_circle(api, ben, name="Alpha Circle")
    second = await make_circle(api, ben, name="Beta Circle")
    joe = await make_member(api, first, name="Joe Directory")
    assert (await api.post(joe, f"/api/v1/circles/{second['id']}/join")).status_code == 201
    left = await api.delete(joe, f"/api/v1/circles/{second['id']}/members/{joe.id}")
    assert left.status_code in (200, 204), left.text
    response = await api.get(ben, DIRECTORY, params={"q": "Joe Directory"})
    assert response.status_code == 200
    (item,) = response.json()["items"]
    assert set(item) == {"user_id", "display_name", "circles"}
    assert item == {
        "user_id": str(joe.id),
        "display_name": "Joe Directory",
        "circles": [{"id": first["id"], "name": "Alpha Circle"}],
    }
    assert "email" not in response.text and "phone" not in response.text and "verified" not in response.text


async def test_hidden_members_never_appear_even_to_admins(api):
    admin = await make_user(api, "admin")
    ptm = await make_user(api, "ptm")
    joe = await make_user(api, name="Hidden Harry")
    await make_user(api, name="Shown Harry")
    hidden = await api.patch(joe, "/api/v1/members/me", {"directory_visible": False})
    assert hidden.status_code == 200 and hidden.json()["directory_visible"] is False
    for viewer in (admin, ptm):
        names = [i["display_name"] for i in (await api.get(viewer, DIRECTORY, params={"q": "harry"})).json()["items"]]
        assert names == ["Shown Harry"]
        assert all(i["user_id"] != str(joe.id) for i in (await api.get(viewer, DIRECTORY)).json()["items"])
    shown = await api.patch(joe, "/api/v1/members/me", {"directory_visible": True})
    assert shown.json()["directory_visible"] is True
    names = {i["display_name"] for i in (await api.get(admin, DIRECTORY, params={"q": "harry"})).json()["items"]}
    assert names == {"Hidden Harry", "Shown Harry"}


async def test_profile_update_refuses_unknown_fields(api):
    joe = await make_user(api)
    response = await api.patch(joe, "/api/v1/members/me", {"display_name": "Someone Else"})
    assert response.status_code == 422
    assert (await api.get(joe, "/api/v1/members/me")).json()["directory_visible"] is True


async def test_erased_members_never_appear(api):
    ptm = await make_user(api, "ptm")
    gone = await make_user(api, name="Erased Eric")
    async with api.db.session() as session:
        await session.execute(
            text("UPDATE circles.profiles SET erased_at = now() WHERE user_id = :id"), {"id": gone.id}
        )
        await session.commit()
    assert (await api.get(ptm, DIRECTORY, params={"q": "eric"})).json()["items"] == []


async def test_a_facilitator_sees_private_circles_only_where_he_belongs_staff_see_all(api):
    ben = await make_facilitator(api)
    other = await make_facilitator(api)
    secret = await make_circle(api, other, name="Secret Circle", visibility="private")
    joe = await make_user(api, name="Private Pete")
    added = await api.post(other, f"/api/v1/circles/{secret['id']}/members", {"user_id": str(joe.id)})
    assert added.status_code == 201, added.text
    await make_circle(api, ben)  # ben facilitates a circle, not the secret one
    (seen_by_ben,) = (await api.get(ben, DIRECTORY, params={"q": "private pete"})).json()["items"]
    assert seen_by_ben["circles"] == []
    support = await make_user(api, "support")
    (seen_by_support,) = (await api.get(support, DIRECTORY, params={"q": "private pete"})).json()["items"]
    assert seen_by_support["circles"] == [{"id": secret["id"], "name": "Secret Circle"}]


async def test_pages_follow_the_name_order_without_gaps_or_repeats(api):
    ptm = await make_user(api, "ptm")
    names = [f"Pager {letter}{n}" for letter in "CaBd" for n in range(3)]
    for name in names:
        await make_user(api, name=name)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"q": "pager", "limit": 5, **({"cursor": cursor} if cursor else {})}
        body = (await api.get(ptm, DIRECTORY, params=params)).json()
        seen += [item["display_name"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(names, key=str.lower)
    bad = await api.get(ptm, DIRECTORY, params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422


async def test_short_searches_use_the_prefix_index(api):
    async with api.db.session() as session:
        await session.execute(
            text(
                "INSERT INTO circles.profiles (user_id, display_name)"
                " SELECT gen_random_uuid(), 'Person ' || md5(n::text) FROM generate_series(1, 3000) AS n"
            )
        )
        await session.execute(text("ANALYZE circles.profiles"))
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(
            row[0]
            for row in await session.execute(
                text(
                    "EXPLAIN SELECT user_id FROM circles.profiles WHERE directory_visible AND erased_at IS NULL"
                    " AND lower(display_name) LIKE 'jo%'"
                )
            )
        )
    assert "ix_profiles_directory_name_prefix" in plan, plan


async def test_the_name_search_uses_the_trigram_index(api):
    async with api.db.session() as session:
        await session.execute(
            text(
                "INSERT INTO circles.profiles (user_id, display_name)"
                " SELECT gen_random_uuid(), 'Person ' || md5(n::text) FROM generate_series(1, 3000) AS n"
            )
        )
        await session.execute(text("ANALYZE circles.profiles"))
        # At this size a sequential scan may be as cheap; what matters is that the index can serve the search.
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(
            row[0]
            for row in await session.execute(
                text(
                    "EXPLAIN SELECT user_id FROM circles.profiles WHERE directory_visible AND erased_at IS NULL"
                    " AND lower(display_name) LIKE '%john%'"
                )
            )
        )
    assert "ix_profiles_directory_name_trgm" in plan, plan
