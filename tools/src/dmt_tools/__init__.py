"""Tools for whoever runs a DMT installation: ``python -m dmt_tools --help``."""
