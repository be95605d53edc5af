"""The records service's tables and migrations."""
