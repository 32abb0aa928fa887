"""Messages: plain text within limits, newest-first cursor pages, edit and delete by the author
within the window, read marks (receipts) and unread counts."""

from __future__ import annotations

import uuid
from datetime import timedelta

CONVERSATIONS = "/api/v1/conversations"


async def pair(harness):
    """A support person and a member in one direct conversation."""
    support = await harness.user("support")
    member = await harness.user()
    conversation = (
        await harness.post(CONVERSATIONS, support, {"kind": "direct", "user_id": str(member)}, "support")
    ).json()
    return conversation["id"], support, member


async def send(harness, conversation_id, user, body, *roles):
    response = await harness.post(f"{CONVERSATIONS}/{conversation_id}/messages", user, {"body": body}, *roles)
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_message_has_the_contract_fields_and_its_text_is_kept_verbatim(harness):
    conversation_id, support, member = await pair(harness)
    body = "<script>alert('x')</script> & <b>bold</b>\nline two"
    message = await send(harness, conversation_id, member, body)
    assert set(message) == {"id", "conversation_id", "author_id", "body", "created_at", "edited_at"}
    assert message["body"] == body and message["author_id"] == str(member) and message["edited_at"] is None
    [read] = (await harness.get(f"{CONVERSATIONS}/{conversation_id}/messages", support, "support")).json()["items"]
    assert read["body"] == body


async def test_empty_and_overlong_messages_are_refused(harness):
    conversation_id, _, member = await pair(harness)
    path = f"{CONVERSATIONS}/{conversation_id}/messages"
    assert (await harness.post(path, member, {"body": "   \n"})).status_code == 422
    assert (await harness.post(path, member, {"body": "x" * 4001})).status_code == 422
    assert (await harness.post(path, member, {"body": "x" * 4000})).status_code == 201
    assert (await harness.post(path, member, {"body": "nul\x00byte"})).status_code == 422
    assert (await harness.post(path, member, {})).status_code == 422


async def test_messages_come_newest_first_in_cursor_pages(harness):
    conversation_id, support, member = await pair(harness)
    sent = [await send(harness, conversation_id, member if i % 2 else support, f"m{i}", "support") for i in range(7)]
    path = f"{CONVERSATIONS}/{conversation_id}/messages"
    seen, cursor = [], None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = (await harness.get(path, member, **params)).json()
        seen += [m["body"] for m in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [m["body"] for m in reversed(sent)]
    assert (await harness.get(path, member, cursor="not-a-cursor")).status_code == 422


async def test_the_author_edits_and_deletes_within_the_window_only(harness):
    conversation_id, support, member = await pair(harness)
    message = await send(harness, conversation_id, member, "typo")
    path = f"{CONVERSATIONS}/{conversation_id}/messages/{message['id']}"
    other = await harness.http.patch(path, headers=harness.headers(support, "support"), json={"body": "mine now"})
    assert other.status_code == 403 and other.json()["type"].endswith("not-the-author")
    edited = await harness.http.patch(path, headers=harness.headers(member), json={"body": "fixed"})
    assert edited.status_code == 200 and edited.json()["body"] == "fixed" and edited.json()["edited_at"]

    harness.clock.offset = timedelta(minutes=16)
    late = await harness.http.patch(path, headers=harness.headers(member), json={"body": "again"})
    assert late.status_code == 403 and late.json()["type"].endswith("edit-window-closed")
    assert (await harness.http.delete(path, headers=harness.headers(member))).status_code == 403

    harness.clock.offset = timedelta()
    fresh = await send(harness, conversation_id, member, "oops")
    fresh_path = f"{CONVERSATIONS}/{conversation_id}/messages/{fresh['id']}"
    assert (await harness.http.delete(fresh_path, headers=harness.headers(support, "support"))).status_code == 403
    assert (await harness.http.delete(fresh_path, headers=harness.headers(member))).status_code == 204
    listed = (await harness.get(f"{CONVERSATIONS}/{conversation_id}/messages", member)).json()["items"]
    assert [m["body"] for m in listed] == ["fixed"]
    [stored] = await harness.sql(
        "SELECT body, deleted_at FROM messaging.messages WHERE id = $1", uuid.UUID(fresh["id"])
    )
    assert stored["body"] == "" and stored["deleted_at"] is not None
    assert (await harness.http.delete(fresh_path, headers=harness.headers(member))).status_code == 404


async def test_unread_counts_and_receipts_follow_the_read_marks(harness):
    conversation_id, support, member = await pair(harness)
    messages = [await send(harness, conversation_id, support, f"note {i}", "support") for i in range(3)]

    async def mine(user, *roles):
        [conversation] = [
            c for c in (await harness.get(CONVERSATIONS, user, *roles)).json()["items"] if c["id"] == conversation_id
        ]
        return conversation

    assert (await mine(member))["unread_count"] == 3
    assert (await mine(support, "support"))["unread_count"] == 0  # his own messages
    read = await harness.post(f"{CONVERSATIONS}/{conversation_id}/read", member, {"up_to": messages[1]["id"]})
    assert read.status_code == 200 and read.json()["unread_count"] == 1
    # A mark never moves back.
    back = await harness.post(f"{CONVERSATIONS}/{conversation_id}/read", member, {"up_to": messages[0]["id"]})
    assert back.json()["unread_count"] == 1
    assert (await mine(member))["last_message"]["body"] == "note 2"
    receipts = (await harness.get(f"{CONVERSATIONS}/{conversation_id}/receipts", support, "support")).json()["items"]
    assert {r["user_id"]: r["up_to"] for r in receipts} == {
        str(member): messages[1]["id"],
        str(support): messages[2]["id"],  # the author has read what he wrote
    }
    unknown = await harness.post(f"{CONVERSATIONS}/{conversation_id}/read", member, {"up_to": str(uuid.uuid4())})
    assert unknown.status_code == 404
    outsider = await harness.user()
    assert (await harness.get(f"{CONVERSATIONS}/{conversation_id}/receipts", outsider)).status_code == 404
    assert (
        await harness.post(f"{CONVERSATIONS}/{conversation_id}/read", outsider, {"up_to": messages[2]["id"]})
    ).status_code == 404


async def test_my_list_puts_the_latest_activity_first_and_pages(harness):
    support = await harness.user("support")
    others = [await harness.user() for _ in range(3)]
    ids = []
    for other in others:
        made = await harness.post(CONVERSATIONS, support, {"kind": "direct", "user_id": str(other)}, "support")
        ids.append(made.json()["id"])
    await send(harness, ids[0], support, "bump", "support")
    first = (await harness.get(CONVERSATIONS, support, "support", limit=2)).json()
    second = (await harness.get(CONVERSATIONS, support, "support", limit=2, cursor=first["next_cursor"])).json()
    assert [c["id"] for c in first["items"] + second["items"]] == [ids[0], ids[2], ids[1]]
    assert second["next_cursor"] is None
