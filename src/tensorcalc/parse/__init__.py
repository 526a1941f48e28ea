"""The expression-language front end: ``parse(text, shapes)`` → ``Expr``.

See ``lower`` for the shape-inference rule and the row-vector convention.
"""

from __future__ import annotations

from ..errors import ShapeError
from ..expr import Expr
from ..shapes import as_shapes
from .lower import FUNCTIONS, infer_shapes, lower
from .parser import parse_tree

__all__ = ["parse", "as_expr", "FUNCTIONS"]


def as_expr(f, shapes=None) -> Expr:
    """``f`` itself if it is an ``Expr``, else ``parse(f, shapes)``."""
    if isinstance(f, Expr):
        return f
    if isinstance(f, str):
        return parse(f, shapes)
    raise TypeError(f"expected an Expr or an expression string, got {type(f).__name__}")


def parse(
    text: str, shapes: dict | None = None, *, known: dict | None = None, bindings=None
) -> Expr:
    """Parse an expression.  ``shapes`` maps names to shapes: ints or dimension names.

    ``known`` gives further shapes (e.g. of an expression being substituted into) and
    ``bindings`` maps names to ready ``Expr``s.

    >>> import tensorcalc as tc
    >>> f = tc.parse("x' @ A @ x", shapes={"x": ("n",), "A": ("n", "n")})
    >>> f.shape
    ()
    """
    tree = parse_tree(text)
    shapes = as_shapes(shapes)
    full, defaulted = infer_shapes(tree, shapes, known)
    try:
        return lower(tree, text, full, bindings)
    except ShapeError as err:
        if defaulted:
            names = ", ".join(defaulted)
            dims = "('n', 'n')" if err.op in ("det", "logdet", "inv", "tr") else "('n',)"
            example = ", ".join(f"{name!r}: {dims}" for name in defaulted[:2])
            err.args = (
                f"{err}\nThe shapes of {names} were not declared and could not be inferred from "
                f"use, so they were taken as scalars; declare them, e.g. shapes={{{example}}}",
            )
        raise
