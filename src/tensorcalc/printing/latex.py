"""Render a print tree as LaTeX: matrix products by juxtaposition, ``\\odot`` for elementwise
products of tensors, ``^\\top`` for transposes, ``\\frac`` for quotients, and index notation
(``\\sum_k A_{ik} B_{kj}``) for products that have no matrix form."""

from __future__ import annotations

from ..expr import Expr
from .matrix import P, to_tree
from .text import _pure_chain, fmt_num, nested, prec

GREEK = set(
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi pi rho sigma tau"
    " upsilon phi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega".split()
)

FUNC = {
    "exp": r"\exp", "log": r"\log", "sin": r"\sin", "cos": r"\cos", "tan": r"\tan",
    "arcsin": r"\arcsin", "arccos": r"\arccos", "arctan": r"\arctan", "tanh": r"\tanh",
    "det": r"\det", "tr": r"\operatorname{tr}", "logdet": r"\log\det",
}  # fmt: skip


def name(s: str) -> str:
    base = s.rstrip("0123456789")
    sub = s[len(base) :]
    if base in GREEK:
        base = "\\" + base
    elif len(base) > 1:
        base = r"\mathrm{" + base.replace("_", r"\_") + "}"
    return f"{base}_{{{sub}}}" if sub else base


def lprec(p: P) -> int:
    r"""Precedence as the LaTeX reads: ⊙ binds looser than juxtaposition, a sign looser than a
    juxtaposed factor (``A \left(-x\right)``), and ``solve`` prints as a product."""
    if p.kind == "mul" and p.children[0].rank and p.children[1].rank:
        return 15
    if p.kind == "neg" or (p.kind == "num" and p.value < 0):
        return 19
    if p.kind == "call" and p.value[0] == "solve":
        return 20
    return prec(p)


def wrap(p: P, min_prec: int) -> str:
    s = render(p)
    atomic = p.kind == "div"  # \frac{}{} needs no parentheses
    return rf"\left({s}\right)" if lprec(p) < min_prec and not atomic else s


def _add(p):
    out = ("-" if p.value[0] else "") + wrap(p.children[0], 11)
    for neg, c in zip(p.value[1:], p.children[1:]):
        out += (" - " if neg else " + ") + wrap(c, 11)
    return out


def _mul(p):
    a, b = p.children
    if a.rank and b.rank:
        return wrap(a, 15) + r" \odot " + wrap(b, 16)
    return wrap(a, 19) + " " + wrap(b, 20 if a.rank == 0 and b.kind != "div" else 21)


def _matmul(p):
    a, b = p.children
    return wrap(a, 19) + " " + wrap(b, 20 if _pure_chain(b, a) else 21)


def _pow(p):
    a, b = p.children
    if a.kind == "call" and a.value[0] == "norm":
        return render(a) + "^{" + render(b) + "}"
    circ = r"\circ " if p.rank == 2 else ""  # a matrix's elementwise (Hadamard) power
    return "{" + wrap(a, 41) + "}^{" + circ + render(b) + "}"


def _T(p):
    c = p.children[0]
    if c.kind == "call" and c.value[0] == "inv":
        return "{" + wrap(c.children[0], 51) + r"}^{-\top}"
    if c.kind == "var":
        return render(c) + r"^\top"
    return "{" + wrap(c, 51) + r"}^\top"


def _call(p):
    fn, extra = p.value
    args = [render(c) for c in p.children]
    if fn == "inv":
        return "{" + wrap(p.children[0], 51) + "}^{-1}"
    if fn == "solve":  # printed as the product it stands for
        return "{" + wrap(p.children[0], 51) + "}^{-1} " + wrap(p.children[1], 21)
    if fn == "sqrt":
        return r"\sqrt{" + args[0] + "}"
    if fn == "abs":
        return r"\left|" + args[0] + r"\right|"
    if fn == "norm":
        return r"\left\lVert " + args[0] + r" \right\rVert"
    if fn in ("eye", "ones", "zeros"):
        sym = {"eye": "I", "ones": r"\mathbf{1}", "zeros": r"\mathbf{0}"}[fn]
        return sym + "_{" + r" \times ".join(args) + "}"
    if fn in ("sum", "softmax", "logsumexp") and extra:  # along an axis
        return r"\operatorname{" + fn + "}_{" + str(extra[0]) + r"}\left(" + args[0] + r"\right)"
    head = FUNC.get(fn, r"\operatorname{" + fn + "}")
    return head + r"\left(" + ", ".join(args) + r"\right)"


def _array(p):
    shape, values = p.value
    if len(shape) > 2:
        return r"\texttt{" + nested(shape, values) + "}"
    cols = shape[1] if len(shape) == 2 else 1
    rows = [values[k : k + cols] for k in range(0, len(values), cols)]
    body = r" \\ ".join(" & ".join(fmt_num(v) for v in row) for row in rows)
    return r"\begin{bmatrix} " + body + r" \end{bmatrix}"


def _einsum(p):
    spec = p.value
    ins, out = spec.split("->")
    groups = ins.split(",")
    summed = sorted(set("".join(groups)) - set(out))
    body = " ".join(
        (r"\delta" if c.kind == "call" and c.value[0] == "eye" else wrap(c, 60)) + "_{" + g + "}"
        for c, g in zip(p.children, groups)
    )
    if summed:
        body = r"\sum_{" + "".join(summed) + "} " + body
    return r"\left[" + body + r"\right]_{" + out + "}"


RENDER = {
    "var": lambda p: name(p.value),
    "dim": lambda p: str(p.value),
    "num": lambda p: fmt_num(p.value),
    "array": _array,
    "add": _add,
    "neg": lambda p: "-" + wrap(p.children[0], 20),
    "mul": _mul,
    "matmul": _matmul,
    "div": lambda p: r"\frac{" + render(p.children[0]) + "}{" + render(p.children[1]) + "}",
    "pow": _pow,
    "T": _T,
    "index": lambda p: "{" + wrap(p.children[0], 51) + "}_{[" + ", ".join(p.value) + "]}",
    "call": _call,
    "einsum": _einsum,
}


def render(p: P) -> str:
    return RENDER[p.kind](p)


def to_latex(e: Expr) -> str:
    r"""LaTeX for ``e``.

    >>> import tensorcalc as tc
    >>> tc.parse("x' @ A @ x", shapes={"x": "n", "A": "n,n"}).latex()
    'x^\\top A x'
    """
    return render(to_tree(e))
