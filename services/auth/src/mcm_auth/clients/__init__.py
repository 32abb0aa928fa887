"""Service clients: OAuth2 client-credentials tokens for service-to-service calls."""
