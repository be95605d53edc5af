"""Record reads with labels: catalog entries and users resolved in one batch per service."""
