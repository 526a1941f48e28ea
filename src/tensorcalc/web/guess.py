"""Shapes for undeclared variables by the naming convention, when inference alone fails.

The parser infers an undeclared variable's shape from use where use determines it and makes
the rest scalars (``tensorcalc.parse.lower``).  A page visitor types ``x' @ A @ x`` without
declaring anything, so when that parse fails with a ``ShapeError`` the page tries the
convention of the textbooks and of matrixcalculus.org: a name starting with a capital letter
is a matrix (n×n), a Greek letter's name (``lambda``, ``alpha``) a scalar, any other name a
vector (n), then the alternatives (scalar, vector,
matrix), fewest departures from the convention first.  The first assignment that type-checks
is used, and the variables it decided are reported as guessed so the page can show them as
such; the visitor edits them in the variables table.  Nothing is guessed when the expression
parses as it is.
"""

from __future__ import annotations

import itertools

from ..errors import ShapeError
from ..parse.lower import infer_shapes
from ..parse.parser import parse_tree
from ..shapes import as_shape

MAX_TRIES = 400
MATRIX, VECTOR, SCALAR = ("n", "n"), ("n",), ()
GREEK = set(
    "alpha beta gamma delta epsilon eps zeta eta kappa lambda lam mu nu rho sigma tau phi "
    "chi psi omega".split()
)


def _candidates(name: str) -> tuple:
    if name[:1].isupper():
        return (MATRIX, VECTOR, SCALAR)
    return (SCALAR, VECTOR, MATRIX) if name.lower() in GREEK else (VECTOR, SCALAR, MATRIX)


def assignments(names: list):
    """Shape assignments for ``names``, fewest departures from the convention first.

    >>> next(assignments(["x", "A"]))
    {'x': ('n',), 'A': ('n', 'n')}
    """
    if len(names) > 6:  # 3^6 = 729 combinations at most; beyond that only the convention
        yield {n: _candidates(n)[0] for n in names}
        return
    combos = sorted(itertools.product(range(3), repeat=len(names)), key=sum)
    for combo in combos[:MAX_TRIES]:
        yield {n: _candidates(n)[i] for n, i in zip(names, combo)}


def parse_guessing(text: str, shapes: dict, parse) -> tuple:
    """``(expr, guessed_names)``: ``parse(text, shapes)``, or with conventional shapes for the
    undeclared variables when that fails with a ``ShapeError``."""
    try:
        return parse(text, shapes), []
    except ShapeError as err:
        first = err
    _, defaulted = infer_shapes(parse_tree(text), {k: as_shape(v) for k, v in shapes.items()})
    defaulted = [n for n in defaulted if n not in shapes]
    if not defaulted:
        raise first
    for guess in assignments(defaulted):
        try:
            return parse(text, {**shapes, **guess}), defaulted
        except ShapeError:
            continue
    raise first
