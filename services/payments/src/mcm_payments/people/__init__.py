"""What payments holds about one person: support's overview, the privacy export, and the
pseudonymisation on `user.erased` (internal routes for auth's service token only)."""
