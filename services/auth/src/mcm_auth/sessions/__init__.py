"""Sessions: login, refresh-token rotation, logout, session listing and revocation."""
