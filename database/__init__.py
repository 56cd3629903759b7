"""Storage: SQLAlchemy 2 models, sessions, queries and the Alembic migrations."""
