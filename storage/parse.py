"""Reading one article file: `parse_article(path) -> ArticleRecord`, pure and picklable.

Every way a file can be wrong ends in `ParseError` with one sentence for the
operator; the caller prefixes the path.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from storage.frontmatter import FrontmatterError, NotAMapping, find_fences, read_fields
from storage.hashing import content_hash
from storage.scan import not_regular
from storage.types import ArticleRecord, FileStat

MAX_FILE_SIZE = 1024 * 1024
# What the database columns hold (storage.models; a test keeps the two equal).
MAX_URL_LENGTH = 2048
MAX_NAME_LENGTH = 255  # a provider domain, a topic
INTEGER_RANGE = range(-(2**31), 2**31)

# Fields the spec names; anything else in the frontmatter is kept in `extra`.
KNOWN_FIELDS = frozenset(
    (
        "category", "title", "excerpt", "publishedDateTime", "webUrl", "ampWebUrl",
        "cdnAmpWebUrl", "type", "quality", "heat", "published", "provider", "topics",
        "images", "related", "secured",
    )
)  # fmt: skip

# A scheme, a plain host (and port), then the path or nothing: a shape that
# urlsplit always reads as an http(s) URL with a host.
_PLAIN_HTTP_URL = re.compile(r"(?i:https?)://[\w.-]+(?::\d+)?(?:[/?#]|$)")


class ParseError(Exception):
    """A file that cannot be indexed; the message names the field and the problem."""


def read_file(path: Path) -> tuple[bytes, FileStat]:
    """The bytes of a regular article file and their stat, refusing files over 1 MiB.

    Opened without blocking and checked before anything is read: a named pipe
    put where the scan saw a file would otherwise hold the run forever.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except FileNotFoundError:
        raise ParseError("file vanished during the scan") from None
    except PermissionError:
        raise ParseError("file is not readable (permission denied)") from None
    except OSError as exc:  # a socket (ENXIO), a symlink loop, an I/O error
        raise ParseError(f"file cannot be opened ({exc.strerror})") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise ParseError("is a directory, not a file")
        if not stat.S_ISREG(st.st_mode):
            raise ParseError(not_regular(st.st_mode, linked=False))
        if st.st_size > MAX_FILE_SIZE:
            raise ParseError(f"file is {st.st_size / MAX_FILE_SIZE:.2f} MiB, over the 1 MiB limit")
        with open(fd, "rb", closefd=False) as fh:
            # One byte more than stat said, to see a file that grew; not MAX_FILE_SIZE + 1,
            # which allocates a 1 MiB buffer for every 2 KB article.
            data = fh.read(st.st_size + 1)
            if len(data) > st.st_size:
                data += fh.read(MAX_FILE_SIZE + 1 - len(data))
    except OSError as exc:
        raise ParseError(f"file cannot be read ({exc.strerror})") from None
    finally:
        os.close(fd)
    if len(data) > MAX_FILE_SIZE:
        raise ParseError("file grew past the 1 MiB limit while it was read")
    return data, FileStat(len(data), st.st_mtime_ns, content_hash(data))


def parse_article(path: Path, source_path: str | None = None) -> ArticleRecord:
    """Read and validate one article file. Raises `ParseError`."""
    data, stat = read_file(path)
    record = parse_bytes(data)
    record.source_path = source_path if source_path is not None else str(path)
    record.size, record.mtime_ns, record.content_hash = stat.size, stat.mtime_ns, stat.content_hash
    return record


