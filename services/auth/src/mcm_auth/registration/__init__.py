"""Registration: creating an account with a password, and what every new account gets (the
`user.registered` event and an email verification code). Sits above accounts and verification."""
