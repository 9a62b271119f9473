"""Alembic migrations of the tracking database (one revision per schema change)."""
