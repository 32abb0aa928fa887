"""Goals a member sets for himself within a circle."""
