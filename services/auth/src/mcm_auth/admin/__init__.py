"""Administration of accounts: list and search users, change roles, disable and enable, and
read the audit log. Every change is audited and demotions take effect at once."""
