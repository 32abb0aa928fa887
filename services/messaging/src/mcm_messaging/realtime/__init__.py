"""Real-time delivery: tickets, the WebSocket endpoint, the per-process hub reading the feeds."""
