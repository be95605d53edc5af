pytest_plugins = ["dmt_shared.pytest_plugin"]
