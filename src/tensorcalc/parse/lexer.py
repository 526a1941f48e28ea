"""Tokenizer for the expression language; every token keeps its position for caret errors."""

from __future__ import annotations

import re
from typing import NamedTuple

from ..errors import ParseError


class Token(NamedTuple):
    kind: str  # NUM NAME STR OP END
    text: str
    pos: int


_TOKEN = re.compile(
    r"""(?P<ws>\s+)
    |(?P<EW>\.\*|\./|\.\^)
    |(?P<NUM>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    |(?P<NAME>[A-Za-z_][A-Za-z_0-9]*)
    |(?P<STR>"[^"]*")
    |(?P<OP>\*\*|\.T\b|[-+*/@^'(),=\[\]:])""",
    re.VERBOSE,
)


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, ending with an ``END`` token."""
    if not isinstance(text, str):
        raise TypeError("expression must be a string")
    out = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ParseError(f"unexpected character {text[pos]!r}", text, pos)
        if m.lastgroup == "EW":  # MATLAB-style elementwise spellings: .* ./ .^
            out.append(Token("OP", m.group()[1], pos))
        elif m.lastgroup != "ws":
            out.append(Token(m.lastgroup, m.group(), pos))
        pos = m.end()
    out.append(Token("END", "", len(text)))
    return out
