"""What callers need to know about the database without importing SQLAlchemy."""

import re

_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@/\s]*@")

# The newest migration. `storage.db` checks it before importing Alembic, and
# `storage.scan.quick_compare` before trusting a database with plain sqlite3.
# A test keeps it equal to Alembic's head.
HEAD = "0005"


class DatabaseError(Exception):
    """The database cannot be used; the message is one sentence for the operator."""


def redacted(url: str) -> str:
    """The URL with any password as ***, for messages and logs (even when unparseable)."""
    return _PASSWORD.sub(r"\1***@", url)
