"""Member profiles: the pseudonymous view of a user (id + display name) this service keeps."""