def parse_bytes(data: bytes) -> ArticleRecord:
    """Validate the bytes of an article file into a record (without file metadata)."""
    if not data.strip():
        raise ParseError("file is empty")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(
            f"not valid UTF-8 (byte 0x{data[exc.start]:02X} at offset {exc.start})"
        ) from None
    try:
        meta = read_fields(text)
    except NotAMapping as exc:
        raise ParseError(
            f"frontmatter is not a mapping of fields, got {_shown(exc.value)}"
        ) from None
    except FrontmatterError as exc:
        raise ParseError(str(exc)) from None
    except yaml.YAMLError as exc:
        raise ParseError(f"invalid YAML: {_yaml_problem(exc, text)}") from None
    except RecursionError:
        raise ParseError("invalid YAML: values nested too deeply") from None
    except (ValueError, OverflowError) as exc:
        # A number past Python's 4,300 digits, an explicit !!timestamp that is no date.
        if "digits" in str(exc):
            problem = f"a number has more than {sys.get_int_max_str_digits():,} digits"
        else:
            problem = f"a value cannot be read ({str(exc).split(':')[0][:100]})"
        raise ParseError(f"invalid YAML: {problem}") from None
    record = validate_fields(meta)
    if "\\" in text:  # YAML refuses a raw NUL: only an escape (\0, \x00, \u0000) makes one
        _check_text_columns(record)
    return record


def _yaml_problem(exc: yaml.YAMLError, text: str) -> str:
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    if mark is None:
        return problem
    return f"{problem} (line {mark.line + find_fences(text).first_line} of the file)"


def validate_fields(meta: dict[str, Any]) -> ArticleRecord:
    """The record of one article's frontmatter fields, or `ParseError` naming the field."""
    title = meta.get("title")
    if title is None:
        raise ParseError("field title: missing (every article needs a title)")
    if not isinstance(title, str) or not title.strip():
        raise ParseError(f"field title: expected a non-empty string, got {_shown(title)}")
    web_url = _url(meta, "webUrl", required=True)
    assert web_url is not None
    provider = meta.get("provider")
    if provider is not None and not isinstance(provider, dict):
        raise ParseError(
            f"field provider: expected a mapping with name and domain, got {_shown(provider)}"
        )
    provider = provider or {}
    record = ArticleRecord(
        web_url=web_url,
        title=title,
        excerpt=_optional_str(meta, "excerpt") or "",
        amp_web_url=_url(meta, "ampWebUrl"),
        cdn_amp_web_url=_url(meta, "cdnAmpWebUrl"),
        category=_optional_str(meta, "category"),
        type=_optional_str(meta, "type"),
        quality=_integer(meta, "quality"),
        heat=_integer(meta, "heat"),
        published=_boolean(meta, "published"),
        published_at=_timestamp(meta.get("publishedDateTime")),
        provider_name=_optional_str(provider, "name", "provider.name"),
        provider_domain=_domain(provider),
        topics=_topics(meta.get("topics")),
        images=_mappings(meta, "images"),
        related=_mappings(meta, "related"),
        secured=_optional_str(meta, "secured"),
        extra={k: v for k, v in meta.items() if k not in KNOWN_FIELDS},
    )
    return record


def _check_text_columns(record: ArticleRecord) -> None:
    """Refuse NUL in a field stored as text: PostgreSQL cannot hold it, and one such
    row would fail the batch it is written in. JSON columns escape it."""
    for name in _TEXT_FIELDS:
        value = getattr(record, name)
        if value and "\x00" in value:
            raise ParseError(f"field {_TEXT_FIELDS[name]}: holds a NUL character (\\0)")
    if any("\x00" in topic for topic in record.topics):
        raise ParseError("field topics: a topic holds a NUL character (\\0)")


_TEXT_FIELDS = {
    "title": "title", "excerpt": "excerpt", "web_url": "webUrl", "amp_web_url": "ampWebUrl",
    "cdn_amp_web_url": "cdnAmpWebUrl", "category": "category", "type": "type",
    "provider_name": "provider.name", "provider_domain": "provider.domain", "secured": "secured",
}  # fmt: skip


def _domain(provider: dict[str, Any]) -> str | None:
    domain = (_optional_str(provider, "domain", "provider.domain") or "").lower()
    if len(domain) > MAX_NAME_LENGTH:
        raise ParseError(f"field provider.domain: longer than {MAX_NAME_LENGTH} characters")
    return domain or None


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return "a string" if len(value) > 40 else repr(value)
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return repr(value) if isinstance(value, int | float) else type(value).__name__


