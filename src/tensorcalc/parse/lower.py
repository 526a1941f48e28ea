"""Shape inference and lowering of the parse tree to the IR.

**Shape rule.** Declared shapes are used as given; undeclared variables get the lowest ranks
that make every operation well-formed, capitalised names preferring matrices
(``tensorcalc.parse.infer``).  If no ranks type-check, the ``ShapeError`` names shapes that
would.

**Juxtaposition** (the LaTeX reader's ``A x``, op ``" "``) is ``@``, or ``*`` when one side is
a scalar.  The reader's superscripts are calls with names the language cannot spell
(``READER``): ``^-1`` inverts a matrix and is a reciprocal otherwise, ``^`` refuses a matrix
power.

**MATLAB syntax** (``matlab=True``): the parser's ``" "`` is ``*``, its calls ``m/`` and
``m^`` are ``MATLAB``'s entries, a bare ``eye`` is the identity (sized by inference), and
undeclared names are typed by their first letter (``infer.matlab_ranks``).

**Row vectors.** Vectors are 1-D.  Transposing a vector marks it as a row for the next ``@``
only: ``u' @ v`` is the inner product, ``u @ v'`` the outer product, ``x' @ A`` is ``A' @ x``;
a row negated or scaled by a scalar stays a row (``u @ (2 * v')`` is twice ``u @ v'``); other
uses follow NumPy.  In MATLAB syntax elementwise operations and functions keep a row a row, and a
row beside a column is refused (MATLAB would expand them to a matrix).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .. import build as b
from ..errors import NumericError, ParseError, ShapeError
from ..expr import Expr
from ..ops import UNARY_OPS, Op
from ..shapes import as_shape
from ..sugar import getitem
from .ast import Array, BinOp, Call, Index, Name, Neg, Num, Stack, Str, Transpose, Tuple
from .infer import matlab_ranks, search

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
    "cholesky": lambda x: b.func(Op.CHOLESKY, x),  # S = L L', L lower (of the symmetric part)
    "phi": lambda x: b.func(Op.PHI, x),  # the lower triangle, diagonal halved
    "eigvalsh": lambda x: b.func(Op.EIGVALSH, x),  # ascending, as NumPy's
    "eigvecsh": lambda x: b.func(Op.EIGVECSH, x),  # columns; each's largest entry positive
    "svdvals": lambda x: b.func(Op.SVDVALS, x),  # descending, as NumPy's
    "norm_nuc": lambda x: b.sum_(b.func(Op.SVDVALS, x), -1),  # the nuclear norm Σσᵢ
    "pinv": lambda x: b.func(Op.PINV, x),
    "expm": lambda x: b.func(Op.EXPM, x),  # the matrix exponential e^X (exp is elementwise)
    "logsumexp": lambda x: b.func(Op.LOGSUMEXP, x),
    "softmax": lambda x: b.func(Op.SOFTMAX, x),
    "transpose": b.transpose,
    "vec": b.vec,  # the column-stacking vec of Magnus and Neudecker: reshape(X', m*n)
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
    "kron": b.kron,  # the Kronecker product (LaTeX: A \otimes B)
}
MANY_ARGS = {  # f(X, E1, ..., Ek): at least two arguments
    "expm_frechet": (b.expm_frechet, "expm_frechet(X, E1, ..., Ek): the k-th Fréchet derivative of "
                     "expm at X in the directions E1 ... Ek"),
}  # fmt: skip
AXES_ARGS = {  # f(X, constant ints...): axes as literals, as NumPy writes them
    "transpose": (b.transpose, "transpose(T) or transpose(T, (0, 2, 1))", (0, 1)),
    "swapaxes": (b.swapaxes, "swapaxes(T, 1, 2)", (2,)),
    "matrix_power": (b.matrix_power, "matrix_power(X, k) with a whole k", (1,)),
}
AXIS = {  # f(X) over all entries, f(X, axis) or f(X, axis=k) along an axis
    "sum": b.sum_,
    "mean": b.mean,
    "softmax": lambda x, axis: b.func(Op.SOFTMAX, x, axis),
    "logsumexp": lambda x, axis: b.func(Op.LOGSUMEXP, x, axis),
}


def _two(dims):
    if len(dims) != 2:
        raise ShapeError("commutation", [], f"commutation(m, n) takes two sizes, got {len(dims)}")
    return dims


DIM_FUNCS = {
    "eye": lambda dims: b.eye(dims[0]),
    "ones": b.ones,
    "zeros": b.zeros,
    "select": lambda dims: b.select(*dims),
    "commutation": lambda dims: b.commutation(*_two(dims)),  # K_{m,n}: K vec(A) = vec(A')
}
FUNCTIONS = sorted(
    set(ELEMENTWISE)
    | set(ONE_ARG)
    | set(TWO_ARG)
    | set(DIM_FUNCS)
    | set(AXIS)
    | set(AXES_ARGS)
    | set(MANY_ARGS)
    | {"einsum", "reshape"}
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


def _mpower(x, e):
    """MATLAB's ``x^e``: a power of scalars, or a positive integer power of a square matrix."""
    k = e.attrs[0] if e.op is Op.CONST and not e.shape else None
    if x.ndim == 2 and k is not None and k == int(k) and 1 <= k <= 16:
        out = x
        for _ in range(int(k) - 1):
            out = b.matmul(out, x)
        return out
    if x.ndim or e.ndim:
        raise ShapeError("^", [x.shape, e.shape], "in MATLAB syntax ^ is the matrix power (a "
                         "scalar, or a square matrix to a positive integer power up to 16); "
                         "write .^ for the elementwise power")  # fmt: skip
    return b.pow_(x, e)


