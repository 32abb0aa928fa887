"""An event consumer killed in the middle of an event applies it exactly once after a restart.

A sign-up through the gateway makes auth publish `user.registered` (outbox → relay → stream
`events:auth`), which circles' consumer turns into a member profile. A test connection locks the
profiles table, so the consumer is caught inside its transaction (inbox row written, profile
insert waiting) when circles gets SIGKILL. After the restart the entry is reclaimed from the dead
consumer and applied: one profile, one inbox row, nothing pending — and a second delivery of the
same event changes nothing.
"""

from __future__ import annotations

import asyncio
import json
import signal
import uuid

import asyncpg
import httpx
import pytest
import redis
from faultkit import USER_PASSWORD, new_email, wait_ready, wait_until

from mcm_devstack.platform import Platform

STREAM = "events:auth"
GROUP = "circles-members"  # circles' MEMBERS_CONSUMER_GROUP default


class Database:
    """A synchronous face on one asyncpg connection (it can hold a lock across test steps)."""

    def __init__(self, url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.conn: asyncpg.Connection = self.loop.run_until_complete(asyncpg.connect(url))

    def run(self, query: str, *args: object):
        return self.loop.run_until_complete(self.conn.execute(query, *args))

    def value(self, query: str, *args: object):
        return self.loop.run_until_complete(self.conn.fetchval(query, *args))

    def close(self) -> None:
        self.loop.run_until_complete(self.conn.close())
        self.loop.close()


def pending_entry(client: redis.Redis, message_id: bytes) -> dict | None:
    entries = client.xpending_range(STREAM, GROUP, min=message_id, max=message_id, count=1)
    return entries[0] if entries else None


def registered_event(client: redis.Redis, after: bytes, display_name: str) -> tuple[bytes, dict[bytes, bytes]] | None:
    """The `user.registered` entry auth published for `display_name` after stream id `after`."""
    for message_id, fields in client.xrange(STREAM, min=b"(" + after, max="+"):
        envelope = json.loads(fields[b"envelope"])
        if envelope["type"] == "user.registered" and envelope["payload"].get("display_name") == display_name:
            return message_id, fields
    return None


@pytest.mark.timeout(150)
def test_consumer_killed_mid_event_applies_it_exactly_once_after_restart(platform: Platform) -> None:
    client = redis.Redis.from_url(platform.env["REDIS_URL"])
    observer = Database(platform.env["DATABASE_URL"])
    locker = Database(platform.env["DATABASE_URL"])
    name = f"Crash {uuid.uuid4().hex[:6]}"
    profiles = "SELECT count(*) FROM circles.profiles WHERE user_id = $1"
    inbox = "SELECT count(*) FROM circles.inbox WHERE consumer = $1 AND event_id = $2"
    try:
        locker.run("BEGIN")
        locker.run("LOCK TABLE circles.profiles IN SHARE ROW EXCLUSIVE MODE")  # inserts wait, reads do not
        last = client.xrevrange(STREAM, count=1)
        after = last[0][0] if last else b"0-0"
        signed_up = httpx.post(
            f"{platform.url('gateway')}/api/v1/auth/register",
            json={"email": new_email("crash"), "password": USER_PASSWORD, "display_name": name},
            timeout=10,
        )
        assert signed_up.status_code == 201, signed_up.text
        assert wait_until(lambda: registered_event(client, after, name) is not None, timeout=10), (
            "auth never published user.registered"
        )
        message_id, fields = registered_event(client, after, name)  # type: ignore[misc]
        envelope = json.loads(fields[b"envelope"])
        user_id, event_id = uuid.UUID(envelope["payload"]["user_id"]), uuid.UUID(envelope["id"])

        # The consumer took the entry and is stuck inside its transaction on the profile insert.
        assert wait_until(lambda: pending_entry(client, message_id) is not None, timeout=10), (
            "circles never read the event"
        )
        waiting = (
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%circles.profiles%'"
            " AND pid <> pg_backend_pid()"
        )
        assert wait_until(lambda: observer.value(waiting) >= 1, timeout=10), (
            "the consumer is not inside its transaction"
        )
        dead = pending_entry(client, message_id)
        assert dead is not None and dead["times_delivered"] == 1

        platform.stop_service("circles", signal.SIGKILL)
        locker.run("ROLLBACK")
        # The dead consumer's transaction never commits.
        assert wait_until(lambda: observer.value(waiting) == 0, timeout=10)
        assert observer.value(profiles, user_id) == 0 and observer.value(inbox, GROUP, event_id) == 0

        # Entries of dead consumers are reclaimed once idle for claim_idle (30 s); instead of
        # waiting, age this one by setting its idle time (JUSTID: the delivery count is unchanged).
        client.xclaim(STREAM, GROUP, dead["consumer"], 0, [message_id], idle=3_600_000, justid=True)

        platform.start_service("circles")
        wait_ready(platform, ["circles"])
        assert wait_until(lambda: observer.value(profiles, user_id) == 1, timeout=20), "the event was never applied"
        assert wait_until(lambda: pending_entry(client, message_id) is None, timeout=10), (
            "the entry was never acknowledged"
        )
        assert observer.value(inbox, GROUP, event_id) == 1
        assert observer.value("SELECT display_name FROM circles.profiles WHERE user_id = $1", user_id) == name

        # At-least-once delivery may bring it again (a relay retry): still exactly one effect.
        again = client.xadd(STREAM, fields)
        assert wait_until(lambda: _delivered_and_acked(client, again), timeout=10), "the duplicate was not consumed"
        assert observer.value(profiles, user_id) == 1
        assert observer.value(inbox, GROUP, event_id) == 1
    finally:
        locker.close()
        observer.close()


def _delivered_and_acked(client: redis.Redis, message_id: bytes) -> bool:
    group = next(g for g in client.xinfo_groups(STREAM) if g["name"] == GROUP.encode())
    last = tuple(int(part) for part in group["last-delivered-id"].split(b"-"))
    wanted = tuple(int(part) for part in message_id.split(b"-"))
    return last >= wanted and pending_entry(client, message_id) is None
