"""The content fingerprint shared by the indexer and the write-back."""

import hashlib


def content_hash(data: bytes) -> str:
    """Hex SHA-256 of a file's bytes: the article's fingerprint."""
    return hashlib.sha256(data).hexdigest()
