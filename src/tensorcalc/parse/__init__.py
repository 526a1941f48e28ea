"""The front ends for text: ``parse(text, shapes, syntax=...)`` → ``Expr``.

Syntaxes (``SYNTAXES``): ``"text"`` is the expression language (``parser``; ``"math"`` is its
old name), ``"matlab"`` the same grammar in matrixcalculus.org's dialect (``*`` the matrix
product, ``.*`` elementwise, names typed by their first letter), ``"latex"`` the LaTeX reader
(``latex``), and ``"auto"`` (the default) LaTeX when the text has a backslash, else text.  All
build the same parse tree, which ``infer`` completes with shapes and ``lower`` turns into the
IR.  See ``lower`` for the row-vector convention and ``infer`` for the shape-inference rule.

**Notes: never a silent reinterpretation.**  In the text syntax ``*`` is elementwise.  When an
expression could have been meant in MATLAB's reading (an elementwise ``*`` of two non-scalars
whose shapes were inferred, or a MATLAB reading that type-checks with a true matrix product at
a ``*``), ``parse`` keeps the text reading and records ``STAR_NOTE`` in ``Expr.notes`` (the
CLI prints it on stderr, the web API in ``notes``).  A ``*`` that fails for shapes ``@`` would
take says so in its error.
"""

from __future__ import annotations

from ..errors import ParseError, ShapeError, TensorCalcError
from ..expr import NOTES, Expr, postorder
from ..ops import Op
from ..shapes import as_shapes, check_name, is_symmetric_spec
from .infer import matrix_products
from .latex import SIZE_NOTE, parse_latex_tree, read_sizes
from .lower import ELEMENTWISE, FUNCTIONS, Lowering, _names, infer, sized, suggest
from .parser import MAX_DEPTH, check_depth, parse_matlab_tree, parse_tree

READERS = {"text": parse_tree, "matlab": parse_matlab_tree, "latex": parse_latex_tree}
SYNTAXES = ("auto", "text", "matlab", "latex")  # and "math", the old name of "text"
STAR_NOTE = "read `*` as elementwise; for the matrix product write `@` or switch to MATLAB syntax"
EXP_NOTE = (
    "read \\exp of a matrix as the elementwise exponential; the matrix exponential is "
    "\\operatorname{expm}(X)"
)
E_NOTE = "read e as a variable; for the elementwise exponential write \\exp(X), for the matrix one \\operatorname{expm}(X)"

__all__ = ["parse", "as_expr", "FUNCTIONS", "declared", "format_shapes", "where", "resolve_syntax"]


