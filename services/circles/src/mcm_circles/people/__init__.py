"""What circles holds about one person, for auth's support overview and privacy export
(`/internal/v1/users/{id}/...`, callable by auth's service token only)."""
