"""Alembic migrations (`versions/`), applied by `storage.db.upgrade`.

HEAD is the newest revision. `storage.db` checks it before importing Alembic,
and `storage.scan.quick_compare` before trusting a database with plain sqlite3
or psycopg; a test keeps it equal to Alembic's head.
"""

HEAD = "0008"
