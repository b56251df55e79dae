import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.parse import MAX_FILE_SIZE, ParseError, parse_article, parse_bytes
from tests.depth import depth

VALID = """---
category: news
title: "Harbor City Tests AI Cameras"
excerpt: "A pilot on twelve corners."
publishedDateTime: 2026-11-25T19:40:00Z
webUrl: "https://example.com/story/1"
heat: 57
quality: 48
published: false

provider:
  name: Example Times
  domain: Example.com

topics:
  - AI
  - Computer Vision

secured: "abc=="
---
"""


def parse(text: str) -> object:
    return parse_bytes(text.encode())


def test_valid_article_is_normalised():
    record = parse(VALID)
    assert record.title == "Harbor City Tests AI Cameras"
    assert record.web_url == "https://example.com/story/1"
    assert record.published_at == datetime(2026, 11, 25, 19, 40, tzinfo=UTC)
    assert record.topics == ["AI", "Computer Vision"]
    assert record.provider_domain == "example.com"
    assert (record.heat, record.quality, record.published) == (57, 48, False)
    assert record.secured == "abc=="


def test_examples_all_parse():
    paths = sorted(Path(__file__).resolve().parents[2].glob("examples/articles/**/*.md"))
    assert len(paths) == 5
    for path in paths:
        assert parse_article(path).title


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda t: t.replace("heat: 57", 'heat: "hot"'), "field heat: expected integer, got 'hot'"),
        (lambda t: t.replace("heat: 57", "heat: true"), "field heat: expected integer"),
        (
            lambda t: t.replace('title: "Harbor City Tests AI Cameras"\n', ""),
            "field title: missing",
        ),
        (lambda t: t.replace('title: "Harbor City Tests AI Cameras"', 'title: ""'), "field title"),
        (
            lambda t: t.replace('webUrl: "https://example.com/story/1"\n', ""),
            "field webUrl: missing",
        ),
        (lambda t: t.replace("https://example.com/story/1", "ftp://x/1"), "field webUrl"),
        (
            lambda t: t.replace("https://example.com/story/1", "http://[::1/story"),
            "field webUrl: expected an http(s) URL, got 'http://[::1/story'",
        ),
        (lambda t: t.replace("https://example.com/story/1", "https:///story"), "field webUrl"),
        (
            lambda t: t.replace("  - AI\n  - Computer Vision\n", "").replace(
                "topics:", "topics: AI, X"
            ),
            "field topics: expected a list of strings, got a string",
        ),
        (lambda t: t.replace("published: false", "published: maybe"), "field published"),
        (lambda t: t.replace("2026-11-25T19:40:00Z", '"last tuesday"'), "field publishedDateTime"),
        (lambda t: t.replace('title: "Harbor', 'title: ["Harbor', 1), "invalid YAML"),
        (lambda t: t.rstrip("-\n") + "\n", "frontmatter is not closed"),
        (lambda t: t.replace("---\n", "", 1), "no YAML frontmatter"),
        (lambda t: "---\n- a\n- b\n---\n", "frontmatter is not a mapping"),
        (
            lambda t: t.replace("secured:", "notes: &n [*n]\nsecured:"),
            "invalid YAML: found an alias inside the value it names, which cannot be stored"
            " (line 19 of the file)",
        ),
        (
            lambda t: t.replace("title:", "deep: " + "[" * 990 + "]" * 990 + "\ntitle:"),
            "invalid YAML:",
        ),
        (
            lambda t: t.replace("quality: 48", "quality: 48\n  bad: 1"),
            "invalid YAML: mapping values are not allowed in this context (line 9 of the file)",
        ),
    ],
)
def test_bad_input_names_the_problem(change, reason):
    with pytest.raises(ParseError) as err:
        parse(change(VALID))
    assert reason in str(err.value)


def test_empty_and_non_utf8_and_oversize(tmp_path):
    with pytest.raises(ParseError, match="file is empty"):
        parse_bytes(b"")
    with pytest.raises(ParseError, match="not valid UTF-8"):
        parse_bytes(VALID.replace("Harbor", "H\xe9rbor").encode("latin-1"))
    big = tmp_path / "big.md"
    big.write_text(VALID + "x" * MAX_FILE_SIZE)
    with pytest.raises(ParseError, match="over the 1 MiB limit"):
        parse_article(big)
    with pytest.raises(ParseError, match="vanished"):
        parse_article(tmp_path / "gone.md")


def test_bom_crlf_and_offset_timezone_are_accepted():
    text = "\ufeff" + VALID.replace("\n", "\r\n").replace("19:40:00Z", "21:40:00+02:00")
    record = parse_bytes(text.encode())
    assert record.published_at == datetime(2026, 11, 25, 19, 40, tzinfo=UTC)
    assert record.topics == ["AI", "Computer Vision"]


