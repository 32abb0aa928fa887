"""Roles and permissions: the single table of what each role may do, and the role audit log."""