def _optional_str(meta: dict[str, Any], key: str, name: str | None = None) -> str | None:
    value = meta.get(key)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise ParseError(f"field {name or key}: expected a string, got {_shown(value)}")


def _url(meta: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    value = meta.get(key)
    if value is None or value == "":
        if required:
            raise ParseError(f"field {key}: missing (every article needs its URL)")
        return None
    if not isinstance(value, str):
        raise ParseError(f"field {key}: expected an http(s) URL, got {_shown(value)}")
    url = value.strip()
    if len(url) > MAX_URL_LENGTH:
        raise ParseError(f"field {key}: longer than {MAX_URL_LENGTH:,} characters")
    if _PLAIN_HTTP_URL.match(url):
        return url  # nearly every URL; urlsplit would say the same, three times slower
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[::1/x": an unclosed IPv6 host
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ParseError(f"field {key}: expected an http(s) URL, got {_shown(value)}")
    return url


def _integer(meta: dict[str, Any], key: str) -> int:
    value = meta.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        if not (isinstance(value, float) and value.is_integer()):
            raise ParseError(f"field {key}: expected integer, got {_shown(value)}")
        value = int(value)
    if value not in INTEGER_RANGE:
        shown = value if abs(value) < 10**12 else f"a number of {len(str(abs(value)))} digits"
        raise ParseError(
            f"field {key}: expected an integer from {INTEGER_RANGE.start} to "
            f"{INTEGER_RANGE.stop - 1}, got {shown}"
        )
    return value


def _boolean(meta: dict[str, Any], key: str) -> bool:
    value = meta.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ParseError(f"field {key}: expected true or false, got {_shown(value)}")
    return value


def _timestamp(value: Any) -> datetime | None:
    """ISO 8601 (PyYAML may already have made it a datetime or date), in UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    elif isinstance(value, str):
        moment = _iso_or_yaml_timestamp(value.strip())
    else:
        raise ParseError(
            f"field publishedDateTime: expected an ISO 8601 date and time, got {_shown(value)}"
        )
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is in year 0 in UTC
        raise ParseError(
            "field publishedDateTime: out of range (in UTC it falls outside years 1 to 9999)"
        ) from None


def _iso_or_yaml_timestamp(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    if len(text) > 64:  # no timestamp is this long: spare the YAML parser the rest
        raise ParseError(
            "field publishedDateTime: expected an ISO 8601 date and time, got a string"
        )
    # YAML's own timestamp forms that ISO parsing refuses ("2026-11-25 19:40:00 -5").
    try:
        value = yaml.load(text, Loader=yaml.CSafeLoader)
    except yaml.YAMLError:
        value = None
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time())
    raise ParseError(
        f"field publishedDateTime: expected an ISO 8601 date and time, got {_shown(text)}"
    )


def _topics(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        raise ParseError("field topics: expected a list of strings, got a string")
    if not isinstance(value, list):
        raise ParseError(f"field topics: expected a list of strings, got {_shown(value)}")
    topics: list[str] = []
    seen: set[str] = set()
    for item in value:
        if isinstance(item, int | float) and not isinstance(item, bool):
            item = str(item)  # an unquoted topic like 5G or 3D is still a name
        if not isinstance(item, str):
            raise ParseError(f"field topics: expected a list of strings, found {_shown(item)}")
        name = item.strip()
        key = topic_key(name)
        if len(name) > MAX_NAME_LENGTH or len(key) > MAX_NAME_LENGTH:
            raise ParseError(f"field topics: a topic is longer than {MAX_NAME_LENGTH} characters")
        if name and key not in seen:
            seen.add(key)
            topics.append(name)
    return topics


def _mappings(meta: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = meta.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ParseError(f"field {key}: expected a list of mappings, got {_shown(value)}")
    return value


def topic_key(name: str) -> str:
    """The case-insensitive key of a topic; casefold handles more than ASCII."""
    return " ".join(name.casefold().split())


def json_default(value: Any) -> Any:
    """For json.dumps: the few YAML values JSON has no form for (explicit dates, binary, sets)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)
