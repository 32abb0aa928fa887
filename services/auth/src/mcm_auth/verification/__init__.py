"""Verification: proving an email address or a phone number with a short-lived code."""
