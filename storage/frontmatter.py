"""An article file's YAML frontmatter: where it is, and how it is read.

One rule for the indexer (`storage.parse`) and the write-back
(`storage.writeback`): the frontmatter sits between a first line of three or
more dashes and the next such line (trailing spaces, tabs and a carriage return
allowed); blank lines before the first are skipped, as python-frontmatter does.

The indexer reads files through python-frontmatter's extension point:
`ArticleHandler` is a `YAMLHandler` whose `split` refuses a missing or unclosed
block (the stock one lets both through silently) and whose `load` is
`load_yaml`, PyYAML's C loader with a fast path and guards against documents
that aliases blow up.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

import frontmatter
import yaml

# How many values YAML aliases may expand a frontmatter to (an article has ~50).
MAX_VALUES = 100_000
# How many bytes of text they may expand it to. A 1 MiB file without aliases
# stays under it (escapes such as \L at most add half), so only aliases reach it.
MAX_EXPANDED_BYTES = 2 * 1024 * 1024

_FENCE = re.compile(r"-{3,}[ \t]*\r?$", re.MULTILINE)
_BLANK = re.compile(r"\s*")


class FrontmatterError(Exception):
    """The file has no frontmatter block, or an unclosed one; the message says which.

    Not a ValueError: `frontmatter.parse` takes a ValueError from `split` to mean
    "no frontmatter here" and returns the text as it is.
    """


class NotAMapping(FrontmatterError):
    """The frontmatter is YAML, but not a mapping of fields (`value` is what it is)."""

    def __init__(self, value: Any) -> None:
        super().__init__("frontmatter is not a mapping of fields")
        self.value = value


class Fences(NamedTuple):
    """Where the frontmatter is in a file's text.

    `text[start:end]` is the YAML: from the line after the opening fence to the
    start of the closing fence's line. `body` is where the Markdown begins,
    `newline` the opening line's ending, `first_line` the file's line number of
    the YAML's first line (for error messages).
    """

    start: int
    end: int
    body: int
    newline: str
    first_line: int


def find_fences(text: str) -> Fences:
    """The frontmatter's place in `text`, or `FrontmatterError`."""
    lead = 0 if text[:1] == "-" else _BLANK.match(text).end()  # type: ignore[union-attr]
    opening = _FENCE.match(text, lead)
    if opening is None:
        raise FrontmatterError("no YAML frontmatter (the file must start with a '---' line)")
    newline = "\r\n" if text.endswith("\r", opening.start(), opening.end()) else "\n"
    start = opening.end() + 1  # past the "\n"
    line_start = opening.end()
    # str.find skips to the lines that start with a dash; the regex only confirms them.
    while line_start := text.find("\n-", line_start) + 1:
        closing = _FENCE.match(text, line_start)
        if closing is not None:
            end = closing.start()
            return Fences(
                start if start < end else end,
                end,
                closing.end() + 1,
                newline,
                text.count("\n", 0, lead) + 2 if lead else 2,
            )
    raise FrontmatterError("frontmatter is not closed (no second '---' line)")


class ArticleHandler(frontmatter.YAMLHandler):
    """python-frontmatter's YAML handler with our fences and our loader."""

    def split(self, text: str) -> tuple[str, str]:
        fences = find_fences(text)
        return text[fences.start : fences.end], text[fences.body :]

    def load(self, fm: str, **kwargs: object) -> dict[str, Any]:
        meta = load_yaml(fm)
        if meta is None:
            return {}
        if not isinstance(meta, dict):
            raise NotAMapping(meta)
        return meta


ARTICLES = ArticleHandler()


def read_fields(text: str) -> dict[str, Any]:
    """The frontmatter fields of an article's text (BOM already removed).

    Raises `FrontmatterError`, or PyYAML's `YAMLError` whose marks count lines
    from the YAML's first line (`find_fences(text).first_line`).
    """
    fields, _body = frontmatter.parse(text, handler=ARTICLES)
    return fields


# --- the loader -----------------------------------------------------------------

_STR, _INT, _BOOL, _NULL, _SEQ, _MAP = (
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "bool", "null", "seq", "map")
)
_KEY_TAGS = frozenset((_STR, _INT, _BOOL, _NULL))
_BOOL_VALUES = yaml.constructor.SafeConstructor.bool_values
_RESOLVED: dict[str, str] = {}  # plain scalar -> tag, for the short values files repeat


class _Unusual(Exception):
    """The document needs PyYAML's full constructor (see `_Loader.construct_document`)."""


