"""Phone numbers in E.164, checked with the `phonenumbers` library (real numbering plans)."""
from __future__ import annotations

import phonenumbers


def normalise_phone(value: str) -> str:
    try:
        parsed = phonenumbers.parse(value.strip(), None)  # no default region: '+' is required
    except phonenumbers.NumberParseException as exc:
        raise ValueError("phone must be in international format, e.g. +4915112345678") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
