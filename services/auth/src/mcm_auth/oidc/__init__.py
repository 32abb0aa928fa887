"""The OpenID Connect client for Google sign-in: code exchange and strict ID-token checks. A
foundation the runtime holds; the sign-in use case is mcm_auth.google."""
