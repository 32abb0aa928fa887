"""Helpers for the end-to-end flows: people signing up and in through the gateway, bounded waits
for what travels between services, the messages the mail and SMS sinks caught, the Stripe
stand-in's hosted pages and control endpoints, and the events a service published."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, TypeVar
from urllib.parse import urljoin

import httpx
import redis

from mcm_devstack.platform import Platform
from mcm_devstack.sinklog import read_messages
from mcm_shared.events.envelope import Envelope, stream_for

T = TypeVar("T")

PASSWORD = "a long enough password"
POLL_SECONDS = 0.1
# Generous for a loaded CI machine; a flow that works takes well under a second per hop.
DEADLINE_SECONDS = 20.0

CARD_PAYS = "4242424242424242"
CARD_FAILS_ON_RENEWAL = "4000000000000341"


def eventually(
    fetch: Callable[[], T],
    until: Callable[[T], bool],
    *,
    what: str,
    timeout: float = DEADLINE_SECONDS,
    interval: float = POLL_SECONDS,
) -> T:
    """Poll `fetch` until `until(value)` holds; fail with the last value seen after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if until(value):
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f}s; last seen: {value!r}")
        time.sleep(interval)


# -- people ------------------------------------------------------------------------------------
@dataclass
class Person:
    id: str
    email: str
    display_name: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def unique_email(name: str) -> str:
    return f"{re.sub(r'[^a-z]+', '.', name.lower()).strip('.')}-{uuid.uuid4().hex[:10]}@example.org"


def log_in(api: httpx.Client, email: str, password: str = PASSWORD) -> str:
    response = api.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def sign_up(api: httpx.Client, display_name: str) -> Person:
    email = unique_email(display_name)
    registered = api.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD, "display_name": display_name}
    )
    assert registered.status_code == 201, registered.text
    token = log_in(api, email)
    me = api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    return Person(me.json()["id"], email, display_name, token)


def sign_in(api: httpx.Client, email: str, password: str) -> Person:
    token = log_in(api, email, password)
    me = api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).json()
    return Person(me["id"], email, me["display_name"], token)


# -- mail and SMS sinks ------------------------------------------------------------------------
def _store(platform: Platform, sink: str):
    store = platform.sidecars[sink].store
    assert store is not None
    return store


def mail_to(platform: Platform, address: str, subject: str) -> dict[str, Any]:
    """The newest email to `address` whose subject contains `subject`, once the sink has it."""

    def found() -> list[dict[str, Any]]:
        return [
            m
            for m in read_messages(_store(platform, "mailsink"))
            if address in m["rcpt_tos"] and subject in m["subject"]
        ]

    return eventually(found, bool, what=f"email {subject!r} to {address}")[-1]


def sms_to(platform: Platform, number: str) -> dict[str, Any]:
    def found() -> list[dict[str, Any]]:
        return [m for m in read_messages(_store(platform, "smssink")) if m["to"] == number]

    return eventually(found, bool, what=f"SMS to {number}")[-1]


def code_in(text: str) -> str:
    match = re.search(r"\b(\d{6})\b", text)
    assert match, f"no six-digit code in {text!r}"
    return match.group(1)


def verify_email(api: httpx.Client, platform: Platform, person: Person) -> None:
    """Enter the code from the verification email auth sent at sign-up."""
    code = code_in(mail_to(platform, person.email, "verification code")["body"])
    response = api.post("/api/v1/auth/verify-email", headers=person.auth, json={"code": code})
    assert response.status_code == 204, response.text


# -- the Stripe stand-in -----------------------------------------------------------------------
class _Forms(HTMLParser):
    """Just enough HTML reading to submit the stand-in's hosted forms as a browser would."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(
                {"action": values.get("action", ""), "method": values.get("method", "get").lower(), "controls": []}
            )
        elif tag in ("input", "button") and self.forms:
            self.forms[-1]["controls"].append(values)


class StripeStandIn:
    """The stand-in as a customer's browser (hosted pages) and as Stripe's dashboard (API, control)."""

    def __init__(self, platform: Platform) -> None:
        self.url = platform.sidecars["stripe-standin"].url
        # Without STRIPE_SECRET_KEY the stand-in accepts any test key.
        key = platform.env.get("STRIPE_SECRET_KEY") or "sk_test_e2e"
        self.client = httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {key}"}, timeout=10)

    def close(self) -> None:
        self.client.close()

    def pay(self, page_url: str, card: str = CARD_PAYS) -> httpx.Response:
        """Open a hosted page (checkout, or an unpaid invoice), choose `card` and press Pay;
        returns the answer without following it (checkout: a 303 to the success URL when paid)."""
        assert page_url.startswith(self.url), f"the page is not on the stand-in: {page_url}"
        page = httpx.get(page_url, timeout=10)
        assert page.status_code == 200, page.text
        reader = _Forms()
        reader.feed(page.text)
        assert len(reader.forms) == 1, page.text
        form = reader.forms[0]
        cards = [c["value"] for c in form["controls"] if c.get("type") == "radio" and c.get("name") == "card"]
        assert card in cards, f"card {card} is not offered: {cards}"
        pay = next(c for c in form["controls"] if c.get("name") == "action" and c.get("value") == "pay")
        assert form["method"] == "post"
        return httpx.post(urljoin(page_url, form["action"]), data={"card": card, pay["name"]: pay["value"]}, timeout=10)

    def portal(self, page_url: str, action: str, **choices: str) -> httpx.Response:
        """On a billing portal page, press the button `action` of the form that has it, sending that
        form's hidden fields (which subscription) and `choices` (a card, how many months)."""
        assert page_url.startswith(self.url), f"the page is not on the stand-in: {page_url}"
        page = httpx.get(page_url, timeout=10)
        assert page.status_code == 200, page.text
        reader = _Forms()
        reader.feed(page.text)
        form = next(
            (
                f
                for f in reader.forms
                if any(c.get("name") == "action" and c.get("value") == action for c in f["controls"])
            ),
            None,
        )
        assert form is not None and form["method"] == "post", f"no {action} button: {page.text}"
        hidden = {c["name"]: c.get("value", "") for c in form["controls"] if c.get("type") == "hidden"}
        data = {**hidden, **choices, "action": action}
        return httpx.post(urljoin(page_url, form["action"]), data=data, timeout=10)

    def get(self, path: str) -> dict[str, Any]:
        response = self.client.get(path)
        assert response.status_code == 200, response.text
        return response.json()

    def control(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.client.post(f"/_standin/{path}", json=body or {})
        assert response.status_code == 200, response.text
        return response.json()

    def events(self) -> list[dict[str, Any]]:
        return self.get("/_standin/events")["data"]


# -- events on the streams ---------------------------------------------------------------------
def published(platform: Platform, producer: str, event_type: str) -> list[Envelope]:
    """Every `event_type` event `producer` has put on its stream so far."""
    client = redis.Redis.from_url(platform.env["REDIS_URL"])
    try:
        entries = client.xrange(stream_for(producer))
    finally:
        client.close()
    envelopes = [Envelope.from_fields(fields) for _, fields in entries]
    return [envelope for envelope in envelopes if envelope.type == event_type]
