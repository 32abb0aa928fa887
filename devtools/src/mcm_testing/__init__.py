"""Test support: a pytest plugin with embedded PostgreSQL/Redis fixtures and small helpers."""