def _mrdivide(x, y):
    """MATLAB's ``x / y`` for a scalar ``y`` (a matrix ``y`` would solve a linear system)."""
    if y.ndim:
        raise ShapeError("/", [x.shape, y.shape], "in MATLAB syntax / divides by a scalar; write "
                         "./ for the elementwise quotient or inv(B) for a matrix")  # fmt: skip
    return b.div(x, y)


MATLAB = {"m^": _mpower, "m/": _mrdivide}  # the MATLAB syntax's calls (``parser.MATLAB_CALLS``)
STAR_HINT = "for the matrix product write @ (or switch to MATLAB syntax)"


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
    elif isinstance(n, Call) and n.func == "reshape" and n.args:
        _names(n.args[0], out)  # the rest are sizes: ints and dimension names
    elif isinstance(n, Call) and n.func not in DIM_FUNCS:
        for a in n.args:
            _names(a, out)
        for _, a in n.kwargs:
            _names(a, out)
    elif isinstance(n, Stack):
        for a in n.items:
            _names(a, out)
    return out


def infer(tree, shapes: dict, known: dict | None = None, matlab: bool = False):
    """Full variable shapes for ``tree``, the shapes assumed (undeclared names given a dimension
    that no declared shape has: ``x`` in ``x' @ A @ x`` with A declared n×n is determined, not
    assumed), and whether inference found shapes that type-check (``tensorcalc.parse.infer``);
    if it did not, the undeclared names are taken as scalars and the lowering reports it.
    ``matlab``: undeclared names are typed by their first letter, and ``eye`` is the identity.
    """
    declared = {**(known or {}), **shapes}
    names = [name for name in _names(tree, {}) if name not in declared]
    fixed, square = {}, ()
    if matlab:
        consts = {n: 1 if n.startswith("vector#") else 2 for n in names if "#" in n}
        fixed = {**matlab_ranks(names), "eye": 2, **consts}
        square = ("eye",)
    found = search(tree, names, declared, ELEMENTWISE, fixed, square, matlab)
    if found is None:
        if matlab:
            guess = {n: ("n",) * fixed[n] if n in fixed else () for n in names}
            shown = {n: v for n, v in guess.items() if n != "eye" and "#" not in n}
            return {**declared, **guess}, shown, False
        return {**declared, **{name: () for name in names}}, {name: () for name in names}, False
    dims = {d for shape in declared.values() for d in shape}
    assumed = {k: v for k, v in found.items() if any(d not in dims for d in v)}
    if matlab:
        assumed = {k: v for k, v in assumed.items() if k != "eye" and "#" not in k}
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
    def __init__(self, text, shapes, bindings=None, symmetric=(), matlab=False):
        self.text = text
        self.matlab = matlab
        self.products = []  # (node, left shape, right shape) of each elementwise * and " "
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
            if self.matlab and n.id == "eye":
                return _Val(b.eye(self.shapes["eye"][0]))
            if "#" in n.id:  # MATLAB's vector(c) and matrix(c): c times ones (``sized``)
                return _Val(b.ones(self.shapes[n.id]))
            if n.id in FUNCTIONS:
                self.error(f"{n.id!r} is a function: call it as {n.id}(...)", n.pos)
            return _Val(b.var(n.id, self.shapes[n.id], symmetric=n.id in self.symmetric))
        if isinstance(n, Str):
            self.error("a string is only allowed as the first argument of einsum", n.pos)
        if isinstance(n, Tuple):
            self.error("a tuple (0, 2, 1) is only allowed as the axes of a function", n.pos)
        if isinstance(n, Neg):
            v = self.lower(n.arg)
            return _Val(b.neg(v.e), v.row)  # -x' is still a row
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
        if self.matlab and n.op in ("+", "-", "*", "/", "^"):
            return self.matlab_elementwise(n, left, right)
        if n.op == "+":
            return _Val(b.add(a, c))
        if n.op == "-":
            return _Val(b.sub(a, c))
        # a row vector scaled by a scalar stays a row, as -x' does: y @ (2 * x') is y @ x' doubled
        scaled_row = (left.row and a.ndim == 1 and c.ndim == 0) or (
            n.op == "*" and right.row and c.ndim == 1 and a.ndim == 0
        )
        if n.op == "*":
            self.products.append((n, a.shape, c.shape))
            try:
                return _Val(b.mul(a, c), scaled_row)
            except ShapeError as err:
                if self.matlab or not _matmul_fits(left, right):
                    raise
                raise ShapeError(err.op, err.shapes, f"{err.detail}; {STAR_HINT}") from None
        if n.op == "/":
            return _Val(b.div(a, c), scaled_row)
        if n.op == "^":
            return _Val(b.pow_(a, c))
        if n.op == "kron":  # the LaTeX reader's A \otimes B
            return _Val(b.kron(a, c))
        if n.op == " ":
            self.products.append((n, a.shape, c.shape))
        if n.op == " " and (a.ndim == 0 or c.ndim == 0):  # juxtaposition beside a scalar
            return _Val(b.mul(a, c), (left.row and a.ndim == 1) or (right.row and c.ndim == 1))
        if self.matlab and a.ndim == 1 and not left.row and not (c.ndim == 1 and right.row):
            raise ShapeError("*", [a.shape, c.shape], "a column vector times a "
                             f"{'matrix' if c.ndim == 2 else 'column vector'}: transpose one "
                             "(x' * A, x' * y) or write .* for the elementwise product")  # fmt: skip
        if a.ndim == 1 and c.ndim == 1:
            if left.row and right.row:
                raise ShapeError("@", [a.shape, c.shape], "row vector @ row vector")
            if right.row and not left.row:
                return _Val(b.outer(a, c))
        if right.row and c.ndim == 1 and a.ndim == 2:
            raise ShapeError("@", [a.shape, c.shape], "matrix @ row vector; drop the transpose")
        out = b.matmul(a, c)
        return _Val(out, left.row and out.ndim == 1)

    def matlab_elementwise(self, n, left, right):
        """MATLAB's elementwise operations keep a row vector a row (``x'.^2``, ``x' + y'``);
        a row and a column would be expanded to a matrix by MATLAB, so they are refused
        rather than read as two vectors of the same kind."""
        a, c = left.e, right.e
        lr, rr = left.row and a.ndim == 1, right.row and c.ndim == 1
        if a.ndim == 1 and c.ndim == 1 and lr != rr:
            shown = {"*": ".*", "/": "./", "^": ".^"}.get(n.op, n.op)
            raise ShapeError(shown, [a.shape, c.shape], "a row vector and a column vector "
                             "(MATLAB would expand them to a matrix): transpose one, or write "
                             "x * y' for the outer product")  # fmt: skip
        op = {"+": b.add, "-": b.sub, "*": b.mul, "/": b.div, "^": b.pow_}[n.op]
        if n.op == "*":
            self.products.append((n, a.shape, c.shape))
        out = op(a, c)
        return _Val(out, (lr or rr) and out.ndim == 1)

    def call(self, n: Call):
        f = n.func
        if f in DIM_FUNCS:
            return _Val(DIM_FUNCS[f](self.dims(n)))
        if f == "einsum":
            return _Val(self.einsum(n))
        if f == "reshape" and not n.kwargs:
            return _Val(b.reshape(self.lower(n.args[0]).e, self.shape_args(n)))
        kwargs = dict(n.kwargs)
        if f == "norm" and (len(n.args) > 1 or kwargs):
            return _Val(self.norm(n, kwargs))
        if f in AXIS:
            return _Val(self.sum(n, kwargs))
        if kwargs:
            self.error(f"{f}() takes no keyword arguments", n.pos)
        if f in MATLAB:
            (left, right) = (self.lower(a) for a in n.args)
            row = left.row and f == "m/" and left.e.ndim == 1  # x' / 2 is still a row
            return _Val(MATLAB[f](left.e, right.e), row)
        if f in AXES_ARGS and len(n.args) > 1:
            fn, usage, counts = AXES_ARGS[f]
            if len(n.args) - 1 not in counts:
                self.error(f"{f}() takes {usage}", n.pos)
            ints = (self.axes(a, f"{f}() takes {usage}: ") for a in n.args[1:])
            return _Val(fn(self.lower(n.args[0]).e, *ints))
        vals = [self.lower(a) for a in n.args]
        args = [v.e for v in vals]
        if f in ELEMENTWISE or f in ONE_ARG:
            if len(args) != 1:
                self.error(f"{f}() takes 1 argument, got {len(args)}", n.pos)
            out = b.unary(ELEMENTWISE[f], args[0]) if f in ELEMENTWISE else ONE_ARG[f](args[0])
            # MATLAB: a function of a row vector is a row vector (exp(x') * y is an inner product)
            row = self.matlab and vals[0].row and args[0].ndim == 1 and out.ndim == 1
            return _Val(out, row)
        if f in TWO_ARG:
            if len(args) != 2:
                self.error(f"{f}() takes 2 arguments, got {len(args)}", n.pos)
            return _Val(TWO_ARG[f](*args))
        if f in MANY_ARGS:
            if len(args) < 2:
                self.error(f"{f}() takes {MANY_ARGS[f][1]}", n.pos)
            return _Val(MANY_ARGS[f][0](*args))
        if f in READER:
            return _Val(READER[f](*args))
        hint = ", ".join(FUNCTIONS)
        self.error(f"unknown function {f!r}; known functions: {hint}", n.pos)

    def axes(self, a, usage=""):
        """A constant int (``-1`` included) or a tuple of them: ``(0, 2, 1)``."""
        if isinstance(a, Tuple):
            return tuple(self.axes(x, usage) for x in a.items)
        sign = 1
        if isinstance(a, Neg):
            sign, a = -1, a.arg
        if not (isinstance(a, Num) and a.value == int(a.value)):
            self.error(f"{usage}a whole number is needed here (or a tuple of them)", a.pos)
        return sign * int(a.value)

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

    def shape_args(self, n):
        """The sizes of ``reshape(X, 2, 3)``, ``reshape(X, (2, 3))`` or ``reshape(X, (n, -1))``:
        ints (one may be -1) and dimension names."""
        usage = "reshape(X, (2, 3)) takes X and sizes: ints (one may be -1) or dimension names"
        items = list(n.args[1:])
        if len(items) == 1 and isinstance(items[0], Tuple):
            items = list(items[0].items)
        if not items:
            self.error(usage, n.pos)
        dims = []
        for a in items:
            if isinstance(a, Name):
                dims.append(a.id)
            elif isinstance(a, Neg) and isinstance(a.arg, Num) and a.arg.value == 1:
                dims.append(-1)
            elif isinstance(a, Num) and a.value == int(a.value) and a.value > 0:
                dims.append(int(a.value))
            else:
                self.error(usage, a.pos)
        return tuple(dims)

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
        return AXIS[n.func](x, self.axes(args[1], f"the axis of {n.func}(): "))

    def norm(self, n, kwargs):
        """``norm(X, axis)`` (or ``axis=``) along axes, as ``sum(X, axis)`` sums: sqrt(Σ X²);
        ``norm(x, ord=p)`` the p-norm (Σ|x|ᵖ)^(1/p) of all entries, for a number p ≥ 1."""
        if set(kwargs) - {"axis", "ord"} or len(n.args) > 2 or (len(n.args) == 2 and kwargs):
            self.error("norm() takes norm(X), norm(X, axis), norm(X, axis=k) or norm(x, ord=p)",
                       n.pos)  # fmt: skip
        x = self.lower(n.args[0]).e
        if "ord" in kwargs:
            p = kwargs["ord"]
            if not isinstance(p, Num) or p.value < 1:
                self.error("norm(x, ord=p) takes a number p >= 1 (2 is norm(x))", p.pos)
            if "axis" in kwargs:
                self.error("norm(x, ord=p) is over all entries; p-norms along an axis are not "
                           "supported", n.pos)  # fmt: skip
            if p.value == 2:
                return b.func(Op.NORM, x)
            if p.value == 1:
                return b.sum_(b.unary(Op.ABS, x))
            return b.pow_(b.sum_(b.pow_(b.unary(Op.ABS, x), p.value)), 1.0 / p.value)
        arg = kwargs.get("axis", n.args[1] if len(n.args) > 1 else None)
        axis = self.axes(arg, "the axis of norm(): ")
        if not all(-x.ndim <= k < x.ndim for k in (axis if isinstance(axis, tuple) else (axis,))):
            self.error(f"axis {axis} is out of range for rank {x.ndim} (norm(X, axis) takes an "
                       "axis; a p-norm is norm(x, ord=p))", arg.pos)  # fmt: skip
        if len({k % x.ndim for k in (axis if isinstance(axis, tuple) else (axis,))}) == x.ndim:
            return b.func(Op.NORM, x)  # along every axis: the norm of all entries
        return b.unary(Op.SQRT, b.sum_(b.pow_(x, 2.0), axis))

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


