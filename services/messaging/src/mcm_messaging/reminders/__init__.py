"""Reminders: what is coming up (meetings, events, dues) as the bus announced it, and a scheduler
that turns each into notification-centre entries at its time, safe with several replicas."""
