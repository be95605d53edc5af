"""Routing every public path to the service that owns it, streaming both ways."""
