"""The user's own data across every package: export and erasure. A use case on top: it calls the
other packages' services and clears their rows of the user in one transaction."""
