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
    "signin_code": MessageTemplate(
        "Your sign-in code",
        "Hello $display_name,\n\nYour sign-in code is $code. It is valid for $minutes minutes.\n"
        "We ask for it because someone has been trying wrong passwords on your account. If you are not "
        "signing in right now, your password may be known: reset it.\n",
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
    # Invitations: the two differ only in what to do next; the API answer is the same for both.
    "invitation_existing_account": MessageTemplate(
        "$inviter invited you",
        "Hello,\n\n$inviter invited you on the Men's Circle platform. Sign in to accept:\n$link\n\n"
        "The link works for $days days. If you did not expect it, you can ignore this message.\n",
    ),
    "invitation_new_account": MessageTemplate(
        "$inviter invited you",
        "Hello,\n\n$inviter invited you to join the Men's Circle platform. Create your account to accept:\n"
        "$link\n\nThe link works for $days days. If you did not expect it, you can ignore this message.\n",
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
        'Hello $display_name,\n\nWe are sorry: "$title" has been cancelled. Any payment will be refunded.\n',
        sms='"$title" has been cancelled. Any payment will be refunded.',
    ),
    "waitlist_promoted": MessageTemplate(
        "A place opened up: $title",
        'Hello $display_name,\n\nA place opened up for "$title" and it is yours.\n',
        sms='A place opened up for "$title" and it is yours.',
    ),
    "payment_reminder": MessageTemplate(
        "Payment reminder",
        "Hello $display_name,\n\nA payment of $amount_due (minor units, $currency) is still open. "
        "Please settle it in the app under Payments.\n",
        sms="Reminder: a payment of $amount_due $currency is still open. See Payments in the app.",
    ),
    # Kinds of messaging's notification centre (services/messaging, notifications/kinds.py): it
    # sends `when` (local times in the circle's timezone) and `where` (address, video link or '').
    "circle.meeting_scheduled": MessageTemplate(
        "New meeting: $circle_name",
        "Hello $display_name,\n\n$circle_name meets on $when.\n$where\n",
        sms="$circle_name meets on $when. $where",
    ),
    "circle.meeting_rescheduled": MessageTemplate(
        "Meeting moved: $circle_name",
        "Hello $display_name,\n\nThe meeting of $circle_name was moved to $when (it was $previous_when).\n$where\n",
        sms="$circle_name: the meeting moved to $when (was $previous_when).",
    ),
    "circle.meeting_cancelled": MessageTemplate(
        "Meeting cancelled: $circle_name",
        "Hello $display_name,\n\nThe meeting of $circle_name on $when is cancelled. $reason\n",
        sms="$circle_name: the meeting on $when is cancelled. $reason",
    ),
    "meeting_reminder": MessageTemplate(
        "Reminder: $circle_name, $local_starts_at",
        "Hello $display_name,\n\n$circle_name meets in $in: $local_starts_at.\n$where\n",
        sms="Reminder: $circle_name meets in $in ($local_starts_at). $where",
    ),
    "payment_failed": MessageTemplate(
        "A payment failed",
        "Hello $display_name,\n\nA payment of $amount could not be taken. Please check your card under Payments "
        "in the app and try again.\n",
        sms="A payment of $amount could not be taken. Please check your card under Payments in the app.",
    ),
    "dues_overdue": MessageTemplate(
        "A payment is overdue",
        "Hello $display_name,\n\nA payment of $amount is overdue. Please settle it under Payments in the app.\n",
        sms="A payment of $amount is overdue. See Payments in the app.",
    ),
    "role_granted": MessageTemplate(
        "New role: $roles",
        "Hello $display_name,\n\nYou now hold the role $roles on the platform.\n",
    ),
    "circle.join_requested": MessageTemplate(
        "New request to join $circle_name",
        'Hello $display_name,\n\nSomeone asked to join "$circle_name". Review the request in the app.\n',
        sms='Someone asked to join "$circle_name". Review it in the app.',
    ),
    "circle.join_approved": MessageTemplate(
        "Welcome to $circle_name",
        'Hello $display_name,\n\nYour request to join "$circle_name" was approved. Welcome!\n',
        sms='You are now a member of "$circle_name". Welcome!',
    ),
    "circle.join_declined": MessageTemplate(
        "Your request to join $circle_name",
        'Hello $display_name,\n\nYour request to join "$circle_name" was declined. $reason\n',
    ),
    "circle.member_added": MessageTemplate(
        "You were added to $circle_name",
        'Hello $display_name,\n\nYou were added to the circle "$circle_name".\n',
        sms='You were added to the circle "$circle_name".',
    ),
    "circle.member_removed": MessageTemplate(
        "You left $circle_name",
        'Hello $display_name,\n\nYour membership of "$circle_name" has ended. $reason\n',
    ),
    "circle.archived": MessageTemplate(
        "$circle_name has closed",
        'Hello $display_name,\n\nThe circle "$circle_name" has been closed. Thank you for taking part.\n',
    ),
    "circle.transfer_requested": MessageTemplate(
        "Transfer request for $circle_name",
        'Hello $display_name,\n\nA member asked to transfer into "$circle_name". Review it in the app.\n',
    ),
    "circle.transfer_approved": MessageTemplate(
        "Transfer approved: $circle_name",
        'Hello $display_name,\n\nYour transfer to "$circle_name" was approved. $note\n',
        sms='Your transfer to "$circle_name" was approved.',
    ),
    "circle.transfer_declined": MessageTemplate(
        "Transfer declined: $circle_name",
        'Hello $display_name,\n\nYour transfer to "$circle_name" was declined. $note\n',
    ),
    "circle.member_payment_overdue": MessageTemplate(
        "A member's dues are overdue in $circle_name",
        'Hello $display_name,\n\nA member\'s dues for "$circle_name" are overdue. Staff will follow up.\n',
    ),
}