@pytest.mark.parametrize(
    "value",
    [
        '"2026-11-25T19:40:00Z"',
        "'2026-11-25T20:40:00+01:00'",
        "2026-11-25 19:40:00",
        "2026-11-25 14:40:00 -5",  # YAML's own timestamp form
    ],
)
def test_quoted_and_spaced_dates_are_stored_in_utc(value):
    record = parse(VALID.replace("2026-11-25T19:40:00Z", value))
    assert record.published_at == datetime(2026, 11, 25, 19, 40, tzinfo=UTC)


def test_large_but_valid_values_are_kept():
    topics = "".join(f"  - Topic {i}\n" for i in range(60))
    text = VALID.replace("  - AI\n  - Computer Vision\n", topics)
    text = text.replace("A pilot on twelve corners.", "word " * 800)
    text = text.replace("Harbor City Tests AI Cameras", "<b> & <!channel> > breaking")
    record = parse(text)
    assert len(record.topics) == 60
    assert len(record.excerpt) == 4000
    assert record.title == "<b> & <!channel> > breaking"


def test_topics_are_deduplicated_case_insensitively_and_numbers_kept():
    record = parse(VALID.replace("  - Computer Vision\n", "  - ai\n  - 5G\n"))
    assert record.topics == ["AI", "5G"]


def test_unknown_fields_and_odd_images_are_kept():
    text = VALID.replace(
        "secured:",
        "language: de\nwordCount: 812\nimages:\n  - url: javascript:alert(1)\n"
        "    title: evil\n\nsecured:",
    )
    record = parse(text)
    assert record.extra == {"language": "de", "wordCount": 812}
    assert record.images == [{"url": "javascript:alert(1)", "title": "evil"}]


def test_every_malformed_kind_from_the_corpus_is_refused(tmp_path, make_articles):
    make_articles([str(tmp_path), "--count", "5", "--bad", "10"])
    listed = [
        line.split("\t")
        for line in (tmp_path / "BAD_FILES.txt").read_text().splitlines()
        if not line.startswith("#")
    ]
    assert len(listed) == 10
    for rel, kind, _expected in listed:
        if kind == "duplicate-weburl":
            continue  # valid on its own; the indexer refuses it (test_sync)
        with pytest.raises(ParseError) as err:
            parse_article(tmp_path / rel)
        assert str(err.value), kind


def urlsplit_says_http(url: str) -> bool:
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


HOST_PIECES = ["x", "-", ".", "[", "]", "::1", "@", "é", "_", ":", "8080", " ", "%20", "/"]


@settings(max_examples=depth(1000))
@given(
    url=st.tuples(
        st.sampled_from(["", " ", "http", "https", "HTTP", "ftp", "javascript"]),
        st.sampled_from(["://", ":/", "//", ":", ""]),
        st.lists(st.sampled_from(HOST_PIECES), max_size=6).map("".join),
        st.sampled_from(["", "/", "/story 1", "?q=1", "#top", ":80/x"]),
    ).map("".join)
)
def test_web_urls_are_accepted_exactly_when_urlsplit_reads_http(url):
    text = VALID.replace('"https://example.com/story/1"', json.dumps(url))
    try:
        accepted = parse(text).web_url == url.strip()
    except ParseError as exc:
        assert "webUrl" in str(exc)
        accepted = False
    assert accepted == urlsplit_says_http(url)


def test_the_parser_refuses_what_the_columns_cannot_hold():
    """The limits the parser checks are the models' own column sizes."""
    from storage.models import Article, Topic
    from storage.parse import INTEGER_RANGE, MAX_NAME_LENGTH, MAX_URL_LENGTH

    columns = Article.__table__.columns
    assert columns["web_url"].type.length == columns["amp_web_url"].type.length == MAX_URL_LENGTH
    assert columns["provider_domain"].type.length == MAX_NAME_LENGTH
    assert Topic.__table__.columns["key"].type.length == MAX_NAME_LENGTH
    assert Topic.__table__.columns["name"].type.length == MAX_NAME_LENGTH
    assert (
        type(columns["heat"].type).__name__ == type(columns["quality"].type).__name__ == "Integer"
    )
    assert (INTEGER_RANGE.start, INTEGER_RANGE.stop) == (-(2**31), 2**31)  # SQL INTEGER
    url = "https://x.example/" + "a" * (MAX_URL_LENGTH - len("https://x.example/"))
    assert parse(VALID.replace("https://example.com/story/1", url)).web_url == url
    with pytest.raises(ParseError, match="field webUrl: longer than 2,048 characters"):
        parse(VALID.replace("https://example.com/story/1", url + "a"))
    assert parse(VALID.replace("heat: 57", f"heat: {2**31 - 1}")).heat == 2**31 - 1
    with pytest.raises(ParseError, match="field heat: expected an integer from"):
        parse(VALID.replace("heat: 57", f"heat: {2**31}"))