class _Loader(yaml.CSafeLoader):
    """PyYAML's C safe loader without the timestamp resolver, with a fast path.

    Dates stay the strings the file holds: the indexer parses the one field
    that is a date, and everything else (related items, unknown fields) is kept
    as written and goes to JSON without a conversion pass.

    libyaml scans and composes, but tag resolution and construction run in
    Python, half of every parse (BENCHMARKS.md). Article frontmatter is
    mappings, lists, strings, plain integers, booleans and nulls, so `_build`
    makes those directly; any other document (a float, an explicit tag, a merge
    key) goes through SafeConstructor unchanged. A test holds the two to the
    same result.
    """

    # Whether the text may hold an alias (`*name`); `load_yaml` looks. Without
    # one, no value is repeated, and the expanded size is the file's own.
    aliased = True

    def resolve(self, kind: type, value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode:
            if not implicit[0]:
                return _STR  # quoted: always a string
            tag = _RESOLVED.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(value) <= 32 and len(_RESOLVED) < 4096:
                    _RESOLVED[value] = tag
            return tag
        return super().resolve(kind, value, implicit)

    def construct_document(self, node: yaml.Node) -> Any:
        _check_nodes(node, set(), [MAX_VALUES])
        if self.aliased:
            _check_expanded_size(node, {})
        try:
            return _build(node)
        except _Unusual:
            return super().construct_document(node)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.CSafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml(text: str) -> Any:
    """YAML as the indexer reads it: PyYAML's safe loader, with dates left as strings.

    Refuses (with a `ConstructorError`) a document that contains itself, or
    that aliases expand past MAX_VALUES values or MAX_EXPANDED_BYTES of text.
    """
    loader = _Loader(text)  # what yaml.load does, with one attribute set
    loader.aliased = "*" in text
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _check_nodes(node: yaml.Node, active: set[int], budget: list[int]) -> None:
    """Refuse a document that contains itself or that aliases blow up to many values.

    Either would stop a whole run later, when the fields are turned into JSON.
    """
    if node.__class__ is yaml.ScalarNode:
        return
    if id(node) in active:
        raise yaml.constructor.ConstructorError(
            problem="found an alias inside the value it names, which cannot be stored",
            problem_mark=node.start_mark,
        )
    budget[0] -= len(node.value)
    if budget[0] < 0:
        raise yaml.constructor.ConstructorError(
            problem=f"aliases expand the frontmatter past {MAX_VALUES:,} values",
            problem_mark=node.start_mark,
        )
    active.add(id(node))
    for child in node.value:
        if child.__class__ is tuple:  # a mapping's (key, value)
            _check_nodes(child[0], active, budget)
            _check_nodes(child[1], active, budget)
        else:
            _check_nodes(child, active, budget)
    active.discard(id(node))


def _check_expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """The bytes of text in `node` with every alias expanded; refuses past 2 MiB.

    A 100 KB file can name one long string a thousand times: stored, that is
    94 MB, and every search that shows the article reads it. Each node is sized
    once (`sizes`, by id), so this costs the nodes, not their expansion; the
    caller has refused a node that contains itself.
    """
    if node.__class__ is yaml.ScalarNode:
        value = node.value
        return len(value) if value.isascii() else len(value.encode("utf-8", "replace"))
    size = sizes.get(id(node))
    if size is None:
        size = 0
        for child in node.value:
            if child.__class__ is tuple:  # a mapping's (key, value)
                size += _check_expanded_size(child[0], sizes)
                size += _check_expanded_size(child[1], sizes)
            else:
                size += _check_expanded_size(child, sizes)
        if size > MAX_EXPANDED_BYTES:
            raise yaml.constructor.ConstructorError(
                problem=f"aliases expand the frontmatter past {MAX_EXPANDED_BYTES >> 20} MiB",
                problem_mark=node.start_mark,
            )
        sizes[id(node)] = size
    return size


def _build(node: yaml.Node) -> Any:
    """The value SafeConstructor makes of a checked node, or `_Unusual`."""
    kind, tag = node.__class__, node.tag
    if kind is yaml.ScalarNode:
        value = node.value
        if tag == _STR:
            return value
        if tag == _INT and value.isdecimal() and value.isascii():
            if value[0] != "0" or value == "0":  # 017 is octal in YAML 1.1
                return int(value)
            raise _Unusual  # as are -3, 0x1F, 1_000 and 1:30
        if tag == _BOOL:
            return _BOOL_VALUES[value.lower()]
        if tag == _NULL:
            return None
        raise _Unusual
    if kind is yaml.MappingNode and tag == _MAP:
        result = {}
        for key_node, value_node in node.value:
            if key_node.__class__ is not yaml.ScalarNode or key_node.tag not in _KEY_TAGS:
                raise _Unusual  # merge keys, `=` keys and unhashable keys
            result[_build(key_node)] = _build(value_node)
        return result
    if kind is yaml.SequenceNode and tag == _SEQ:
        return [_build(item) for item in node.value]
    raise _Unusual
