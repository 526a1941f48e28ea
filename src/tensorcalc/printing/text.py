"""Render a print tree as text in tensorcalc's own language (``tc.parse`` reads it back).

One table entry per print-node kind plus a precedence table; ``@`` chains drop the
parentheses that associativity makes redundant (``x' @ (A @ x)`` prints as ``x' @ A @ x``).
"""

from __future__ import annotations

from ..expr import Expr
from .matrix import P, is_unit, to_tree
from .where import name_shared

PREC = {"add": 10, "mul": 20, "matmul": 20, "div": 20, "neg": 30, "pow": 40, "T": 50, "index": 50}
ATOM = 60
FMT_FUNC = {"tr": "tr"}


def fmt_num(v: float) -> str:
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


def nested(shape, values, fmt=fmt_num) -> str:
    """The nested-list literal of an array given by shape and flat values: ``[[1, 2], [3, 4]]``."""
    if not shape:
        return fmt(values[0])
    step = len(values) // shape[0]
    rows = [nested(shape[1:], values[k * step : (k + 1) * step], fmt) for k in range(shape[0])]
    return "[" + ", ".join(rows) + "]"


def prec(p: P) -> int:
    if p.kind == "size" and len(p.children) > 1:  # m * n, the size of an m×n matrix
        return PREC["mul"]
    if p.kind == "num" and p.value < 0:
        return PREC["neg"]
    if p.kind == "neg":  # -A @ x binds like its @: X * (-A @ x), never X * -A @ x
        c = prec(p.children[0])
        return c if PREC["mul"] <= c < PREC["neg"] else PREC["neg"]
    return PREC.get(p.kind, ATOM)


def wrap(p: P, min_prec: int) -> str:
    s = render(p)
    return f"({s})" if prec(p) < min_prec else s


def _add(p):
    out = wrap(p.children[0], 11)
    out = ("-" + out) if p.value[0] else out
    for neg, c in zip(p.value[1:], p.children[1:]):
        out += (" - " if neg else " + ") + wrap(c, 11)
    return out


def _binop(sym):
    def f(p):
        a, b = p.children
        if sym == "@" and is_unit(a):  # ones(1) @ v' is the row v'
            return render(b)
        assoc = (sym == "@" and _pure_chain(b, a)) or (sym == "*" and a.rank == 0)
        right_min = 20 if assoc and (b.kind != "div" or sym == "*") else 21
        if sym == "*" and _inner(a):  # (x' @ A @ x) * B, (a' @ c) * (b' @ x)
            right = f"({render(b)})" if _inner(b) else wrap(b, right_min)
            return f"({render(a)}) {sym} {right}"
        if sym == "*" and _inner(b) and a.kind != "num":  # s * (a' @ c), but 2 * x' @ A @ x
            return f"{wrap(a, 20)} {sym} ({render(b)})"
        return f"{wrap(a, 20)} {sym} {wrap(b, right_min)}"

    return f


def _inner(p: P) -> bool:
    """A scalar ``@`` product (``a' @ c``), bracketed as a factor of ``*``."""
    return p.kind == "matmul" and p.rank == 0


def _pure_chain(p: P, left: P | None = None) -> bool:
    """An ``@`` chain that ``left @ chain`` may print without parentheses: its left spine has no
    other operator of the same precedence, and re-associating does not make ``left @ first`` a
    scalar (``x' @ (e @ v')`` is not ``(x' @ e) @ v'``)."""
    while p.kind == "matmul":
        p = p.children[0]
    if left is not None and left.rank <= 1 and p.rank <= 1 and (left.kind == "T" or p.kind != "T"):
        return False  # u @ (v' @ M) is u @ v' @ M: an outer product first, as it should be
    return prec(p) != PREC["matmul"]


def _call(p):
    name, extra = p.value
    args = [render(c) for c in p.children]
    args += [str(x) for x in extra] if len(extra) < 2 else ["(" + ", ".join(map(str, extra)) + ")"]
    return f"{FMT_FUNC.get(name, name)}({', '.join(args)})"


def _einsum(p):
    return f'einsum("{p.value}", ' + ", ".join(render(c) for c in p.children) + ")"


RENDER = {
    "var": lambda p: p.value,
    "dim": lambda p: str(p.value),
    "size": lambda p: " * ".join(str(d.value) for d in p.children),  # explanations only
    "num": lambda p: fmt_num(p.value),
    "array": lambda p: nested(*p.value),
    "add": _add,
    "neg": lambda p: "-" + wrap(p.children[0], 20),
    "mul": _binop("*"),
    "matmul": _binop("@"),
    "div": _binop("/"),
    "pow": lambda p: f"{wrap(p.children[0], 41)}^{wrap(p.children[1], 40)}",
    "T": lambda p: wrap(p.children[0], 51) + "'",
    "index": lambda p: wrap(p.children[0], 51) + "[" + ", ".join(p.value) + "]",
    "call": _call,
    "einsum": _einsum,
    "stack": lambda p: "[" + ", ".join(render(c) for c in p.children) + "]",
}


def render(p: P) -> str:
    return RENDER[p.kind](p)


def to_text(e: Expr, where: bool = True) -> str:
    """Compact text of ``e`` in the input language; with ``where`` (the default) a large
    subexpression that occurs more than once is named once (``... where M = X' @ C @ X``).

    >>> import tensorcalc as tc
    >>> str(tc.derivative(tc.parse("x' @ A @ x", shapes={"x": "n", "A": "n,n"}), "x"))
    "(A + A') @ x"
    >>> print(tc.parse("tanh(inv(X' @ C @ X)) + inv(X' @ C @ X)", {"X": "n,n", "C": "n,n"}))
    M + tanh(M) where M = inv(X' @ C @ X)
    """
    tree = to_tree(e)
    if not where:
        return render(tree)
    body, defs = name_shared(tree)
    return render(body) + "".join(
        (" where " if k == 0 else ", ") + f"{name} = {render(d)}"
        for k, (name, d) in enumerate(defs)
    )
