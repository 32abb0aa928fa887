"""Plain-text message templates. Values are substituted with `string.Template`, so a value
can never inject template syntax; unknown placeholders stay visible rather than failing."""
from __future__ import annotations

from dataclasses import dataclass
from string import Template
from typing import Any


@dataclass(frozen=True)
class MessageTemplate:
    subject: str
    body: str
    sms: str | None = None


TEMPLATES: dict[str, MessageTemplate] = {
    "verify_email": MessageTemplate(
        "Your verification code",
        "Hello $display_name,\n\nYour email verification code is $code. It is valid for $minutes minutes.\n"
        "If you did not ask for it, you can ignore this message.\n",
    ),
    "verify_phone": MessageTemplate("", "", sms="Your Men's Circle verification code is $code (valid $minutes min)."),
    "account_exists": MessageTemplate(
        "Someone tried to register with your address",
        "Hello $display_name,\n\nSomeone tried to create a new account with this email address, which already has "
        "an account. If it was you, sign in instead, or reset your password if you forgot it.\n"
        "If it was not you, you can ignore this message.\n",
    ),
    "password_reset": MessageTemplate(
        "Reset your password",
        "Hello $display_name,\n\nUse this link within $minutes minutes to choose a new password:\n$link\n\n"
        "If you did not ask for it, ignore this message; your password stays as it is.\n",
    ),
    "password_changed": MessageTemplate(
        "Your password was changed",
        "Hello $display_name,\n\nThe password of your account was just changed and your other sessions were "
        "signed out. If this was not you, reset your password now and contact support.\n",
    ),
    "account_disabled": MessageTemplate(
        "Your account was disabled",
        "Hello $display_name,\n\nYour account has been disabled by an administrator. Contact support if you "
        "think this is a mistake.\n",
    ),
    "account_erased": MessageTemplate(
        "Your account was deleted",
        "Hello $display_name,\n\nYour account and its contact details have been deleted as you asked.\n",
    ),
    # Used for `notification.requested` events: other services pick a template by name.
    "generic": MessageTemplate("$subject", "Hello $display_name,\n\n$message\n", sms="$message"),
    "payment_required": MessageTemplate(
        "Payment due: $description",
        "Hello $display_name,\n\nA payment of $amount is due for $description.\nPay here: $link\n",
        sms="Payment of $amount due for $description: $link",
    ),
    "event_cancelled": MessageTemplate(
        "Cancelled: $title",
        "Hello $display_name,\n\nWe are sorry: \"$title\" has been cancelled. Any payment will be refunded.\n",
        sms="\"$title\" has been cancelled. Any payment will be refunded.",
    ),
    "waitlist_promoted": MessageTemplate(
        "A place opened up: $title",
        "Hello $display_name,\n\nA place opened up for \"$title\" and it is yours.\n",
        sms="A place opened up for \"$title\" and it is yours.",
    ),
}


def _text(data: dict[str, Any]) -> dict[str, str]:
    # Keep substituted values on one line and bounded, whatever a producer sends.
    return {key: " ".join(str(value).split())[:500] for key, value in data.items()}


def render_email(name: str, data: dict[str, Any]) -> tuple[str, str]:
    template = TEMPLATES[name]
    values = _text(data)
    return Template(template.subject).safe_substitute(values)[:200], Template(template.body).safe_substitute(values)


def render_sms(name: str, data: dict[str, Any]) -> str:
    template = TEMPLATES[name]
    if template.sms is None:
        raise KeyError(f"template {name} has no SMS form")
    return Template(template.sms).safe_substitute(_text(data))[:480]
