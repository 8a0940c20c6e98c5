"""Persistence: a storage port with SQLite (embedded default) and PostgreSQL adapters."""
