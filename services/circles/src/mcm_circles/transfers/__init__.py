"""Transfer requests: a member asks to move from one circle to another."""
