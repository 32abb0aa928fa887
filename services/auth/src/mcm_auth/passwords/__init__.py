"""Passwords: forgotten-password reset by emailed link, and signed-in password change."""
