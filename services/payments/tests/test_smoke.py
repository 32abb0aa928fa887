import uuid


async def test_smoke_dues_obligation_appears(harness):
    user = uuid.uuid4()
    obligation = await harness.dues(user)
    assert obligation["status"] == "pending"
    response = await harness.checkout(user, obligation["id"])
    assert response.status_code == 201, response.text
    paid = await harness.pay_hosted_page(response.json()["url"])
    assert paid.status_code == 303
    await harness.settle_webhooks()
    settled = await harness.wait_status(obligation["id"], "settled")
    print(settled)
    print(await harness.published())
    rows = await harness.sql("SELECT type, outcome, last_error FROM payments.webhook_events ORDER BY received_at")
    for r in rows: print(dict(r))
    print([dict(r) for r in await harness.sql("SELECT kind, status, last_error FROM payments.stripe_tasks")])
    print([dict(r) for r in await harness.sql("SELECT action, actor, status_before, status_after FROM payments.obligation_audit")])
