"""storage.frontmatter: one rule for where the frontmatter is, and a loader that must agree
with PyYAML's safe loader while building plain documents itself."""

from pathlib import Path

import frontmatter
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.frontmatter import ARTICLES, FrontmatterError, find_fences, load_yaml, read_fields
from storage.parse import ParseError, parse_bytes
from storage.writeback import WriteBackError, set_published
from tests.depth import depth

# --- the fences ------------------------------------------------------------------

FENCED = [
    ("---\ntitle: a\n---\nbody\n", "title: a\n", "body\n", "\n"),
    ("---\r\ntitle: a\r\n---\r\nbody", "title: a\r\n", "body", "\r\n"),
    ("----  \ntitle: a\n--- \t\n", "title: a\n", "", "\n"),
    ("---\n---\n", "", "", "\n"),
    ("---\ntitle: a\n---", "title: a\n", "", "\n"),
    # A Markdown rule in the body is not a fence; neither is a dash line inside a value.
    (
        "---\ntitle: a\nlist:\n- x\n--- \nrule:\n\n---\n",
        "title: a\nlist:\n- x\n",
        "rule:\n\n---\n",
        "\n",
    ),
]


@pytest.mark.parametrize(("text", "yaml_text", "body", "newline"), FENCED)
def test_fences(text: str, yaml_text: str, body: str, newline: str) -> None:
    fences = find_fences(text)
    assert text[fences.start : fences.end] == yaml_text
    assert text[fences.body :] == body
    assert fences.newline == newline
    assert fences.first_line == 2


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("title: a\n---\n", "no YAML frontmatter"),
        ("-- \ntitle: a\n---\n", "no YAML frontmatter"),
        ("---\ntitle: a\n", "frontmatter is not closed"),
        ("---", "frontmatter is not closed"),
        ("---\ntitle: a\n--\n", "frontmatter is not closed"),
    ],
)
def test_missing_or_unclosed_frontmatter_is_refused_by_indexer_and_write_back(
    tmp_path: Path, text: str, reason: str
) -> None:
    with pytest.raises(FrontmatterError, match=reason):
        find_fences(text)
    with pytest.raises(ParseError, match=reason):
        parse_bytes(text.encode())
    path = tmp_path / "a.md"
    path.write_text(text)
    with pytest.raises(WriteBackError, match=reason):
        set_published(path, True)


def test_python_frontmatter_runs_our_handler() -> None:
    # The stock handler takes an unclosed block for "no frontmatter" without a word.
    assert frontmatter.parse("---\ntitle: a\n")[0] == {}
    with pytest.raises(FrontmatterError):
        frontmatter.parse("---\ntitle: a\n", handler=ARTICLES)
    assert read_fields("---\ntitle: a\nheat: 7\n---\nbody") == {"title": "a", "heat": 7}


def test_blank_lines_before_the_opening_fence_are_one_rule_for_both(tmp_path: Path) -> None:
    text = "\n\n---\ntitle: A\nwebUrl: https://x.example/a\npublished: false\n---\nbody\n"
    assert find_fences(text).first_line == 4
    assert parse_bytes(text.encode()).title == "A"
    path = tmp_path / "a.md"
    path.write_text(text)
    set_published(path, True)
    assert path.read_text() == text.replace("published: false", "published: true")
    with pytest.raises(ParseError, match=r"\(line 5 of the file\)"):
        parse_bytes(b"\n\n---\ntitle: A\n  bad: [\n---\n")


# --- the loader ------------------------------------------------------------------


class Reference(yaml.CSafeLoader):
    """PyYAML's own safe loader, with dates kept as strings as the indexer keeps them."""


Reference.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.CSafeLoader.yaml_implicit_resolvers.items()
}


def reference(text: str) -> object:
    return yaml.load(text, Loader=Reference)


def outcome(load, text: str) -> tuple[str, object]:
    try:
        return "value", load(text)
    except yaml.YAMLError as exc:
        return "error", f"{type(exc).__name__}: {getattr(exc, 'problem', exc)}"


# Scalars that YAML 1.1 resolves to something other than a string, or almost does.
TRICKY_SCALARS = [
    "0", "00", "017", "-17", "+17", "0x1F", "0b101", "1_000", "1:30", "190:20:30", "٣",
    "1.5", "-.5", ".inf", "-.Inf", ".nan", "1e3", "6.8523015e+5",
    "yes", "No", "ON", "off", "True", "FALSE", "y", "n", "~", "null", "Null", "NULL", "",
    "2026-11-25", "2026-11-25T19:40:00Z", "2026-11-25 19:40:00 -5", "<<", "=",
    "'quoted 12'", '"0x1F"', '"yes"', "plain text", "héllo", "12 monkeys",
]  # fmt: skip

