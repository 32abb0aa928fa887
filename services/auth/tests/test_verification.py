"""Email and phone verification codes (issue 3, item 5)."""

from __future__ import annotations

import asyncio
import re

from sqlalchemy import text

from .conftest import bearer, signed_up


async def email_code(mail, email: str, count: int = 1) -> str:
    for _ in range(200):
        codes = [m for m in mail.to(email) if "verification code is" in m.body]
        if len(codes) >= count:
            return re.search(r"code is (\d{6})", codes[-1].body).group(1)
        await asyncio.sleep(0.05)
    raise AssertionError("no verification mail")


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def me(client, tokens):
    return (await client.get("/api/v1/auth/me", headers=bearer(tokens))).json()


async def test_registration_sends_a_code_that_verifies_the_email(client, mail):
    email, tokens = await signed_up(client)
    code = await email_code(mail, email)
    response = await client.post("/api/v1/auth/verify-email", json={"code": code}, headers=bearer(tokens))
    assert response.status_code == 204
    assert (await me(client, tokens))["email_verified"] is True
    again = await client.post("/api/v1/auth/verify-email", json={"code": code}, headers=bearer(tokens))
    assert again.status_code == 409


async def test_a_wrong_code_is_refused_and_counted(client, mail):
    email, tokens = await signed_up(client)
    code = await email_code(mail, email)
    response = await client.post("/api/v1/auth/verify-email", json={"code": wrong(code)}, headers=bearer(tokens))
    assert response.status_code == 422
    assert response.json()["attempts_left"] == 4
    assert (
        await client.post("/api/v1/auth/verify-email", json={"code": code}, headers=bearer(tokens))
    ).status_code == 204


async def test_five_wrong_guesses_burn_the_code(client, mail):
    email, tokens = await signed_up(client)
    code = await email_code(mail, email)
    for _ in range(5):
        await client.post("/api/v1/auth/verify-email", json={"code": wrong(code)}, headers=bearer(tokens))
    burned = await client.post("/api/v1/auth/verify-email", json={"code": code}, headers=bearer(tokens))
    assert burned.status_code == 422
    assert (await me(client, tokens))["email_verified"] is False


async def test_concurrent_guesses_never_exceed_five_attempts(client, mail):
    email, tokens = await signed_up(client)
    code = await email_code(mail, email)
    guesses = [f"{n:06d}" for n in range(30) if f"{n:06d}" != code][:20]
    responses = await asyncio.gather(
        *(client.post("/api/v1/auth/verify-email", json={"code": g}, headers=bearer(tokens)) for g in guesses)
    )
    assert {r.status_code for r in responses} == {422}
    async with client.app.state.db.session() as session:
        attempts = await session.scalar(
            text("SELECT attempts FROM auth.verification_codes WHERE target = :e"), {"e": email}
        )
    assert attempts == 5
    assert (
        await client.post("/api/v1/auth/verify-email", json={"code": code}, headers=bearer(tokens))
    ).status_code == 422


async def test_an_expired_code_is_refused(client, mail):
    email, tokens = await signed_up(client)
    code = await email_code(mail, email)
    async with client.app.state.db.session() as session:
        ttl = await session.scalar(
            text("SELECT extract(epoch FROM expires_at - created_at) FROM auth.verification_codes WHERE target = :e"),
            {"e": email},
        )
        await session.execute(
            text("UPDATE auth.verification_codes SET expires_at = now() - interval '1 second' WHERE target = :e"),
            {"e": email},
        )
        await session.commit()
    assert 0 < ttl <= 601
    assert (
        await client.post("/api/v1/auth/verify-email", json={"code": code}, headers=bearer(tokens))
    ).status_code == 422


