"""Auth's calls to the other services' `/internal/v1/...` routes (see `client`)."""
