"""DMT masterdata service: the eleven catalogs that records point to."""