def resolve_syntax(text: str, syntax: str) -> str:
    """The reader ``syntax`` stands for: ``"auto"`` is ``"latex"`` when ``text`` has a
    backslash, else ``"text"``; ``"math"`` is ``"text"``.

    >>> resolve_syntax(r"\\frac{1}{2} x^2", "auto"), resolve_syntax("x' * A", "auto")
    ('latex', 'text')
    """
    if syntax == "math":
        return "text"
    if syntax == "auto":
        return "latex" if isinstance(text, str) and "\\" in text else "text"
    if syntax not in READERS:
        choices = ", ".join(repr(s) for s in SYNTAXES)
        raise ParseError(f"unknown syntax {syntax!r}: use one of {choices}", str(syntax), 0)
    return syntax


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
    syntax: str = "auto",
    known: dict | None = None,
    bindings=None,
) -> Expr:
    r"""Parse an expression.  ``shapes`` maps names to shapes: ints or dimension names.

    A shape ending in ``"symmetric"`` (``("n", "n", "symmetric")``, ``"n,n,sym"``) declares a
    symmetric matrix.  ``syntax`` is ``"auto"`` (LaTeX when the text has a backslash, else the
    expression language), ``"text"``, ``"matlab"`` (matrixcalculus.org's syntax: ``*`` is the
    matrix product, ``.*`` elementwise; a–g scalars, h–z vectors, A–Z matrices unless declared)
    or ``"latex"`` (``r"\mathbf{x}^\top A \mathbf{x}"``).  Undeclared shapes are inferred
    (``tensorcalc.parse.infer``); the ones assumed are kept in ``NOTES[expr]["assumed"]`` and
    shown by ``repr``; how the text was read, where it could mean two things, is in
    ``expr.notes``.  ``known`` gives further shapes (e.g. of an expression being substituted
    into) and ``bindings`` maps names to ready ``Expr``s.

    >>> import tensorcalc as tc
    >>> tc.parse("x' @ A @ x")
    Expr("x' @ A @ x", shape=(), where x: n, A: n×n)
    >>> tc.parse("0.5*x'*A*x", syntax="matlab")
    Expr("0.5 * x' @ A @ x", shape=(), where x: n, A: n×n)
    >>> tc.parse("x'*A*x").notes
    ('read `*` as elementwise; for the matrix product write `@` or switch to MATLAB syntax',)
    >>> tc.parse(r"\frac{1}{2} \|X - U V\|_F^2", syntax="latex").shape
    ()
    """
    kind = resolve_syntax(text, syntax)
    try:
        tree = READERS[kind](text)
    except RecursionError:  # the LaTeX reader recurses; the math parser never does
        raise ParseError(f"the expression is nested too deeply (more than {MAX_DEPTH} levels)",
                         text, 0) from None  # fmt: skip
    check_depth(tree, text)  # what lowering can take, whichever syntax built the tree
    raw, shapes = shapes or {}, as_shapes(shapes)
    sizes: set = set()
    if kind == "latex":  # \frac{x}{n} with x: n declared is x / n, n the size (noted)
        names = set(shapes) | set(known or {}) | set(bindings or {})
        dims = {d for v in {**shapes, **(known or {})}.values() for d in v if isinstance(d, str)}
        tree, sizes = read_sizes(tree, dims - names)
    symmetric = {check_name(k) for k, v in raw.items() if is_symmetric_spec(v)}
    bound = {k: v.shape for k, v in (bindings or {}).items()}
    known = {**(known or {}), **bound}
    matlab = kind == "matlab"
    if matlab:
        tree = sized(tree)
    full, assumed, ok = infer(tree, shapes, known, matlab)
    lowering = Lowering(text, full, bindings, symmetric, matlab)
    try:
        e = lowering.lower(tree).e
    except ShapeError as err:
        if assumed and not matlab:
            _hint(err, tree, shapes, ok)
        raise
    notes = _star_notes(text, lowering, shapes, known) if kind == "text" else ()
    notes += tuple(SIZE_NOTE.format(n=n) for n in sorted(sizes))
    notes += _exp_notes(e, shapes) if kind == "latex" else ()
    for key, value in (("assumed", assumed), ("notes", notes)):
        if value:
            NOTES.setdefault(e, {})[key] = value
        elif e in NOTES:
            NOTES[e].pop(key, None)
    if shapes:  # declared names, so that d/dy of an expression without y is a zero (api)
        NOTES.setdefault(e, {})["declared"] = declared(raw)
    elif e in NOTES:
        NOTES[e].pop("declared", None)
    return e


def _star_notes(text, lowering, shapes, known) -> tuple:
    """``(STAR_NOTE,)`` when the text reading's elementwise ``*`` could have been meant as a
    matrix product (see the module docstring), else ``()``."""
    stars = [(n, sa, sc) for n, sa, sc in lowering.products if n.op == "*" and text[n.pos] == "*"]
    if not stars:
        return ()
    given = set(shapes) | set(known)  # known has the bound names
    for n, sa, sc in stars:  # non-scalars whose shapes were inferred so that * works
        if sa and sc and set(_names(n, {})) - given:
            return (STAR_NOTE,)
    try:  # the MATLAB reading type-checks and has a true matrix product at a *
        tree = sized(parse_matlab_tree(text))
        full, _, ok = infer(tree, shapes, known, matlab=True)
    except (TensorCalcError, RecursionError):
        return ()
    return (STAR_NOTE,) if ok and matrix_products(tree, full, ELEMENTWISE) else ()


def _exp_notes(e: Expr, shapes) -> tuple:
    """The LaTeX reading of ``\\exp(X)`` and ``e^{X}`` of a matrix X, which a matrix-analysis
    text means as the matrix exponential: elementwise here, and e an undeclared variable."""
    notes = []
    for n in postorder([e]):
        if n.op is Op.EXP and n.ndim >= 2 and EXP_NOTE not in notes:
            notes.append(EXP_NOTE)
        base = n.args[0] if n.op is Op.POW and n.ndim >= 2 else None
        while base is not None and base.op is Op.EINSUM:  # e broadcast: e · ones(3, 3)
            base = next((a for a in base.args if a.op is not Op.CONST), None)
        if base is not None and base.op is Op.VAR and base.attrs[0] == "e" and not base.ndim:
            if "e" not in (shapes or {}) and E_NOTE not in notes:
                notes.append(E_NOTE)
    return tuple(notes)


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
