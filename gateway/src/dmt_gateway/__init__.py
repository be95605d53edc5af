"""DMT gateway: the one public entry point of the Defect Management & Tracking system."""

__version__ = "0.1.0"
