pytest_plugins = ["mcm_testing.plugin"]
