"""Accounts: registration, the user's own record, email/phone contact and profile basics."""
