"""Support and admin list one member's obligations (`GET /api/v1/payments/obligations?user_id=`);
members see only their own, whatever they ask; nobody else sees anyone's."""

from __future__ import annotations

import uuid

LIST = "/api/v1/payments/obligations"


async def test_staff_list_a_members_obligations_and_nobody_else_does(harness):
    joe, ann = uuid.uuid4(), uuid.uuid4()
    dues = await harness.dues(joe, amount=2500)
    fee = await harness.registration(joe, amount=9000)
    await harness.dues(ann)

    for role in ("support", "admin"):
        response = await harness.http.get(LIST, params={"user_id": str(joe)}, headers=harness.headers(None, role))
        assert response.status_code == 200, response.text
        assert {o["id"] for o in response.json()["items"]} == {dues["id"], fee["id"]}
        assert {o["user_id"] for o in response.json()["items"]} == {str(joe)}
    paged = await harness.http.get(
        LIST, params={"user_id": str(joe), "limit": 1}, headers=harness.headers(None, "support")
    )
    rest = await harness.http.get(
        LIST,
        params={"user_id": str(joe), "limit": 1, "cursor": paged.json()["next_cursor"]},
        headers=harness.headers(None, "support"),
    )
    assert {paged.json()["items"][0]["id"], rest.json()["items"][0]["id"]} == {dues["id"], fee["id"]}

    # A member asking for someone else's is refused; for his own it is his list.
    assert (await harness.http.get(LIST, params={"user_id": str(joe)}, headers=harness.headers(ann))).status_code == 403
    own = await harness.http.get(LIST, params={"user_id": str(joe)}, headers=harness.headers(joe))
    assert own.status_code == 200 and len(own.json()["items"]) == 2
    for role in ("facilitator", "ptm", "leadership"):
        refused = await harness.http.get(LIST, params={"user_id": str(joe)}, headers=harness.headers(None, role))
        assert refused.status_code == 403, role
    # Without user_id, staff get their own (none), as before.
    assert (await harness.http.get(LIST, headers=harness.headers(None, "support"))).json()["items"] == []
