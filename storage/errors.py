"""The storage layer's errors for the operator, importable without SQLAlchemy."""

import re

_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@/\s]*@")


class DatabaseError(Exception):
    """The database cannot be used; the message is one sentence for the operator."""


def redacted(url: str) -> str:
    """The URL with any password as ***, for messages and logs (even when unparseable)."""
    return _PASSWORD.sub(r"\1***@", url)
