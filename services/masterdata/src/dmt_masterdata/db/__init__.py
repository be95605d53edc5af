"""The masterdata service's table and migrations."""
