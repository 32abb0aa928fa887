"""Circles: the small peer groups, their listing and search."""