def sized(tree):
    """``tree`` with MATLAB's ``vector(c)`` and ``matrix(c)`` as ``c .* ones``, the ones a name
    the lexer cannot spell (``vector#1``) that inference sizes like a variable: in a matrix
    product ``x' * vector(1)`` is the sum of x, not x scaled."""
    count = [0]

    def walk(n):
        if isinstance(n, Call) and n.func in ("vector", "matrix") and len(n.args) == 1:
            count[0] += 1
            ones = Name(f"{n.func}#{count[0]}", n.pos)
            return BinOp("*", Call(n.func, (walk(n.args[0]),), n.kwargs, n.pos), ones, n.pos)
        if isinstance(n, (tuple, list)):
            return type(n)(walk(c) for c in n)
        if hasattr(n, "__dataclass_fields__"):
            return replace(n, **{f: walk(getattr(n, f)) for f in n.__dataclass_fields__})
        return n

    return walk(tree)


def _matmul_fits(left: _Val, right: _Val) -> bool:
    """Whether ``@`` would accept the operands an elementwise ``*`` refused."""
    a, c = left.e, right.e
    return a.ndim in (1, 2) and c.ndim in (1, 2) and a.shape[-1] == c.shape[0]


def _is_delta(a):
    """The Kronecker delta of index notation (the LaTeX reader's ``\\delta_{ij}``)."""
    return isinstance(a, Call) and a.func == "delta" and not a.args


def lower(tree, text: str, shapes: dict, bindings=None, symmetric=(), matlab=False) -> Expr:
    """Lower a parse tree with complete variable shapes to an ``Expr`` (``symmetric``: the
    names of symmetric matrix variables)."""
    return Lowering(text, shapes, bindings, symmetric, matlab).lower(tree).e
