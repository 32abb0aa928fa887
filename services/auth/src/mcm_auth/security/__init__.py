"""Cryptographic helpers shared by auth's contexts: password hashing, secret tokens."""
