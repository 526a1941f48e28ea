"""Shape inference and lowering of the parse tree to the IR.

**Shape rule.** Declared shapes are used as given; undeclared variables get the lowest ranks
that make every operation well-formed, capitalised names preferring matrices
(``tensorcalc.parse.infer``).  If no ranks type-check, the ``ShapeError`` names shapes that
would.

**Juxtaposition** (the LaTeX reader's ``A x``, op ``" "``) is ``@``, or ``*`` when one side is
a scalar.  The reader's superscripts are calls with names the language cannot spell
(``READER``): ``^-1`` inverts a matrix and is a reciprocal otherwise, ``^`` refuses a matrix
power.

**Row vectors.** Vectors are 1-D.  Transposing a vector marks it as a row for the next ``@``
only: ``u' @ v`` is the inner product, ``u @ v'`` the outer product, ``x' @ A`` is ``A' @ x``;
other uses follow NumPy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import build as b
from ..errors import NumericError, ParseError, ShapeError
from ..expr import Expr
from ..ops import UNARY_OPS, Op
from ..shapes import as_shape
from ..sugar import getitem
from .ast import Array, BinOp, Call, Index, Name, Neg, Num, Stack, Str, Transpose
from .infer import search

ELEMENTWISE = {op.value: op for op in UNARY_OPS}
ONE_ARG = {
    "tr": b.trace,
    "trace": b.trace,
    "det": lambda x: b.func(Op.DET, x),
    "logdet": lambda x: b.func(Op.LOGDET, x),
    "inv": lambda x: b.func(Op.INV, x),
    "norm": lambda x: b.func(Op.NORM, x),
    "norm2": lambda x: b.func(Op.NORM, x),
    "norm1": lambda x: b.sum_(b.unary(Op.ABS, x)),
    "unit": lambda x: b.func(Op.UNIT, x),  # x / norm(x), 0 at x = 0
    "diag": b.diag,
    "logsumexp": lambda x: b.func(Op.LOGSUMEXP, x),
    "softmax": lambda x: b.func(Op.SOFTMAX, x),
    "transpose": b.transpose,
    "vector": lambda x: _scalar_const("vector", x),
    "matrix": lambda x: _scalar_const("matrix", x),
}


def _scalar_const(name, x):
    """``vector(c)`` / ``matrix(c)``: a constant whose shape comes from broadcasting."""
    if x.shape:
        raise ShapeError(name, [x.shape], f"{name}(c) takes a scalar; it broadcasts to its context")
    return x


TWO_ARG = {
    "outer": b.outer,
    "dot": b.matmul,
    "solve": lambda a, c: b.matmul(b.func(Op.INV, a), c),  # solve(A, B) = A⁻¹ B
}
AXIS = {  # f(X) over all entries, f(X, axis) or f(X, axis=k) along an axis
    "sum": b.sum_,
    "mean": b.mean,
    "softmax": lambda x, axis: b.func(Op.SOFTMAX, x, axis),
    "logsumexp": lambda x, axis: b.func(Op.LOGSUMEXP, x, axis),
}
DIM_FUNCS = {
    "eye": lambda dims: b.eye(dims[0]),
    "ones": b.ones,
    "zeros": b.zeros,
    "select": lambda dims: b.select(*dims),
}
FUNCTIONS = sorted(
    set(ELEMENTWISE) | set(ONE_ARG) | set(TWO_ARG) | set(DIM_FUNCS) | set(AXIS) | {"einsum"}
)


def _matrix_power_error(x, e):
    raise ShapeError("^", [x.shape, e.shape], "X^{k} of a matrix is ambiguous: write X X for the "
                     "matrix product or X^{\\circ k} for the elementwise power")  # fmt: skip


def _spectral_error(x):
    raise ShapeError("norm", [x.shape], "\\|X\\|_2 of a matrix is the spectral norm, which "
                     "tensorcalc does not have (\\|X\\|_F is the Frobenius norm)")  # fmt: skip


READER = {  # calls only the LaTeX reader makes (names the language's lexer cannot produce)
    "^-1": lambda x: b.func(Op.INV, x) if x.ndim == 2 else b.pow_(x, -1.0),
    "^-T": lambda x: b.transpose(b.func(Op.INV, x)),
    "^": lambda x, e: _matrix_power_error(x, e) if x.ndim == 2 else b.pow_(x, e),
    "norm_2": lambda x: _spectral_error(x) if x.ndim >= 2 else b.func(Op.NORM, x),
}


@dataclass
class _Val:
    e: Expr
    row: bool = False


# --------------------------------------------------------------------------- inference


def _names(n, out):
    if isinstance(n, Name):
        out.setdefault(n.id, n.pos)
    elif isinstance(n, (Neg, Transpose, Index)):
        _names(n.arg, out)
    elif isinstance(n, BinOp):
        _names(n.left, out)
        _names(n.right, out)
    elif isinstance(n, Call) and n.func not in DIM_FUNCS:
        for a in n.args:
            _names(a, out)
        for _, a in n.kwargs:
            _names(a, out)
    elif isinstance(n, Stack):
        for a in n.items:
            _names(a, out)
    return out


def infer(tree, shapes: dict, known: dict | None = None):
    """Full variable shapes for ``tree``, the shapes assumed (undeclared names given a dimension
    that no declared shape has: ``x`` in ``x' @ A @ x`` with A declared n×n is determined, not
    assumed), and whether inference found shapes that type-check (``tensorcalc.parse.infer``);
    if it did not, the undeclared names are taken as scalars and the lowering reports it."""
    declared = {**(known or {}), **shapes}
    names = [name for name in _names(tree, {}) if name not in declared]
    found = search(tree, names, declared, ELEMENTWISE)
    if found is None:
        return {**declared, **{name: () for name in names}}, {name: () for name in names}, False
    dims = {d for shape in declared.values() for d in shape}
    assumed = {k: v for k, v in found.items() if any(d not in dims for d in v)}
    return {**declared, **found}, assumed, True


def infer_shapes(tree, shapes: dict, known: dict | None = None) -> tuple[dict, list]:
    """Full variable shapes for ``tree`` and the names whose shapes were assumed."""
    full, assumed, _ = infer(tree, shapes, known)
    return full, list(assumed)


def suggest(tree, shapes: dict) -> dict | None:
    """Shapes that would make ``tree`` type-check if the declared ones were dropped."""
    names = list(_names(tree, {}))
    found = search(tree, names, {}, ELEMENTWISE)
    if not found:
        return None
    return {k: v for k, v in found.items() if shapes.get(k, v) != v or k not in shapes}


# ------------------------------------------------------------------------------ lowering


class Lowering:
    def __init__(self, text, shapes, bindings=None, symmetric=()):
        self.text = text
        self.shapes = shapes
        self.bindings = bindings or {}
        self.symmetric = symmetric

    def error(self, msg, pos):
        raise ParseError(msg, self.text, pos)

    def lower(self, n) -> _Val:
        try:
            return self._lower(n)
        except ShapeError as err:
            if err.position is not None:
                raise
            raise err.at(self.text, n.pos) from None
        except NumericError as err:
            self.error(str(err), n.pos)

    def _lower(self, n) -> _Val:
        if isinstance(n, Num):
            return _Val(b.const(n.value))
        if isinstance(n, Array):
            return _Val(b.array(np.reshape(n.values, n.shape)))
        if isinstance(n, Stack):
            return _Val(b.stack([self.lower(i).e for i in n.items]))
        if isinstance(n, Name):
            if n.id in self.bindings:
                return _Val(self.bindings[n.id])
            if n.id in FUNCTIONS:
                self.error(f"{n.id!r} is a function: call it as {n.id}(...)", n.pos)
            return _Val(b.var(n.id, self.shapes[n.id], symmetric=n.id in self.symmetric))
        if isinstance(n, Str):
            self.error("a string is only allowed as the first argument of einsum", n.pos)
        if isinstance(n, Neg):
            return _Val(b.neg(self.lower(n.arg).e))
        if isinstance(n, Transpose):
            v = self.lower(n.arg)
            if v.e.ndim == 1:
                return _Val(v.e, not v.row)
            return _Val(b.transpose(v.e))
        if isinstance(n, BinOp):
            return self.binop(n)
        if isinstance(n, Index):
            try:
                return _Val(getitem(self.lower(n.arg).e, n.items))
            except IndexError as err:
                self.error(str(err), n.pos)
        return self.call(n)

    def binop(self, n):
        left, right = self.lower(n.left), self.lower(n.right)
        a, c = left.e, right.e
        if n.op == "+":
            return _Val(b.add(a, c))
        if n.op == "-":
            return _Val(b.sub(a, c))
        if n.op == "*":
            return _Val(b.mul(a, c))
        if n.op == "/":
            return _Val(b.div(a, c))
        if n.op == "^":
            return _Val(b.pow_(a, c))
        if n.op == " " and (a.ndim == 0 or c.ndim == 0):  # juxtaposition beside a scalar
            return _Val(b.mul(a, c), (left.row and a.ndim == 1) or (right.row and c.ndim == 1))
        if a.ndim == 1 and c.ndim == 1:
            if left.row and right.row:
                raise ShapeError("@", [a.shape, c.shape], "row vector @ row vector")
            if right.row and not left.row:
                return _Val(b.outer(a, c))
        if right.row and c.ndim == 1 and a.ndim == 2:
            raise ShapeError("@", [a.shape, c.shape], "matrix @ row vector; drop the transpose")
        out = b.matmul(a, c)
        return _Val(out, left.row and out.ndim == 1)

    def call(self, n: Call):
        f = n.func
        if f in DIM_FUNCS:
            return _Val(DIM_FUNCS[f](self.dims(n)))
        if f == "einsum":
            return _Val(self.einsum(n))
        kwargs = dict(n.kwargs)
        if f in AXIS:
            return _Val(self.sum(n, kwargs))
        if kwargs:
            self.error(f"{f}() takes no keyword arguments", n.pos)
        args = [self.lower(a).e for a in n.args]
        if f in ELEMENTWISE or f in ONE_ARG:
            if len(args) != 1:
                self.error(f"{f}() takes 1 argument, got {len(args)}", n.pos)
            if f in ELEMENTWISE:
                return _Val(b.unary(ELEMENTWISE[f], args[0]))
            return _Val(ONE_ARG[f](args[0]))
        if f in TWO_ARG:
            if len(args) != 2:
                self.error(f"{f}() takes 2 arguments, got {len(args)}", n.pos)
            return _Val(TWO_ARG[f](*args))
        if f in READER:
            return _Val(READER[f](*args))
        hint = ", ".join(FUNCTIONS)
        self.error(f"unknown function {f!r}; known functions: {hint}", n.pos)

    def dims(self, n):
        if n.func == "select":
            return self.select_args(n)
        dims = []
        for a in n.args:
            if isinstance(a, Num) and a.value == int(a.value) and a.value > 0:
                dims.append(int(a.value))
            elif isinstance(a, Name):
                dims.append(a.id)
            else:
                self.error(f"{n.func}() takes dimensions: positive ints or names", a.pos)
        if not dims or (n.func == "eye" and len(dims) != 1):
            self.error(
                f"{n.func}() needs {'one dimension' if n.func == 'eye' else 'dimensions'}", n.pos
            )
        return as_shape(dims)

    def select_args(self, n):
        vals = []
        for a in n.args:
            sign = 1
            if isinstance(a, Neg):
                sign, a = -1, a.arg
            if not (isinstance(a, Num) and a.value == int(a.value)):
                self.error("select(m, n, start, step) takes integers", a.pos)
            vals.append(sign * int(a.value))
        if len(vals) not in (3, 4):
            self.error("select(m, n, start, step) takes three or four integers", n.pos)
        return tuple(vals)

    def sum(self, n, kwargs):
        args = list(n.args)
        if "axis" in kwargs and len(args) == 1:
            args.append(kwargs.pop("axis"))
        if kwargs or not 1 <= len(args) <= 2:
            self.error(f"{n.func}() takes an expression and an optional axis", n.pos)
        x = self.lower(args[0]).e
        if len(args) == 1:
            return AXIS[n.func](x, None)
        ax = args[1]
        if isinstance(ax, Neg) and isinstance(ax.arg, Num):
            ax = Num(-ax.arg.value, ax.pos)
        if not (isinstance(ax, Num) and ax.value == int(ax.value)):
            self.error(f"the axis of {n.func}() must be an integer", ax.pos)
        return AXIS[n.func](x, int(ax.value))

    def einsum(self, n):
        if not n.args or not isinstance(n.args[0], Str):
            self.error('einsum() needs a spec string first, e.g. einsum("ij,jk->ik", A, B)', n.pos)
        spec = n.args[0].value.replace(" ", "")
        ins, arrow, out = spec.partition("->")
        groups = ins.split(",")
        ops = [None if _is_delta(a) else self.lower(a).e for a in n.args[1:]]
        if (
            not arrow
            or len(groups) != len(ops)
            or not all(g.isalpha() or g == "" for g in groups + [out])
        ):
            self.error(f"bad einsum spec {spec!r} for {len(ops)} operands", n.args[0].pos)
        sizes = {lab: d for e, g in zip(ops, groups) if e is not None for lab, d in zip(g, e.shape)}
        for k, (a, g) in enumerate(zip(n.args[1:], groups)):
            if ops[k] is None:
                size = next((sizes[lab] for lab in g if lab in sizes), None)
                if size is None or len(g) != 2:
                    self.error(
                        f"the size of \\delta_{{{g}}} is not determined by another factor", a.pos
                    )
                ops[k] = b.eye(size)
        return b.einsum([(e, tuple(g)) for e, g in zip(ops, groups)], tuple(out))


def _is_delta(a):
    """The Kronecker delta of index notation (the LaTeX reader's ``\\delta_{ij}``)."""
    return isinstance(a, Call) and a.func == "delta" and not a.args


def lower(tree, text: str, shapes: dict, bindings=None, symmetric=()) -> Expr:
    """Lower a parse tree with complete variable shapes to an ``Expr`` (``symmetric``: the
    names of symmetric matrix variables)."""
    return Lowering(text, shapes, bindings, symmetric).lower(tree).e
