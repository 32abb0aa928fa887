"""The audit trail of staff actions taken on someone else's behalf (who, for whom, what, why, when)."""
