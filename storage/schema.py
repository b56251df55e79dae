"""What callers need to know about the database without importing SQLAlchemy."""

# The newest migration. `storage.db` checks it before importing Alembic, and
# `storage.scan.quick_compare` before trusting a database with plain sqlite3.
# A test keeps it equal to Alembic's head.
HEAD = "0003"


class DatabaseError(Exception):
    """The database cannot be used; the message is one sentence for the operator."""
