"""Google sign-in: OpenID Connect authorization-code flow with PKCE, state and nonce."""
