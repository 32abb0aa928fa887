"""Input rules for credentials and names, shared by every schema that accepts them."""

from __future__ import annotations

import unicodedata

from email_validator import EmailNotValidError, validate_email

PASSWORD_MIN = 10
PASSWORD_MAX = 256
DISPLAY_NAME_MAX = 64
EMAIL_MAX = 254

# Control characters and line/paragraph separators would break emails, logs and layouts.
_FORBIDDEN_CATEGORIES = {"Cc", "Zl", "Zp", "Cs", "Co", "Cn"}


def normalise_email(value: str) -> str:
    """Trim, NFKC and lower-case, then check the syntax; the result is what we store."""
    candidate = unicodedata.normalize("NFKC", value).strip().lower()
    if len(candidate) > EMAIL_MAX:
        raise ValueError("email is too long")
    try:
        checked = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError("not a valid email address") from exc
    return checked.normalized.lower()


def check_password(value: str) -> str:
    if len(value) < PASSWORD_MIN:
        raise ValueError(f"password must be at least {PASSWORD_MIN} characters")
    if len(value) > PASSWORD_MAX:
        raise ValueError(f"password must be at most {PASSWORD_MAX} characters")
    if not value.strip():
        raise ValueError("password must not be only spaces")
    if "\x00" in value:
        raise ValueError("password must not contain NUL")
    return value


def clean_display_name(value: str) -> str:
    name = unicodedata.normalize("NFKC", value).strip()
    if not name:
        raise ValueError("display name must not be empty")
    if len(name) > DISPLAY_NAME_MAX:
        raise ValueError(f"display name must be at most {DISPLAY_NAME_MAX} characters")
    if any(unicodedata.category(char) in _FORBIDDEN_CATEGORIES for char in name):
        raise ValueError("display name must not contain control characters or line breaks")
    return name
