"""Shape inference and lowering of the parse tree to the IR.

**Shape rule.** Declared shapes are used as given.  An undeclared variable takes its shape
from use where that determines it: an operand of an elementwise operator (``+ - * / ^``)
or of an elementwise function beside an operand of known shape gets that shape, and an
undeclared vector next to a known matrix in ``@`` gets the matching length (``A @ x``,
``x' @ A``), and so does an undeclared operand of an inner product with a known vector
(``c' @ x``).  Variables that nothing determines are scalars.  If the expression then does not
type-check, the ``ShapeError`` lists the variables whose shapes were guessed and asks for a
declaration.

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
from .ast import Array, BinOp, Call, Index, Name, Neg, Num, Str, Transpose

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
DIM_FUNCS = {
    "eye": lambda dims: b.eye(dims[0]),
    "ones": b.ones,
    "zeros": b.zeros,
    "select": lambda dims: b.select(*dims),
}
FUNCTIONS = sorted(
    set(ELEMENTWISE) | set(ONE_ARG) | set(TWO_ARG) | set(DIM_FUNCS) | {"sum", "einsum"}
)
SCALAR_OUT = {"tr", "trace", "det", "logdet", "norm", "norm1", "norm2", "logsumexp"}
SAME_OUT = {"inv", "softmax"}


@dataclass
class _Val:
    e: Expr
    row: bool = False


# --------------------------------------------------------------------------- inference


class _Infer:
    def __init__(self, shapes):
        self.shapes = dict(shapes)
        self.changed = False
        self.guess = False

    def sh(self, n):
        if isinstance(n, Num):
            return ()
        if isinstance(n, Array):
            return n.shape
        if isinstance(n, Name):
            return self.shapes.get(n.id)
        if isinstance(n, Neg):
            return self.sh(n.arg)
        if isinstance(n, Transpose):
            s = self.sh(n.arg)
            return None if s is None else tuple(reversed(s))
        if isinstance(n, BinOp):
            return self.binop(n)
        if isinstance(n, Call):
            return self.call(n)
        return None

    def binop(self, n):
        sl, sr = self.sh(n.left), self.sh(n.right)
        if n.op != "@":
            if sl is None and sr:
                self.assign(n.left, sr)
            if sr is None and sl:
                self.assign(n.right, sl)
            return sl or sr if (sl is not None and sr is not None) else (sl or sr or None)
        if self.guess:
            self.guess_matmul(n, sl, sr)
        if sl is None or sr is None:
            return None
        row_l = isinstance(n.left, Transpose) and len(sl) == 1
        row_r = isinstance(n.right, Transpose) and len(sr) == 1
        if len(sl) == 1 and len(sr) == 1:
            return (sl[0], sr[0]) if (row_r and not row_l) else ()
        return sl[:-1] + sr[1:]

    def guess_matmul(self, n, sl, sr):
        """An undeclared variable in ``@`` beside a known matrix or vector is a vector."""
        if not all(self.shape_preserving(x) for x, s in ((n.left, sl), (n.right, sr)) if s is None):
            return
        if sl is None and sr is not None and len(sr) == 2:
            self.assign(n.left, (sr[0],))
        if sr is None and sl is not None and len(sl) == 2:
            self.assign(n.right, (sl[1],))
        if sl is None and sr is not None and len(sr) == 1:
            self.assign(n.left, sr)
        if sr is None and sl is not None and len(sl) == 1 and not isinstance(n.right, Transpose):
            self.assign(n.right, sl)

    def shape_preserving(self, n):
        """Built from undeclared variables by elementwise steps only (so ``assign`` reaches them)."""
        if isinstance(n, (Neg, Transpose)):
            return self.shape_preserving(n.arg)
        if isinstance(n, BinOp) and n.op != "@":
            kids = [k for k in (n.left, n.right) if self.sh(k) != ()]
            return bool(kids) and all(self.shape_preserving(k) for k in kids)
        if isinstance(n, Call) and n.func in ELEMENTWISE and len(n.args) == 1:
            return self.shape_preserving(n.args[0])
        return isinstance(n, Name)

    def call(self, n):
        args = [self.sh(a) for a in n.args]
        if n.func in ELEMENTWISE and args:
            return args[0]
        if n.func in SCALAR_OUT:
            return ()
        if n.func in SAME_OUT and args:
            return args[0]
        if n.func == "diag" and args and args[0] is not None:
            return args[0][:1] * (3 - len(args[0]))
        if n.func == "outer" and len(args) == 2 and None not in args:
            return args[0] + args[1]
        if n.func == "solve" and len(args) == 2:
            return args[1]
        return None

    def assign(self, n, shape):
        if isinstance(n, Name):
            if n.id not in self.shapes:
                self.shapes[n.id] = tuple(shape)
                self.changed = True
        elif isinstance(n, Neg):
            self.assign(n.arg, shape)
        elif isinstance(n, Transpose):
            self.assign(n.arg, tuple(reversed(shape)))
        elif isinstance(n, Call) and (n.func in ELEMENTWISE or n.func in SAME_OUT) and n.args:
            self.assign(n.args[0], shape)
        elif isinstance(n, Call) and n.func == "diag" and len(n.args) == 1 and len(shape) in (1, 2):
            self.assign(n.args[0], shape[:1] * (3 - len(shape)))
        elif isinstance(n, BinOp) and n.op == "@" and len(shape) == 2:
            sl, sr = self.sh(n.left), self.sh(n.right)
            if sl is not None and len(sl) == 2 and sr is None:
                self.assign(n.right, (sl[1], shape[1]))
            if sr is not None and len(sr) == 2 and sl is None:
                self.assign(n.left, (shape[0], sr[0]))
        elif isinstance(n, BinOp) and n.op != "@":
            for child in (n.left, n.right):
                if self.sh(child) is None:
                    self.assign(child, shape)


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
    return out


def infer_shapes(tree, shapes: dict, known: dict | None = None) -> tuple[dict, list]:
    """Full variable shapes for ``tree`` and the names that defaulted to scalars."""
    inf = _Infer({**(known or {}), **shapes})
    for _ in range(50):
        inf.changed = False
        inf.sh(tree)
        if not inf.changed:
            if inf.guess:
                break
            inf.guess = True
        else:
            inf.guess = False
    defaulted = [name for name in _names(tree, {}) if name not in inf.shapes]
    for name in defaulted:
        inf.shapes[name] = ()
    return inf.shapes, defaulted


# ------------------------------------------------------------------------------ lowering


class Lowering:
    def __init__(self, text, shapes, bindings=None):
        self.text = text
        self.shapes = shapes
        self.bindings = bindings or {}

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
        if isinstance(n, Name):
            if n.id in self.bindings:
                return _Val(self.bindings[n.id])
            if n.id in FUNCTIONS:
                self.error(f"{n.id!r} is a function: call it as {n.id}(...)", n.pos)
            return _Val(b.var(n.id, self.shapes[n.id]))
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
        if f == "sum":
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
            self.error("sum() takes an expression and an optional axis", n.pos)
        x = self.lower(args[0]).e
        if len(args) == 1:
            return b.sum_(x)
        ax = args[1]
        if isinstance(ax, Neg) and isinstance(ax.arg, Num):
            ax = Num(-ax.arg.value, ax.pos)
        if not (isinstance(ax, Num) and ax.value == int(ax.value)):
            self.error("the axis of sum() must be an integer", ax.pos)
        return b.sum_(x, int(ax.value))

    def einsum(self, n):
        if not n.args or not isinstance(n.args[0], Str):
            self.error('einsum() needs a spec string first, e.g. einsum("ij,jk->ik", A, B)', n.pos)
        spec = n.args[0].value.replace(" ", "")
        ins, arrow, out = spec.partition("->")
        groups = ins.split(",")
        ops = [self.lower(a).e for a in n.args[1:]]
        if (
            not arrow
            or len(groups) != len(ops)
            or not all(g.isalpha() or g == "" for g in groups + [out])
        ):
            self.error(f"bad einsum spec {spec!r} for {len(ops)} operands", n.args[0].pos)
        return b.einsum([(e, tuple(g)) for e, g in zip(ops, groups)], tuple(out))


def lower(tree, text: str, shapes: dict, bindings=None) -> Expr:
    """Lower a parse tree with complete variable shapes to an ``Expr``."""
    return Lowering(text, shapes, bindings).lower(tree).e
