"""Meetings of a circle and the attendance recorded at them."""