# Templates that carry codes, links or account-security news: always sent, whatever the
# user's preferences, and never through `notification.requested`.
SECURITY_TEMPLATES = frozenset(
    {"verify_email", "verify_phone", "account_exists", "password_reset", "password_changed", "account_disabled"}
)


def topic_of(template: str) -> str:
    """The preference topic a platform template belongs to."""
    if template.startswith("circle.") or template == "meeting_reminder":
        return "circles"
    if template.startswith("payment") or template == "dues_overdue":
        return "payments"
    if template in {"event_cancelled", "waitlist_promoted"}:
        return "events"
    return "general"


def fallback(template: str, data: dict[str, Any]) -> MessageTemplate:
    """A plain message for a template this version does not know yet: better than losing it."""
    title = (template.replace(".", " ").replace("_", " ").strip().capitalize() or "Notification")[:100]
    shown = {key: value for key, value in _text(data).items() if not key.endswith("id") and key != "display_name"}
    # Values are escaped ($ → $$) so that substitution later cannot expand anything inside them.
    lines = "\n".join(f"{key.replace('_', ' ')}: {value}" for key, value in shown.items()).replace("$", "$$")
    title = title.replace("$", "$$")
    return MessageTemplate(title, f"Hello $display_name,\n\n{title}.\n{lines}\n", sms=title)


def _text(data: dict[str, Any]) -> dict[str, str]:
    # Keep substituted values on one line and bounded, whatever a producer sends.
    return {key: " ".join(str(value).split())[:500] for key, value in data.items()}


def _template(name: str, data: dict[str, Any]) -> MessageTemplate:
    return TEMPLATES.get(name) or fallback(name, data)


def render_email(name: str, data: dict[str, Any]) -> tuple[str, str]:
    template = _template(name, data)
    values = _text(data)
    return Template(template.subject).safe_substitute(values)[:200], Template(template.body).safe_substitute(values)


def render_sms(name: str, data: dict[str, Any]) -> str:
    template = _template(name, data)
    if template.sms is None:
        raise KeyError(f"template {name} has no SMS form")
    return Template(template.sms).safe_substitute(_text(data))[:480]
