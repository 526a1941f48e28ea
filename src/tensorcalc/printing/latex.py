"""Render a print tree as LaTeX: matrix products by juxtaposition, ``\\odot`` for elementwise
products of tensors, ``^\\top`` for transposes, ``\\frac`` for quotients, and index notation
(``\\sum_k A_{ik} B_{kj}``) for products that have no matrix form."""

from __future__ import annotations

from fractions import Fraction

from ..expr import NOTES, Expr
from .matrix import P, is_unit, named_sizes, to_tree
from .text import _pure_chain, fmt_num, nested, prec
from .where import name_shared

GREEK = set(
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi pi rho sigma tau"
    " upsilon phi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega".split()
)

FUNC = {
    "exp": r"\exp", "log": r"\log", "sin": r"\sin", "cos": r"\cos", "tan": r"\tan",
    "arcsin": r"\arcsin", "arccos": r"\arccos", "arctan": r"\arctan", "tanh": r"\tanh",
    "det": r"\det", "tr": r"\operatorname{tr}", "logdet": r"\log\det",
    "cholesky": r"\operatorname{cholesky}", "phi": r"\operatorname{phi}",  # read back as such
    "eigvalsh": r"\operatorname{eigvalsh}", "eigvecsh": r"\operatorname{eigvecsh}",
    "svdvals": r"\operatorname{svdvals}", "pinv": r"\operatorname{pinv}",
    "expm": r"\operatorname{expm}", "expm_frechet": r"\operatorname{expm\_frechet}",  # not \exp
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
    if p.kind == "call" and p.value[0] == "kron":  # A \otimes B binds as ⊙ does
        return 15
    return prec(p)


def wrap(p: P, min_prec: int) -> str:
    s = render(p)
    atomic = p.kind == "div"  # \frac{}{} needs no parentheses between operators
    return rf"\left({s}\right)" if lprec(p) < min_prec and not atomic else s


def _juxtaposed(p: P) -> bool:
    """A product written by juxtaposition (``A x``, ``X^{-1} b``), which binds visually
    tighter than any operator symbol."""
    return p.kind == "matmul" or (p.kind == "call" and p.value[0] == "solve")


def _hadamard(p: P) -> bool:
    return p.kind == "mul" and p.children[0].rank > 0 and p.children[1].rank > 0


def base(p: P) -> str:
    """``p`` as the base of a superscript (transpose, inverse, power): bracketed unless it is
    one symbol or a function call, so a superscript never lands on a product, sum, fraction,
    solve or another superscript."""
    plain = p.kind in ("var", "array") or (
        p.kind == "call" and p.value[0] not in ("inv", "solve", "sqrt", "kron")
    )
    if (p.kind == "num" and p.value >= 0) or (p.kind == "size" and len(p.children) == 1):
        plain = True
    s = render(p)
    return s if plain else rf"\left({s}\right)"


def subscripted(p: P) -> str:
    """``p`` as the base of a subscript: a bare letter, else bracketed (no double subscripts,
    nothing subscripted onto a fraction)."""
    s = render(p)
    return s if p.kind == "var" and "_" not in s else rf"\left({s}\right)"


def _add(p):
    out = ("-" if p.value[0] else "") + wrap(p.children[0], 11)
    for neg, c in zip(p.value[1:], p.children[1:]):
        out += (" - " if neg else " + ") + wrap(c, 11)
    return out


def latex_num(v: float) -> str:
    r"""A number as LaTeX: a half, third, quarter, sixth or eighth that is exactly ``v`` as
    ``\frac{p}{q}`` (0.5 is ``\frac{1}{2}``, as typed), else as the text printer writes it.

    >>> print(latex_num(0.5), latex_num(-0.25), latex_num(1 / 3), latex_num(0.1), latex_num(2.0))
    \frac{1}{2} -\frac{1}{4} \frac{1}{3} 0.1 2
    """
    if v != int(v) and abs(v) < 1000:
        f = Fraction(v).limit_denominator(8)
        if f.denominator in (2, 3, 4, 6, 8) and float(f) == v:
            sign = "-" if f < 0 else ""
            return rf"{sign}\frac{{{abs(f.numerator)}}}{{{f.denominator}}}"
    return fmt_num(v)


def _mul(p):
    a, b = p.children
    odot = a.rank > 0 and b.rank > 0
    sym = r" \odot " if odot else " "

    def side(c, min_prec):
        if (odot and _juxtaposed(c)) or (not odot and _hadamard(c)):  # (A x) ⊙ y, s (x ⊙ y)
            return rf"\left({render(c)}\right)"
        if not odot and c.kind == "matmul" and c.rank == 0:  # (xᵀ A x) B
            return rf"\left({render(c)}\right)"
        return wrap(c, min_prec)

    if odot:
        return side(a, 15) + sym + side(b, 16)
    return side(a, 19) + sym + side(b, 20 if a.rank == 0 and b.kind != "div" else 21)


def _matmul(p):
    a, b = p.children
    if is_unit(a):  # the row vᵀ of the numerator layout
        return render(b)

    def side(c, min_prec):
        return rf"\left({render(c)}\right)" if _hadamard(c) else wrap(c, min_prec)  # (x ⊙ y) zᵀ

    return side(a, 19) + " " + side(b, 20 if _pure_chain(b, a) else 21)


def _pow(p):
    a, b = p.children
    if a.kind == "call" and a.value[0] == "norm":
        return render(a) + "^{" + render(b) + "}"
    circ = r"\circ " if p.rank == 2 else ""  # a matrix's elementwise (Hadamard) power
    return base(a) + "^{" + circ + render(b) + "}"


def _T(p):
    c = p.children[0]
    if c.kind == "call" and c.value[0] == "inv":
        return base(c.children[0]) + r"^{-\top}"
    return base(c) + r"^\top"


def _call(p):
    fn, extra = p.value
    args = [render(c) for c in p.children]
    if fn == "inv":
        return base(p.children[0]) + "^{-1}"
    if fn == "solve":  # printed as the product it stands for
        b = p.children[1]
        right = rf"\left({render(b)}\right)" if _hadamard(b) else wrap(b, 20)
        return base(p.children[0]) + "^{-1} " + right
    if fn == "sqrt":
        return r"\sqrt{" + args[0] + "}"
    if fn == "abs":
        return r"\left|" + args[0] + r"\right|"
    if fn == "norm":
        return r"\left\lVert " + args[0] + r" \right\rVert"
    if fn in ("eye", "ones", "zeros"):
        sym = {"eye": "I", "ones": r"\mathbf{1}", "zeros": r"\mathbf{0}"}[fn]
        return sym + "_{" + r" \times ".join(args) + "}"
    if fn == "kron":
        return wrap(p.children[0], 16) + r" \otimes " + wrap(p.children[1], 16)
    if fn == "reshape":  # \operatorname{reshape}(X, 2, 3): the sizes as arguments
        args += [str(d) if isinstance(d, int) else name(d) for d in extra]
    if fn in ("sum", "softmax", "logsumexp") and extra:  # along an axis
        axes = ", ".join(map(str, extra))
        return r"\operatorname{" + fn + "}_{" + axes + r"}\left(" + args[0] + r"\right)"
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


def _stack(p):
    r"""``[a, b]`` as a column ``\begin{bmatrix} a \\ b \end{bmatrix}`` and ``[[a, b], [c, d]]``
    as a matrix; a stack of larger entries as a bracketed list."""
    kids = p.children
    if all(c.rank == 0 for c in kids):
        return r"\begin{bmatrix} " + r" \\ ".join(render(c) for c in kids) + r" \end{bmatrix}"
    if all(c.kind == "stack" and all(g.rank == 0 for g in c.children) for c in kids):
        rows = [" & ".join(render(g) for g in c.children) for c in kids]
        return r"\begin{bmatrix} " + r" \\ ".join(rows) + r" \end{bmatrix}"
    return r"\left[" + r",\ ".join(render(c) for c in kids) + r"\right]"


def _is_eye(c: P) -> bool:
    return c.kind == "call" and c.value[0] == "eye"


def _sized_delta(c, k, groups, children) -> bool:
    r"""An identity that prints as δ: a factor other than a δ carries one of its indices and so
    gives its size; otherwise it prints as the entries of I_n, ``\left(I_{n}\right)_{jl}``."""
    return _is_eye(c) and any(
        set(groups[k]) & set(h) for j, h in enumerate(groups) if j != k and not _is_eye(children[j])
    )


def _einsum(p):
    spec = p.value
    ins, out = spec.split("->")
    groups = ins.split(",")
    summed = sorted(set("".join(groups)) - set(out))
    body = " ".join(
        (r"\delta" if _sized_delta(c, k, groups, p.children) else subscripted(c))
        + ("_{" + g + "}" if g else "")
        for k, (c, g) in enumerate(zip(p.children, groups))
    )
    if summed:
        body = r"\sum_{" + "".join(summed) + "} " + body
    return r"\left[" + body + r"\right]" + ("_{" + out + "}" if out else "")


RENDER = {
    "var": lambda p: name(p.value),
    "dim": lambda p: str(p.value),
    "size": lambda p: " ".join(name(str(d.value)) for d in p.children),  # n for sum(ones(n))
    "num": lambda p: latex_num(p.value),
    "array": _array,
    "add": _add,
    "neg": lambda p: "-" + wrap(p.children[0], 20),
    "mul": _mul,
    "matmul": _matmul,
    "div": lambda p: r"\frac{" + render(p.children[0]) + "}{" + render(p.children[1]) + "}",
    "pow": _pow,
    "T": _T,
    "index": lambda p: subscripted(p.children[0]) + "_{[" + ", ".join(p.value) + "]}",
    "call": _call,
    "einsum": _einsum,
    "stack": _stack,
}


def render(p: P) -> str:
    return RENDER[p.kind](p)


def to_latex(e: Expr, where: bool = True) -> str:
    r"""LaTeX for ``e``; with ``where`` (the default) a large subexpression that occurs more
    than once is named once (``\quad \text{where } M = X^\top C X``).

    >>> import tensorcalc as tc
    >>> tc.parse("x' @ A @ x", shapes={"x": "n", "A": "n,n"}).latex()
    'x^\\top A x'
    """
    notes = NOTES.get(e, {})  # a variable declared or assumed is never shown as a size
    taken = [n for key in ("declared", "assumed", "inputs") for n in notes.get(key, ())]
    tree = named_sizes(to_tree(e), taken)
    if not where:
        return render(tree)
    body, defs = name_shared(tree)
    if not defs:
        return render(body)
    named = ", ".join(f"{name(n)} = {render(d)}" for n, d in defs)
    return render(body) + r" \quad \text{where } " + named