DOCUMENTS = [
    *(f"value: {scalar}\n" for scalar in TRICKY_SCALARS),
    *(f"{scalar}: value\n" for scalar in TRICKY_SCALARS if scalar),
    "list:\n" + "".join(f"  - {scalar}\n" for scalar in TRICKY_SCALARS if scalar),
    # Anchors, aliases, merge keys and the value key.
    "base: &b {a: 1, b: 2}\nother: *b\n",
    "base: &b {a: 1}\nmerged:\n  <<: *b\n  c: 3\n",
    "one: &o {a: 1}\ntwo: &t {b: 2}\nmerged:\n  <<: [*o, *t]\n  a: 9\n",
    "broken:\n  <<: 3\n",
    "broken:\n  <<: [3]\n",
    "v:\n  =: 7\n  other: 1\n",
    # Explicit tags, sets, ordered maps, pairs, binary.
    "n: !!str 123\nm: !!int '42'\nf: !!float '1'\nb: !!bool 'yes'\n",
    "s: !!set {a, b}\n",
    "o: !!omap [a: 1, b: 2]\n",
    "p: !!pairs [a: 1, a: 2]\n",
    "bin: !!binary aGVsbG8=\n",
    "ts: !!timestamp 2026-11-25\n",
    "custom: !thing value\n",
    "key: !!null ''\n",
    # Keys that are not strings, or cannot be keys at all.
    "1: one\ntrue: two\n~: three\n1.5: four\n",
    "? [a, b]\n: list key\n",
    "? {a: 1}\n: map key\n",
    # Flow style, nesting, block scalars, duplicates and empties.
    "{title: x, topics: [AI, 5G, 3D], provider: {name: P, domain: p.example}}\n",
    "related:\n  - title: a\n    webUrl: https://a.example\n  - {title: b, heat: 3}\n",
    "text: |\n  line one\n  line two\nfolded: >\n  joined\n  words\n",
    "dup: 1\ndup: 2\n",
    "",
    "# only a comment\n",
    "- a\n- b\n",
    "just a string\n",
    "empty_list: []\nempty_map: {}\nnothing:\n",
]


@pytest.mark.parametrize("text", DOCUMENTS)
def test_agrees_with_pyyaml_on_tricky_documents(text):
    assert outcome(load_yaml, text) == outcome(reference, text)


def test_agrees_with_pyyaml_on_every_example_and_generated_article(make_articles, tmp_path):
    make_articles([str(tmp_path), "--count", "300", "--bad", "20"])
    paths = [*Path(__file__).resolve().parents[2].glob("examples/articles/**/*.md")]
    paths += tmp_path.glob("**/*.md")
    checked = 0
    for path in paths:
        parts = path.read_bytes().decode("utf-8-sig", "replace").split("\n---", 1)
        if not parts[0].startswith("---"):
            continue
        text = parts[0].split("\n", 1)[-1]
        assert outcome(load_yaml, text) == outcome(reference, text), path
        checked += 1
    assert checked >= 300


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("loop: &l [*l]\n", "found an alias inside the value it names"),
        ("loop: &l {self: *l}\n", "found an alias inside the value it names"),
        ("base: &b {a: 1}\nloop: &l\n  <<: *b\n  self: *l\n", "found an alias inside"),
        (
            "l0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
            + "".join(f"l{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9)),
            "aliases expand the frontmatter past 100,000 values",
        ),
    ],
)
def test_refuses_what_json_cannot_hold(text, problem):
    """PyYAML builds these (sharing objects); as JSON they never end."""
    with pytest.raises(yaml.constructor.ConstructorError, match=problem):
        load_yaml(text)


def test_aliases_within_the_limit_are_expanded():
    value = load_yaml("base: &b {a: 1}\none: *b\ntwo: *b\n")
    assert value == {"base": {"a": 1}, "one": {"a": 1}, "two": {"a": 1}}


plain_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(TRICKY_SCALARS),
)
values = st.recursive(
    plain_scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=10) | st.integers(), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=depth(300))
@given(value=values, flow=st.sampled_from([None, True, False]))
def test_agrees_with_pyyaml_on_generated_documents(value, flow):
    text = yaml.safe_dump(value, default_flow_style=flow, allow_unicode=True)
    assert outcome(load_yaml, text) == outcome(reference, text)
