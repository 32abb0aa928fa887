"""The messaging service: conversations, messages, read receipts, announcements (ARCHITECTURE §2, §11)."""
