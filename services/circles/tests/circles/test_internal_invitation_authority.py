"""GET /internal/v1/circles/{id}/invitation-authority/{user_id}: auth asks it before sending a
circle invitation. Only auth's service token is let in."""

from __future__ import annotations

import time
import uuid

import jwt

from .support import make_circle, make_facilitator, make_member, make_user


def service_headers(api, name: str = "auth") -> dict[str, str]:
    now = int(time.time())
    claims = {
        "iss": api.issuer.issuer,
        "aud": "internal",
        "sub": f"svc:{name}",
        "iat": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
        "roles": [],
        "typ": "access",
    }
    token = jwt.encode(claims, api.issuer.key, algorithm="ES256", headers={"kid": api.issuer.kid})
    return {"Authorization": f"Bearer {token}"}


def path(circle_id, user_id) -> str:
    return f"/internal/v1/circles/{circle_id}/invitation-authority/{user_id}"


async def test_auth_learns_who_facilitates_an_open_circle(api):
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben)
    joe = await make_member(api, circle)
    headers = service_headers(api)
    answers = {
        "facilitator": await api.client.get(path(circle["id"], ben.id), headers=headers),
        "member": await api.client.get(path(circle["id"], joe.id), headers=headers),
        "unknown circle": await api.client.get(path(uuid.uuid4(), ben.id), headers=headers),
    }
    assert {k: (r.status_code, r.json()) for k, r in answers.items()} == {
        "facilitator": (200, {"circle_open": True, "facilitator": True}),
        "member": (200, {"circle_open": True, "facilitator": False}),
        "unknown circle": (200, {"circle_open": False, "facilitator": False}),
    }
    assert (await api.delete(ben, f"/api/v1/circles/{circle['id']}")).status_code == 204
    archived = await api.client.get(path(circle["id"], ben.id), headers=headers)
    assert archived.json() == {"circle_open": False, "facilitator": False}


async def test_users_and_other_services_are_refused(api):
    admin = await make_user(api, "admin")
    circle_path = path(uuid.uuid4(), admin.id)
    assert (await api.client.get(circle_path)).status_code == 401
    assert (await api.get(admin, circle_path)).status_code == 403
    assert (await api.client.get(circle_path, headers=service_headers(api, "payments"))).status_code == 403


async def test_auth_learns_whether_an_event_still_takes_staff(api):
    from .test_invitation_accepted import event_body

    ptm = await make_user(api, "ptm")
    created = await api.post(ptm, "/api/v1/events", event_body())
    assert created.status_code == 201, created.text
    event_path = f"/internal/v1/events/{created.json()['id']}/invitation-authority"
    headers = service_headers(api)
    assert (await api.client.get(event_path, headers=headers)).json() == {"event_open": True}
    assert (await api.post(ptm, f"/api/v1/events/{created.json()['id']}/cancel", {})).status_code == 200
    assert (await api.client.get(event_path, headers=headers)).json() == {"event_open": False}
    unknown = await api.client.get(f"/internal/v1/events/{uuid.uuid4()}/invitation-authority", headers=headers)
    assert unknown.json() == {"event_open": False}
    assert (await api.get(ptm, event_path)).status_code == 403
