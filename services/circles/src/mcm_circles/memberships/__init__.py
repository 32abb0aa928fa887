"""Memberships: who belongs to which circle, in what role, since when, and their payment status."""
