"""What the gateway does, one folder per concern: proxying, record labels, API documents."""
