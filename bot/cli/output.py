"""What the command line prints: article text is data, never markup or terminal control.

In a table, "[/b]" would crash rich and "[link=...]" would become a live
hyperlink; ESC starts colours, OSC 8 links and title changes, CR and backspace
overwrite what was printed. So every cell is plain text with line breaks folded
and control characters and bidi overrides dropped; JSON lines stay exact, with
those characters escaped.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from typing import Any

_LINE_BREAKS = re.compile("[\t\n\v\f\r\x1c-\x1f\x85\u2028\u2029]+")
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SURROGATES = re.compile("[\ud800-\udfff]")
# json.dumps escapes C0 itself, not DEL, C1, bidi overrides, the Unicode line
# separators or lone surrogates.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def printable(value: str) -> str:
    """`value` as one printable line: line breaks folded to a space, other controls dropped."""
    value = _LINE_BREAKS.sub(" ", value)
    return _SURROGATES.sub("\ufffd", _UNPRINTABLE.sub("", value))


def json_line(value: Any, *, indent: int | None = None) -> str:
    """JSON (one line unless `indent`) that decodes to exactly `value` and prints no
    control character raw."""
    text = json.dumps(value, ensure_ascii=False, indent=indent)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A plain table on stdout: no styles, so the only escapes rich writes are its own."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    grid = Table(*headers, show_lines=False, highlight=False, header_style="")
    for row in rows:
        grid.add_row(*(Text(printable(cell)) for cell in row))
    # Piped output is for grep and friends: one row per line, never wrapped.
    console = Console(
        width=None if sys.stdout.isatty() else 1000, markup=False, emoji=False, highlight=False
    )
    console.print(grid)