async def test_resend_voids_the_old_code_and_is_rate_limited(app_client, mail):
    async with app_client(verification_resend_cooldown_seconds=1, verification_sends_per_hour=2) as client:
        email, tokens = await signed_up(client)
        first = await email_code(mail, email, 1)
        assert (await client.post("/api/v1/auth/verify-email/resend", headers=bearer(tokens))).status_code == 202
        second = await email_code(mail, email, 2)
        too_soon = await client.post("/api/v1/auth/verify-email/resend", headers=bearer(tokens))
        assert too_soon.status_code == 429 and int(too_soon.headers["Retry-After"]) >= 1
        await asyncio.sleep(1.1)
        assert (await client.post("/api/v1/auth/verify-email/resend", headers=bearer(tokens))).status_code == 202
        await asyncio.sleep(1.1)
        assert (await client.post("/api/v1/auth/verify-email/resend", headers=bearer(tokens))).status_code == 429
        third = await email_code(mail, email, 3)
        if first != third:
            assert (
                await client.post("/api/v1/auth/verify-email", json={"code": first}, headers=bearer(tokens))
            ).status_code == 422
        if second != third:
            assert (
                await client.post("/api/v1/auth/verify-email", json={"code": second}, headers=bearer(tokens))
            ).status_code == 422
        assert (
            await client.post("/api/v1/auth/verify-email", json={"code": third}, headers=bearer(tokens))
        ).status_code == 204


async def test_codes_must_be_six_digits(client):
    _, tokens = await signed_up(client)
    for bad in ["12345", "1234567", "abcdef", " 12345"]:
        assert (
            await client.post("/api/v1/auth/verify-email", json={"code": bad}, headers=bearer(tokens))
        ).status_code == 422


async def sms_code(sms, number: str, count: int = 1) -> str:
    messages = await sms.wait_for(number, count)
    return re.search(r"code is (\d{6})", messages[-1].body).group(1)


def unique_number() -> str:
    import random

    return f"+49151{random.randint(10**7, 10**8 - 1)}"  # +49 151 + 8 digits: a valid German mobile number


async def test_a_phone_number_is_normalised_sent_a_code_and_verified(client, sms):
    _, tokens = await signed_up(client)
    number = unique_number()
    spaced = f"{number[:3]} {number[3:6]} {number[6:]}"
    response = await client.post("/api/v1/auth/phone", json={"phone": spaced}, headers=bearer(tokens))
    assert response.status_code == 202
    code = await sms_code(sms, number)
    assert (await me(client, tokens))["phone"] is None  # not the account's number until proved
    assert (
        await client.post("/api/v1/auth/verify-phone", json={"code": code}, headers=bearer(tokens))
    ).status_code == 204
    body = await me(client, tokens)
    assert body["phone"] == number and body["phone_verified"] is True


async def test_invalid_phone_numbers_are_refused(client):
    _, tokens = await signed_up(client)
    for bad in ["12345", "+1 555", "not a number", "+99912345678", "+49 1", "+1 201 555 0123 4567 89"]:
        response = await client.post("/api/v1/auth/phone", json={"phone": bad}, headers=bearer(tokens))
        assert response.status_code == 422, bad


async def test_sms_sends_are_limited_per_number_and_per_account(app_client, sms):
    async with app_client(
        verification_resend_cooldown_seconds=1, sms_per_number_per_hour=1, sms_per_account_per_hour=2
    ) as client:
        _, alice = await signed_up(client)
        _, bob = await signed_up(client)
        number = unique_number()
        assert (
            await client.post("/api/v1/auth/phone", json={"phone": number}, headers=bearer(alice))
        ).status_code == 202
        # Another account cannot make us text the same number again within the hour.
        await asyncio.sleep(1.1)
        assert (await client.post("/api/v1/auth/phone", json={"phone": number}, headers=bearer(bob))).status_code == 429
        await asyncio.sleep(1.1)
        assert (
            await client.post("/api/v1/auth/phone", json={"phone": unique_number()}, headers=bearer(alice))
        ).status_code == 202
        await asyncio.sleep(1.1)
        refused = await client.post("/api/v1/auth/phone", json={"phone": unique_number()}, headers=bearer(alice))
        assert refused.status_code == 429 and "Retry-After" in refused.headers


async def test_sms_delivery_is_retried_when_the_provider_fails(client, sms):
    _, tokens = await signed_up(client)
    number = unique_number()
    sms.fail_next = 1
    assert (await client.post("/api/v1/auth/phone", json={"phone": number}, headers=bearer(tokens))).status_code == 202
    await sms.wait_for(number, 1, within=15)
