"""The listing cache: repeated pages cost no SQL, and no change is ever hidden by it — not this
process's writes, not another process's (PostgreSQL NOTIFY), not while it cannot hear."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import text

from mcm_circles.listing_cache import ListingCache, watch_local_writes

from .support import count_statements, eventually, make_circle, make_facilitator, make_user


async def listed(api, user, query: str = "") -> dict:
    response = await api.get(user, f"/api/v1/circles{query}")
    assert response.status_code == 200, response.text
    return response.json()


async def wait_listening(api) -> None:
    assert await api.app.state.runtime.listing_listener.wait_listening(10), "the NOTIFY listener did not connect"


async def test_a_repeated_page_is_answered_from_memory_without_sql(api):
    await wait_listening(api)
    ben = await make_facilitator(api)
    await make_circle(api, ben, name="Oak Circle")
    viewer = await make_user(api)
    first = await listed(api, viewer, "?city=berlin")
    with count_statements(api) as statements:
        again = await api.get(viewer, "/api/v1/circles?city=berlin")
    assert again.json() == first and statements == []
    metrics = (await api.client.get("/metrics")).text
    assert 'circles_listing_cache_total{outcome="hit"} 1.0' in metrics


async def test_a_join_is_listed_by_the_next_request(api):
    await wait_listening(api)
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben, capacity_max=5)
    viewer = await make_user(api)
    assert (await listed(api, viewer))["items"][0]["open_seats"] == 5
    joiner = await make_user(api)
    assert (await api.post(joiner, f"/api/v1/circles/{circle['id']}/join")).status_code in (200, 201)
    assert (await listed(api, viewer))["items"][0]["open_seats"] == 4


async def test_a_change_made_by_another_process_reaches_the_listing(api):
    await wait_listening(api)
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben, name="Before")
    viewer = await make_user(api)
    assert [c["name"] for c in (await listed(api, viewer))["items"]] == ["Before"]
    # api.db is a separate engine: nothing in this app sees the write except PostgreSQL's NOTIFY.
    async with api.db.session() as session:
        await session.execute(text("UPDATE circles.circles SET name = 'After' WHERE id = :id"), {"id": circle["id"]})
        await session.commit()

    async def renamed() -> bool:
        return [c["name"] for c in (await listed(api, viewer))["items"]] == ["After"]

    assert await eventually(renamed, timeout=5)


async def test_private_circles_stay_with_their_members(api):
    await wait_listening(api)
    ben = await make_facilitator(api)
    await make_circle(api, ben, name="Open One")
    hidden = await make_circle(api, ben, name="Quiet One", visibility="private")
    insider = await make_user(api)
    added = await api.post(ben, f"/api/v1/circles/{hidden['id']}/members", {"user_id": str(insider.id)})
    assert added.status_code == 201, added.text
    outsider = await make_user(api)
    for _ in range(2):  # the second round is answered from the cache
        assert [c["name"] for c in (await listed(api, insider))["items"]] == ["Open One", "Quiet One"]
        assert [c["name"] for c in (await listed(api, outsider))["items"]] == ["Open One"]
    admin = await make_user(api, "admin")
    assert [c["name"] for c in (await listed(api, admin))["items"]] == ["Open One", "Quiet One"]


async def test_nothing_is_served_from_memory_while_the_listener_is_disconnected(api):
    await wait_listening(api)
    ben = await make_facilitator(api)
    await make_circle(api, ben)
    viewer = await make_user(api)
    await listed(api, viewer)
    listener = api.app.state.runtime.listing_listener
    async with api.db.session() as session:
        await session.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'mcm-listen' "
                "AND datname = current_database()"
            )
        )

    async def deaf() -> bool:
        return not listener.listening

    assert await eventually(deaf, timeout=5)
    with count_statements(api) as statements:
        await listed(api, viewer)
    assert statements, "a page was served from memory while changes could not be heard"
    assert await listener.wait_listening(10), "the listener did not reconnect"
    await listed(api, viewer)
    with count_statements(api) as statements:
        await listed(api, viewer)
    assert statements == []


def test_a_page_read_while_a_change_was_heard_is_not_kept():
    cache = ListingCache(max_entries=10, ttl_seconds=60)
    cache.set_listening(True)
    generation = cache.generation
    cache.invalidate()  # a NOTIFY arrives while the page is being read
    cache.store_page("key", b"stale", generation)
    assert cache.page("key") is None
    cache.store_page("key", b"fresh", cache.generation)
    assert cache.page("key") == b"fresh"


def test_entries_expire_and_are_bounded():
    now = [0.0]
    cache = ListingCache(max_entries=2, ttl_seconds=30, clock=lambda: now[0])
    cache.set_listening(True)
    for key in ("a", "b", "c"):
        cache.store_page(key, key.encode(), cache.generation)
    assert cache.page("a") is None and cache.page("c") == b"c"  # least recently used went first
    now[0] = 31
    assert cache.page("c") is None
    scope_user = uuid.uuid4()
    cache.store_scope(scope_user, (), cache.generation)
    assert cache.scope(scope_user) == ()


def test_a_cache_that_cannot_hear_changes_keeps_nothing():
    cache = ListingCache(max_entries=10, ttl_seconds=60)
    cache.store_page("key", b"page", cache.generation)
    assert cache.page("key") is None
    cache.set_listening(True)
    cache.store_page("key", b"page", cache.generation)
    cache.set_listening(False)
    assert cache.page("key") is None


async def test_concurrent_first_requests_all_get_the_page(api):
    await wait_listening(api)
    ben = await make_facilitator(api)
    await make_circle(api, ben, name="Busy")
    viewers = [await make_user(api) for _ in range(5)]
    pages = await asyncio.gather(*(listed(api, viewer) for viewer in viewers))
    assert all([c["name"] for c in page["items"]] == ["Busy"] for page in pages)


async def test_a_committed_write_to_a_listed_table_clears_the_cache_of_its_own_process(api):
    cache = ListingCache(max_entries=10, ttl_seconds=60)
    cache.set_listening(True)
    watch_local_writes(api.db.engine.sync_engine, cache)  # no NOTIFY listener feeds this cache
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben)

    async def write(sql: str, *, commit: bool) -> None:
        cache.store_page("page", b"old", cache.generation)
        async with api.db.session() as session:
            await session.execute(text(sql), {"id": circle["id"]})
            await (session.commit() if commit else session.rollback())

    await write("UPDATE circles.circles SET name = 'Renamed' WHERE id = :id", commit=False)
    assert cache.page("page") == b"old", "a rolled-back write must not clear the cache"
    await write("SELECT name FROM circles.circles WHERE id = :id", commit=True)
    assert cache.page("page") == b"old", "a read must not clear the cache"
    await write("UPDATE circles.circles SET name = 'Renamed' WHERE id = :id", commit=True)
    assert cache.page("page") is None
    await write("UPDATE circles.memberships SET status = status WHERE circle_id = :id", commit=True)
    assert cache.page("page") is None


async def test_a_single_circle_is_served_from_memory_with_the_same_visibility_rule(api):
    await wait_listening(api)
    ben = await make_facilitator(api)
    open_circle = await make_circle(api, ben, name="Open")
    hidden = await make_circle(api, ben, name="Hidden", visibility="private")
    insider, outsider = await make_user(api), await make_user(api)
    assert (
        await api.post(ben, f"/api/v1/circles/{hidden['id']}/members", {"user_id": str(insider.id)})
    ).status_code == 201
    for user in (insider, outsider):
        await listed(api, user)  # both viewers' scopes are known now
    assert (await api.get(insider, f"/api/v1/circles/{hidden['id']}")).json()["name"] == "Hidden"
    # The NOTIFY of the membership write above reaches the listener asynchronously; on a busy
    # machine it can clear the page after the read above filled it. Once it has, reads are hits.
    for _ in range(20):
        with count_statements(api) as statements:
            again = await api.get(insider, f"/api/v1/circles/{hidden['id']}")
            refused = await api.get(outsider, f"/api/v1/circles/{hidden['id']}")
        if statements == []:
            break
        await asyncio.sleep(0.1)
    assert again.json()["name"] == "Hidden" and statements == []
    assert refused.status_code == 404
    await api.get(outsider, f"/api/v1/circles/{open_circle['id']}")
    assert (await api.patch(ben, f"/api/v1/circles/{open_circle['id']}", {"name": "Renamed"})).status_code == 200
    assert (await api.get(outsider, f"/api/v1/circles/{open_circle['id']}")).json()["name"] == "Renamed"


async def test_concurrent_misses_of_one_page_share_one_rendering(api):
    await wait_listening(api)
    ben = await make_facilitator(api)
    for index in range(3):
        await make_circle(api, ben, name=f"Circle {index}")
    viewer = await make_user(api)
    await listed(api, viewer, "?city=nowhere")  # his scope is known; the page below is not cached
    with count_statements(api) as statements:
        pages = await asyncio.gather(*(listed(api, viewer, "?sort=-name") for _ in range(8)))
    assert all(page == pages[0] for page in pages) and len(pages[0]["items"]) == 3
    assert len(statements) == 2, statements  # the page and its facilitators, once


async def test_when_the_shared_rendering_fails_each_waiter_renders_on_its_own():
    cache = ListingCache(max_entries=10, ttl_seconds=60)
    cache.set_listening(True)
    release = asyncio.Event()
    calls = []

    async def failing() -> bytes:
        calls.append("failing")
        await release.wait()
        raise RuntimeError("database went away")

    async def working() -> bytes:
        calls.append("working")
        return b"page"

    first = asyncio.create_task(cache.page_or_render("key", cache.generation, failing))
    await asyncio.sleep(0)
    second = asyncio.create_task(cache.page_or_render("key", cache.generation, working))
    await asyncio.sleep(0)
    release.set()
    with pytest.raises(RuntimeError):
        await first
    assert await second == b"page" and calls == ["failing", "working"]


async def test_a_connection_the_database_drops_mid_write_rolls_back_cleanly(api):
    """The write watcher must not turn a lost connection (a 503) into an error of its own."""
    cache = ListingCache(max_entries=10, ttl_seconds=60)
    cache.set_listening(True)
    watch_local_writes(api.db.engine.sync_engine, cache)
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben)
    async with api.db.session() as session:
        await session.execute(text("UPDATE circles.circles SET name = 'Lost' WHERE id = :id"), {"id": circle["id"]})
        backend = (await session.execute(text("SELECT pg_backend_pid()"))).scalar()
        async with api.db.engine.connect() as other:
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        with pytest.raises(Exception) as lost:
            await session.execute(text("SELECT 1"))
        assert "PendingRollback" not in type(lost.value).__name__
        await session.rollback()  # what the request's session does on its way out
    assert await api.scalar("SELECT name FROM circles.circles WHERE id = :id", id=circle["id"]) != "Lost"
