"""Alembic migrations of poise's store (run by :func:`poise.store.upgrade`)."""
