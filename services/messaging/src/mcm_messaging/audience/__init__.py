"""Messaging's own read model of who belongs where: users' roles, circle memberships and event
registrations, fed by auth's and circles' bus messages (never by a client's claim)."""
