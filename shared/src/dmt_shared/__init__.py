"""Code every DMT component shares: settings, database engines, tokens, errors, HTTP, contracts."""
