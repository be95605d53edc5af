"""What the masterdata service knows about: the catalogs."""
