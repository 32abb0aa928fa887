pytest_plugins = ["mcm_shared.testing.plugin"]
