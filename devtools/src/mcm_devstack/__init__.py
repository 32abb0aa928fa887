"""Development and test tooling: embedded engines and the `make run` supervisor."""
