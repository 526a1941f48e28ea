"""Tokenizer for the expression language; every token keeps its position for caret errors.

**Names** are Unicode identifiers (``x``, ``θ``, ``x_1``), normalised with NFKC as Python does
with its own identifiers, so ``ｘ`` (full width) is ``x`` and ``ﬁ`` is ``fi``.  Two different
spellings of one normalised name in the same text are a ``ParseError`` (they would otherwise
silently be one variable).  A character that cannot continue a name ends it, so ``x²`` is the
name ``x`` followed by an unexpected ``²`` (write ``x^2``).

**Numbers** are ASCII decimal literals; one that overflows float64 (``1e309``) is a
``ParseError``, never a silent ``inf``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import NamedTuple

from ..errors import ParseError


class Token(NamedTuple):
    kind: str  # NUM NAME STR OP END
    text: str  # for NAME, the NFKC-normalised name
    pos: int


_TOKEN = re.compile(
    r"""(?P<ws>\s+)
    |(?P<EW>\.\*|\./|\.\^)
    |(?P<NUM>(?:[0-9]+(?:\.(?![*/^])[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
    |(?P<STR>"[^"]*")
    |(?P<OP>\*\*|\.T(?!\w)|[-+*/@^'(),=\[\]:])""",
    re.VERBOSE,
)


def normalize_name(raw: str) -> str:
    """The NFKC form of an identifier, the form Python itself compares names in.

    >>> normalize_name("ﬁ"), normalize_name("ｘ")
    ('fi', 'x')
    """
    return unicodedata.normalize("NFKC", raw)


def _name_end(text: str, pos: int) -> int:
    """End of the identifier starting at ``pos`` (``pos`` itself if none starts there)."""
    if not text[pos].isidentifier():
        return pos
    end = pos + 1
    while end < len(text) and ("_" + text[end]).isidentifier():
        end += 1
    return end


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, ending with an ``END`` token.

    >>> [t.text for t in tokenize("ｘ' @ A")]
    ['x', "'", '@', 'A', '']
    """
    if not isinstance(text, str):
        raise TypeError("expression must be a string")
    out = []
    spelling = {}  # normalised name -> (first spelling, its position)
    pos = 0
    while pos < len(text):
        end = _name_end(text, pos)
        if end > pos:
            raw = text[pos:end]
            name = normalize_name(raw)
            if not name.isidentifier():
                raise ParseError(f"{raw!r} is not a valid name", text, pos)
            first, at = spelling.setdefault(name, (raw, pos))
            if first != raw:
                raise ParseError(
                    f"{raw!r} and {first!r} (position {at}) are the same name after Unicode "
                    f"normalisation (NFKC: {name!r}); spell it one way",
                    text,
                    pos,
                )
            out.append(Token("NAME", name, pos))
            pos = end
            continue
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ParseError(f"unexpected character {text[pos]!r}", text, pos)
        if m.lastgroup == "NUM" and not math.isfinite(float(m.group())):
            shown = m.group() if len(m.group()) <= 20 else m.group()[:17] + "..."
            raise ParseError(
                f"the number {shown} is too large (float64 holds up to about 1.8e308)", text, pos
            )
        elif m.lastgroup != "ws":  # EW (.* ./ .^) is an OP; the parser reads it per syntax
            out.append(Token("OP" if m.lastgroup == "EW" else m.lastgroup, m.group(), pos))
        pos = m.end()
    out.append(Token("END", "", len(text)))
    return out
