"""What real-time delivery is built on (a foundation the use cases and the socket share): the
per-user feeds in Redis, the per-process hub that reads them, socket tickets and connection limits."""
