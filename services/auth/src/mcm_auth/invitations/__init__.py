"""Invitations: staff invite someone by email into a circle, onto an event's staff or into the
organisation with roles. Auth owns them because the email address is contact data; the token
travels only in the email and is stored as a hash."""
