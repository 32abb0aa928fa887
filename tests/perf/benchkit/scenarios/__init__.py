"""One module per scenario; each exposes `run(ctx, result)` filling a ScenarioResult."""
