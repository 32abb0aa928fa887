"""Staff acting for one member: support's overview (gathered from every service), resending his
verification code, starting his password reset, and admins' export and erasure on his behalf."""
