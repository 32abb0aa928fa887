"""Conversations (direct, circle and event threads, announcements), their messages and read marks."""
