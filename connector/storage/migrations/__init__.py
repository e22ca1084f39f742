"""Alembic migrations of the connector's database (run by `connector.storage.open_database`)."""
