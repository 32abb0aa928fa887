"""Bulk import through the API (and the command once): admins only, a dry run that lists every
problem by line and writes nothing, a real run that creates circles in the real circles service
and invites members, a re-run that changes nothing, and the size limits."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from mcm_auth.import_command import import_file

from . import test_invitations
from .conftest import bearer, make_admin, new_email, signed_up, user_id_of
from .test_cli import run_in_thread
from .test_privacy import events_of

# The real circles service on a loopback port, and auth's client pointed at it.
circles_service = test_invitations.circles_service
circles = test_invitations.circles
client = test_invitations.client

IMPORTS = "/api/v1/imports"
HEADER = "kind,key,name,city,online,weekday,time,timezone,frequency,capacity_max,visibility,join_policy,dues_amount,dues_currency,email,display_name,circle,role"  # noqa: E501


def circle_row(
    key: str, *, city: str = "Berlin", online: str = "", capacity: str = "8", weekday: str = "tuesday"
) -> str:
    return (
        f"circle,{key},Circle {key},{city},{online},{weekday},19:00,Europe/Berlin,weekly,{capacity},public,open,,,,,,"
    )


def member_row(email: str, key: str, role: str = "member", name: str = "Sam Member") -> str:
    return f"member,,,,,,,,,,,,,,{email},{name},{key},{role}"


def csv_of(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode()


async def post(client, tokens, body: bytes, *, dry_run: bool, content_type: str = "text/csv"):
    return await client.post(
        IMPORTS,
        params={"dry_run": str(dry_run).lower()},
        content=body,
        headers={**bearer(tokens), "Content-Type": content_type},
    )


async def circles_with_keys(circles_app, keys: list[str]) -> dict[str, str]:
    async with circles_app.state.db.session() as session:
        rows = await session.execute(
            text("SELECT import_key, id FROM circles.circles WHERE import_key = ANY(:keys)"), {"keys": keys}
        )
        return {key: str(circle_id) for key, circle_id in rows}


async def invitations_to(client, emails: list[str]) -> list[tuple[str, str]]:
    async with client.app.state.db.session() as session:
        rows = await session.execute(
            text("SELECT email, circle_id FROM auth.invitations WHERE email = ANY(:emails) ORDER BY email"),
            {"emails": emails},
        )
        return [(email, str(circle_id)) for email, circle_id in rows]


def key() -> str:
    return f"c-{uuid.uuid4().hex[:10]}"


async def test_only_admins_import(client, circles):
    body = csv_of(circle_row(key()))
    for roles in (("member",), ("facilitator",), ("ptm",), ("support",), ("leadership",)):
        _, tokens = await make_admin(client, roles=roles)
        response = await post(client, tokens, body, dry_run=True)
        assert response.status_code == 403, (roles, response.text)
    assert (await client.post(IMPORTS, content=body, headers={"Content-Type": "text/csv"})).status_code == 401


async def test_a_dry_run_lists_every_problem_by_line_and_writes_nothing(client, circles):
    _, admin = await make_admin(client)
    small, other = key(), key()
    emails = [new_email() for _ in range(4)]
    body = csv_of(
        circle_row(small, capacity="2"),  # line 2
        circle_row(other, weekday="someday"),  # line 3: invalid schedule (circles' rules)
        circle_row(small),  # line 4: duplicate key
        "circle,,No key,Berlin,,monday,19:00,Europe/Berlin,,5,,,,,,,,",  # line 5: missing key
        member_row("not-an-email", small),  # line 6
        member_row(emails[0], small),  # line 7
        member_row(emails[0], small),  # line 8: duplicate row
        member_row(emails[1], "nowhere"),  # line 9: unknown key
        member_row(emails[2], small),  # line 10
        member_row(emails[3], small),  # line 11: the third member of a circle for two
        member_row(new_email(), small, role="boss"),  # line 12
        member_row(new_email(), small, name=""),  # line 13: missing display_name
        "party,,,,,,,,,,,,,,,,,",  # line 14
        circle_row("bad key"),  # line 15: not a key circles accepts
        member_row(new_email(), "no where"),  # line 16: unknown (and no key at all)
    )
    response = await post(client, admin, body, dry_run=True)
    assert response.status_code == 200, response.text
    report = response.json()
    lines = [problem["line"] for problem in report["problems"]]
    assert lines == [3, 4, 5, 6, 8, 9, 11, 12, 13, 14, 15, 16], report["problems"]
    messages = {problem["line"]: problem["message"] for problem in report["problems"]}
    assert "weekday" in messages[3] and "duplicate circle key" in messages[4] and "key" in messages[5]
    assert "bad email" in messages[6] and "duplicate row" in messages[8] and "unknown circle key" in messages[9]
    assert "at most 2 members" in messages[11]
    assert "key must be" in messages[15] and "unknown circle key" in messages[16]
    assert report["dry_run"] is True
    assert await circles_with_keys(circles.app, [small, other]) == {}
    assert await invitations_to(client, emails) == []


async def test_a_real_run_with_problems_imports_nothing_and_lists_them(client, circles):
    _, admin = await make_admin(client)
    good, address = key(), new_email()
    body = csv_of(circle_row(good), member_row(address, good), member_row("bad@", good))
    response = await post(client, admin, body, dry_run=False)
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [{"line": 4, "message": "bad email 'bad@'"}]
    assert await circles_with_keys(circles.app, [good]) == {}
    assert await invitations_to(client, [address]) == []


async def test_a_real_run_creates_circles_and_invites_and_a_rerun_changes_nothing(client, circles, mail):
    _, admin = await make_admin(client)
    berlin, online = key(), key()
    members = [new_email() for _ in range(3)]
    body = csv_of(
        circle_row(berlin),
        circle_row(online, city="", online="true"),
        member_row(members[0], berlin),
        member_row(members[1], berlin, role="facilitator"),
        member_row(members[2], online),
    )
    dry = (await post(client, admin, body, dry_run=True)).json()
    assert dry["circles"] == {"created": 2, "existing": 0}
    assert dry["invitations"] == {"sent": 3, "already_open": 0, "already_accepted": 0}
    response = await post(client, admin, body, dry_run=False)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "dry_run": False,
        "circles": {"created": 2, "existing": 0},
        "invitations": {"sent": 3, "already_open": 0, "already_accepted": 0},
        "problems": [],
    }
    ids = await circles_with_keys(circles.app, [berlin, online])
    assert set(ids) == {berlin, online}
    assert await invitations_to(client, members) == sorted(
        [(members[0], ids[berlin]), (members[1], ids[berlin]), (members[2], ids[online])]
    )
    await mail.wait_for_text(members[2], "/invitations/accept")
    async with client.app.state.db.session() as session:
        roles = dict(
            (
                await session.execute(
                    text("SELECT email, circle_role FROM auth.invitations WHERE email = ANY(:emails)"),
                    {"emails": members},
                )
            ).all()
        )
    assert roles == {members[0]: None, members[1]: "facilitator", members[2]: None}
    # The facilitator's acceptance tells circles his role.
    _, facilitator = await signed_up(client)
    token = await test_invitations.token_from_mail(mail, members[1])
    accepted = await client.post("/api/v1/invitations/accept", json={"token": token}, headers=bearer(facilitator))
    assert accepted.status_code == 200, accepted.text
    [event] = await events_of(client, "invitation.accepted", await user_id_of(client, facilitator))
    assert event["payload"]["circle_role"] == "facilitator"
    # The same file again: circles matched by key, open invitations not sent again.
    again = await post(client, admin, body, dry_run=False)
    assert again.json()["circles"] == {"created": 0, "existing": 2}
    assert again.json()["invitations"] == {"sent": 0, "already_open": 2, "already_accepted": 1}
    assert await circles_with_keys(circles.app, [berlin, online]) == ids
    assert len(await invitations_to(client, members)) == 3
    # A later file may name circles imported earlier without repeating them.
    newcomer = new_email()
    later = await post(client, admin, csv_of(member_row(newcomer, berlin)), dry_run=False)
    assert later.json()["invitations"]["sent"] == 1, later.text
    assert await invitations_to(client, [newcomer]) == [(newcomer, ids[berlin])]


async def test_size_type_and_header_limits(client, circles):
    _, admin = await make_admin(client)
    row = member_row("someone@example.org", "k") + "\n"
    too_big = HEADER.encode() + b"\n" + row.encode() * (1_000_000 // len(row) + 1)
    response = await post(client, admin, too_big, dry_run=True)
    assert response.status_code == 413, response.text
    many = csv_of(*[member_row(f"m{i}@example.org", "k") for i in range(5001)])
    assert len(many) < 1_000_000
    response = await post(client, admin, many, dry_run=True)
    assert response.status_code == 422 and "5000 rows" in response.json()["detail"]
    response = await post(client, admin, csv_of(), dry_run=True, content_type="application/json")
    assert response.status_code == 415
    response = await post(client, admin, b"kind,colour\n", dry_run=True)
    assert response.status_code == 422 and "colour" in response.json()["detail"]


async def test_a_member_cannot_import(client):
    _, member = await signed_up(client)
    assert (await post(client, member, csv_of(), dry_run=True)).status_code == 403


async def test_the_import_command_checks_then_imports_as_the_named_admin(
    client, circles, creds_url, redis_url, key_dir, tmp_path, monkeypatch, capsys
):
    admin_email = new_email()
    _, admin = await make_admin(client)
    async with client.app.state.db.session() as session:
        await session.execute(
            text("UPDATE auth.users SET email = :email WHERE id = :id"),
            {"email": admin_email, "id": await user_id_of(client, admin)},
        )
        await session.commit()
    circle, address = key(), new_email()
    path = tmp_path / "people.csv"
    path.write_bytes(csv_of(circle_row(circle), member_row(address, circle), member_row("nope", circle)))
    env = {
        "ENVIRONMENT": "test",
        "CREDS_DATABASE_URL": creds_url,
        "REDIS_URL": redis_url,
        "JWT_KEY_DIR": str(key_dir),
        "CIRCLES_URL": circles.url,
    }
    code = await run_in_thread(import_file, [str(path), "--as", admin_email, "--dry-run"], monkeypatch, **env)
    assert code == 1
    assert '"line": 4' in capsys.readouterr().out
    path.write_bytes(csv_of(circle_row(circle), member_row(address, circle)))
    assert await run_in_thread(import_file, [str(path), "--as", admin_email], monkeypatch, **env) == 0
    ids = await circles_with_keys(circles.app, [circle])
    assert await invitations_to(client, [address]) == [(address, ids[circle])]
    _, member = await signed_up(client)
    member_email = (await client.get("/api/v1/auth/me", headers=bearer(member))).json()["email"]
    assert await run_in_thread(import_file, [str(path), "--as", member_email], monkeypatch, **env) == 2


async def test_runs_are_limited_per_admin(client, circles):
    _, admin = await make_admin(client)
    header_only = csv_of()
    for _ in range(30):
        assert (await post(client, admin, header_only, dry_run=True)).status_code == 200
    refused = await post(client, admin, header_only, dry_run=True)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    _, other_admin = await make_admin(client)
    assert (await post(client, other_admin, header_only, dry_run=True)).status_code == 200
