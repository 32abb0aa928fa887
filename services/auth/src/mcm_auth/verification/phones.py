"""Phone numbers in E.164, parsed with the `phonenumbers` library.

We require a plausible number for its country (known country code, possible length) rather
than one inside today's allocated ranges: numbering plans change faster than the library, and
the SMS code itself proves the number works (a provider refusal is recorded as final).
"""

from __future__ import annotations

import phonenumbers


def normalise_phone(value: str) -> str:
    try:
        parsed = phonenumbers.parse(value.strip(), None)  # no default region: '+' is required
    except phonenumbers.NumberParseException as exc:
        raise ValueError("phone must be in international format, e.g. +4915112345678") from exc
    if not phonenumbers.is_possible_number(parsed):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
