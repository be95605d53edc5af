"""Alembic migrations of the masterdata service."""
