"""The front ends for text: ``parse(text, shapes, syntax="math" | "latex")`` → ``Expr``.

``syntax="math"`` is the expression language (``parser``), ``"latex"`` the LaTeX reader
(``latex``); both build the same parse tree, which ``infer`` completes with shapes and
``lower`` turns into the IR.  See ``lower`` for the row-vector convention and ``infer`` for the
shape-inference rule.
"""

from __future__ import annotations

from ..errors import ParseError, ShapeError
from ..expr import NOTES, Expr
from ..shapes import as_shapes, check_name, is_symmetric_spec
from .latex import parse_latex_tree
from .lower import FUNCTIONS, infer, lower, suggest
from .parser import MAX_DEPTH, check_depth, parse_tree

SYNTAXES = {"math": parse_tree, "latex": parse_latex_tree}

__all__ = ["parse", "as_expr", "FUNCTIONS", "declared", "format_shapes", "where"]


def as_expr(f, shapes=None) -> Expr:
    """``f`` itself if it is an ``Expr``, else ``parse(f, shapes)``."""
    if isinstance(f, Expr):
        return f
    if isinstance(f, str):
        return parse(f, shapes)
    raise TypeError(f"expected an Expr or an expression string, got {type(f).__name__}")


def parse(
    text: str,
    shapes: dict | None = None,
    *,
    syntax: str = "math",
    known: dict | None = None,
    bindings=None,
) -> Expr:
    r"""Parse an expression.  ``shapes`` maps names to shapes: ints or dimension names.

    A shape ending in ``"symmetric"`` (``("n", "n", "symmetric")``, ``"n,n,sym"``) declares a
    symmetric matrix.  ``syntax="latex"`` reads LaTeX (``r"\mathbf{x}^\top A \mathbf{x}"``) instead of the
    expression language.  Undeclared shapes are inferred (``tensorcalc.parse.infer``); the
    ones assumed are kept in ``NOTES[expr]["assumed"]`` and shown by ``repr``.  ``known``
    gives further shapes (e.g. of an expression being substituted into) and ``bindings`` maps
    names to ready ``Expr``s.

    >>> import tensorcalc as tc
    >>> tc.parse("x' @ A @ x")
    Expr("x' @ A @ x", shape=(), where x: n, A: n×n)
    >>> tc.parse(r"\frac{1}{2} \|X - U V\|_F^2", syntax="latex").shape
    ()
    """
    if syntax not in SYNTAXES:
        raise ParseError(f"unknown syntax {syntax!r}: use 'math' or 'latex'", str(syntax), 0)
    try:
        tree = SYNTAXES[syntax](text)
    except RecursionError:  # the LaTeX reader recurses; the math parser never does
        raise ParseError(f"the expression is nested too deeply (more than {MAX_DEPTH} levels)",
                         text, 0) from None  # fmt: skip
    check_depth(tree, text)  # what lowering can take, whichever syntax built the tree
    raw, shapes = shapes or {}, as_shapes(shapes)
    symmetric = {check_name(k) for k, v in raw.items() if is_symmetric_spec(v)}
    bound = {k: v.shape for k, v in (bindings or {}).items()}
    full, assumed, ok = infer(tree, shapes, {**(known or {}), **bound})
    try:
        e = lower(tree, text, full, bindings, symmetric)
    except ShapeError as err:
        if assumed:
            _hint(err, tree, shapes, ok)
        raise
    if assumed:
        NOTES.setdefault(e, {})["assumed"] = assumed
    elif e in NOTES:
        NOTES[e].pop("assumed", None)
    if shapes:  # declared names, so that d/dy of an expression without y is a zero (api)
        NOTES.setdefault(e, {})["declared"] = declared(raw)
    elif e in NOTES:
        NOTES[e].pop("declared", None)
    return e


def declared(shapes) -> dict:
    """``{name: (shape, symmetric)}`` of user ``shapes``: the variables a user declared.

    >>> declared({"S": "n,n,sym", "x": "n"})
    {'S': (('n', 'n'), True), 'x': (('n',), False)}
    """
    raw, full = shapes or {}, as_shapes(shapes)
    return {k: (full[check_name(k)], is_symmetric_spec(v)) for k, v in raw.items()}


def format_shapes(shapes: dict) -> str:
    """``x: n, A: n×n, s: scalar``: shapes as the CLI and ``repr`` show assumed ones."""
    return ", ".join(
        f"{k}: {'×'.join(str(d) for d in v) if v else 'scalar'}" for k, v in shapes.items()
    )


def where(e: Expr) -> str:
    """The shapes assumed for ``e``'s undeclared variables (``""`` when none were, or all are
    scalars)."""
    assumed = NOTES.get(e, {}).get("assumed")
    return format_shapes(assumed) if assumed and any(assumed.values()) else ""


def _hint(err: ShapeError, tree, shapes, ok):
    """Add to ``err`` shapes that would type-check (``err.suggested``; the CLI rewords it)."""
    err.suggested = None if ok else suggest(tree, shapes)
    err.plain = str(err)
    if err.suggested:
        example = ", ".join(f"{k!r}: {v!r}" for k, v in err.suggested.items())
        hint = f"these shapes would work: shapes={{{example}}}"
    else:
        hint = "declare the shapes of the variables, e.g. shapes={'A': ('n', 'n'), 'x': ('n',)}"
    err.args = (f"{err}\nNo shapes were declared for some variables; {hint}",)
