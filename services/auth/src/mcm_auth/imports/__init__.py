"""Bulk import of an organisation's circles and members from one CSV file (docs/imports.md)."""
