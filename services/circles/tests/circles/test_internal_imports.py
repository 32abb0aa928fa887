"""POST /internal/v1/imports/circles: auth's bulk import creates circles here, checked by the same
rules as POST /api/v1/circles, idempotent on the import key. Only auth's service token is let in."""

from __future__ import annotations

import uuid

from .support import make_user
from .test_internal_invitation_authority import service_headers

PATH = "/internal/v1/imports/circles"


def circle(**overrides) -> dict:
    return {
        "name": "Imported circle",
        "capacity_max": "8",
        "schedule": {"weekday": "monday", "time": "19:00", "timezone": "Europe/Berlin"},
        "location": {"city": "Hamburg", "online": False},
        **overrides,
    }


async def test_users_and_other_services_are_refused(api):
    admin = await make_user(api, "admin")
    body = {"created_by": str(admin.id), "circles": []}
    assert (await api.client.post(PATH, json=body)).status_code == 401
    assert (await api.post(admin, PATH, json=body)).status_code == 403
    assert (await api.client.post(PATH, json=body, headers=service_headers(api, "payments"))).status_code == 403


async def test_circles_are_created_once_per_key_and_invalid_rows_stop_everything(api):
    admin = await make_user(api, "admin")
    key, other = f"k-{uuid.uuid4().hex[:8]}", f"k-{uuid.uuid4().hex[:8]}"
    headers = service_headers(api)
    body = {"created_by": str(admin.id), "dry_run": False, "circles": [{"key": key, "circle": circle()}]}
    bad = {**body, "circles": [*body["circles"], {"key": other, "circle": circle(capacity_max=50)}]}
    refused = (await api.client.post(PATH, json=bad, headers=headers)).json()
    assert [item["outcome"] for item in refused["circles"]] == ["new", "invalid"]
    assert "capacity_max" in refused["circles"][1]["problems"][0]
    assert await api.rows("SELECT id FROM circles.circles WHERE import_key = :k", k=key) == []
    created = (await api.client.post(PATH, json=body, headers=headers)).json()["circles"]
    assert created[0]["outcome"] == "created"
    again = await api.client.post(PATH, json={**body, "refer": [key, "never-imported"]}, headers=headers)
    assert again.json()["circles"][0] == {**created[0], "outcome": "existing"}
    assert [item["key"] for item in again.json()["known"]] == [key]
    [row] = await api.rows("SELECT id, created_by, member_count FROM circles.circles WHERE import_key = :k", k=key)
    assert (str(row["id"]), row["created_by"], row["member_count"]) == (created[0]["id"], admin.id, 0)
