"""Signing keys: the ES256 key that signs access tokens and the published JWKS."""
