"""Operator sugar: build expressions in Python (``x.T @ A @ x``) and the function namespace.

``tc.vector("x", "n")``, ``tc.matrix("A", "n", "n")``, ``tc.scalar("s")`` and
``tc.tensor("T", dims)`` make variables; the functions (``tc.exp``, ``tc.tr``, ``tc.norm``, …)
and the operators build the same ``Expr`` that ``tc.parse`` builds from text.  Operators
follow NumPy: ``*`` is elementwise, ``@`` is the matrix product, ``.T`` reverses axes (a no-op
on vectors).  This module registers the arithmetic methods of ``Expr``.
"""

from __future__ import annotations

from . import build as b
from .errors import TracingError
from .expr import METHODS, Expr
from .ops import Op


def scalar(name: str) -> Expr:
    """A scalar variable.

    >>> import tensorcalc as tc
    >>> str(tc.derivative(tc.scalar("x") ** 3, "x"))
    '3 * x^2'
    """
    return b.var(name, ())


def vector(name: str, n="n") -> Expr:
    """A vector variable of length ``n`` (an int or a dimension name).

    >>> import tensorcalc as tc
    >>> x = tc.vector("x", "n")
    >>> x.shape
    ('n',)
    """
    return b.var(name, (n,))


def matrix(name: str, m="m", n="n") -> Expr:
    """A matrix variable of shape ``(m, n)``.

    >>> import tensorcalc as tc
    >>> A, x = tc.matrix("A", "m", "n"), tc.vector("x", "n")
    >>> print(A @ x, (A @ x).shape)
    A @ x ('m',)
    """
    return b.var(name, (m, n))


def tensor(name: str, dims=()) -> Expr:
    """A variable of any rank; ``dims`` is a tuple of ints and names.

    >>> import tensorcalc as tc
    >>> tc.tensor("T", (2, "n", 3)).shape
    (2, 'n', 3)
    """
    return b.var(name, tuple(dims))


def _unary(op):
    def f(x):
        return b.unary(op, x)

    name = "abs_" if op is Op.ABS else op.value  # the public name (``abs`` is a builtin)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"""Elementwise {op.value}.

    >>> import tensorcalc as tc
    >>> e = tc.{name}(tc.vector("x", 3))
    >>> print(e, e.shape)
    {op.value}(x) (3,)
    """
    return f


exp, log, sin, cos, tan = (_unary(o) for o in (Op.EXP, Op.LOG, Op.SIN, Op.COS, Op.TAN))
arcsin, arccos, arctan, tanh = (_unary(o) for o in (Op.ARCSIN, Op.ARCCOS, Op.ARCTAN, Op.TANH))
sqrt, abs_, sign, step, relu = (_unary(o) for o in (Op.SQRT, Op.ABS, Op.SIGN, Op.STEP, Op.RELU))
sigmoid, softplus, log1p = (_unary(o) for o in (Op.SIGMOID, Op.SOFTPLUS, Op.LOG1P))


def inv(x):
    """Matrix inverse.

    >>> import tensorcalc as tc
    >>> print(tc.derivative(tc.trace(tc.inv(tc.matrix("X", 2, 2))), "X"))
    -inv(X)' @ inv(X)'
    """
    return b.func(Op.INV, x)


def det(x):
    """Determinant.

    >>> import tensorcalc as tc
    >>> print(tc.derivative(tc.det(tc.matrix("X", 3, 3)), "X"))
    det(X) * inv(X)'
    """
    return b.func(Op.DET, x)


def logdet(x):
    """log |det x|.

    >>> import tensorcalc as tc
    >>> print(tc.derivative(tc.logdet(tc.matrix("X", 3, 3)), "X"))
    inv(X)'
    """
    return b.func(Op.LOGDET, x)


def norm(x):
    """Euclidean (vectors) or Frobenius (matrices, tensors) norm.

    >>> import tensorcalc as tc
    >>> print(tc.derivative(tc.norm(tc.vector("x", 3)), "x"))
    x / norm(x)
    """
    return b.func(Op.NORM, x)


def norm1(x):
    """Sum of absolute values.

    >>> import tensorcalc as tc
    >>> print(tc.norm1(tc.vector("x", 3)))
    sum(abs(x))
    """
    return b.sum_(b.unary(Op.ABS, x))


def softmax(x, axis=None):
    """Softmax over all entries, or along ``axis`` (``softmax(X, 1)``: each row sums to 1).

    >>> import tensorcalc as tc
    >>> e = tc.softmax(tc.matrix("X", 2, 3), 1)
    >>> print(e, e.shape)
    softmax(X, 1) (2, 3)
    """
    return b.func(Op.SOFTMAX, x, axis)


def logsumexp(x, axis=None):
    """log Σ exp(x) over all entries, or along ``axis``, evaluated stably.

    >>> import tensorcalc as tc
    >>> print(tc.derivative(tc.logsumexp(tc.vector("x", 3)), "x"))
    softmax(x)
    """
    return b.func(Op.LOGSUMEXP, x, axis)


mean = b.mean


tr = b.trace
trace = b.trace
diag = b.diag
outer = b.outer
dot = b.matmul
sum = b.sum_  # noqa: A001 - mirrors numpy.sum
eye = b.eye  # one name a line: documentation tools follow these aliases
ones = b.ones
zeros = b.zeros
transpose = b.transpose
reshape = b.reshape
vec = b.vec
kron = b.kron
commutation = b.commutation

METHODS.update(
    add=lambda a, o: b.add(a, o),
    radd=lambda a, o: b.add(o, a),
    sub=lambda a, o: b.sub(a, o),
    rsub=lambda a, o: b.sub(o, a),
    mul=lambda a, o: b.mul(a, o),
    rmul=lambda a, o: b.mul(o, a),
    div=lambda a, o: b.div(a, o),
    rdiv=lambda a, o: b.div(o, a),
    pow=lambda a, o: b.pow_(a, o),
    rpow=lambda a, o: b.pow_(o, a),
    matmul=lambda a, o: b.matmul(a, o),
    rmatmul=lambda a, o: b.matmul(o, a),
    neg=lambda a: b.neg(a),
    transpose=lambda a: b.transpose(a),
)


def getitem(a: Expr, index) -> Expr:
    """Indexing by constant ints and slices (``x[0]``, ``x[1:3]``, ``A[:, 0]``, ``A[::2, 1:]``).

    Each indexed axis is a product with a constant selection matrix, so indexing
    differentiates like any other product.
    """
    index = index if isinstance(index, tuple) else (index,)
    if len(index) > a.ndim or any(i is Ellipsis or i is None for i in index):
        raise IndexError(f"index {index!r} does not fit an expression of shape {a.shape}")
    labels = list(range(a.ndim))
    terms, out = [(a, tuple(labels))], []
    for axis, (lab, dim) in enumerate(zip(labels, a.shape)):
        i = index[axis] if axis < len(index) else slice(None)
        if i == slice(None):
            out.append(lab)
            continue
        if not isinstance(dim, int):
            raise IndexError(f"indexing axis {axis} needs a concrete size, not {dim!r}")
        if isinstance(i, slice):
            if i.step == 0:
                raise IndexError(f"slice step of axis {axis} cannot be zero")
            rows = range(dim)[i]
            if len(rows) == 0:
                raise IndexError(f"slice {i} of axis {axis} (length {dim}) is empty")
            sel = b.select(len(rows), dim, rows.start, rows.step)
            terms.append((sel, (("new", axis), lab)))
            out.append(("new", axis))
        elif isinstance(i, int) and not isinstance(i, bool):
            if not -dim <= i < dim:
                raise IndexError(f"index {i} is out of range for axis {axis} of length {dim}")
            terms.append((b.select(1, dim, i % dim, 1), (("drop", axis), lab)))
        else:
            raise IndexError(f"only constant ints and slices index an Expr, not {i!r}")
    return b.einsum(terms, tuple(out))


METHODS["getitem"] = getitem


# ------------------------------------------------------------ tracing: what cannot be traced

_WHY = {
    "bool": "branching on a traced value (if x > 0: ...) would pick one path for all inputs",
}


def _bool(a):
    raise TracingError(
        f"the truth value of a traced value ({a}) is not known while tracing: {_WHY['bool']}. "
        "Write the function without data-dependent branches (use relu, abs, sign, step or "
        "arithmetic), or differentiate each branch separately."
    )


def _compare(a, op, other):
    raise TracingError(
        f"comparing a traced value ({a} {op} ...) is not supported: {_WHY['bool']}. Use step, "
        "sign, relu or abs to express the comparison arithmetically."
    )


def _convert(a, kind):
    raise TracingError(
        f"cannot convert the traced value {a} to {kind} while tracing. Return it from the "
        "function instead; tc.grad(f)(...) gives the numbers and tc.formula(f, ...) the formula."
    )


_UFUNCS = {
    "add": b.add, "subtract": b.sub, "multiply": b.mul, "true_divide": b.div, "divide": b.div,
    "power": b.pow_, "matmul": b.matmul, "negative": b.neg, "exp": exp, "log": log, "sin": sin,
    "cos": cos, "tan": tan, "arcsin": arcsin, "arccos": arccos, "arctan": arctan, "tanh": tanh,
    "sqrt": sqrt, "absolute": abs_, "sign": sign, "log1p": log1p, "square": lambda x: b.mul(x, x),
}  # fmt: skip


def _array_ufunc(a, ufunc, method, inputs, kwargs):
    fn = _UFUNCS.get(ufunc.__name__)
    if fn is None or method != "__call__" or kwargs:
        raise TracingError(
            f"numpy.{ufunc.__name__} is not supported on traced values; write the function with "
            "tensorcalc.numpy (import tensorcalc.numpy as tnp) and its functions"
        )
    return fn(*inputs)


def _array_function(a, func, args, kwargs):
    table = {
        "sum": b.sum_, "trace": b.trace, "diag": b.diag, "outer": b.outer, "dot": b.matmul,
        "matmul": b.matmul, "transpose": b.transpose, "inv": inv, "det": det, "norm": norm,
        "reshape": b.reshape, "kron": b.kron,
    }  # fmt: skip
    fn = table.get(func.__name__)
    if fn is None:
        raise TracingError(
            f"numpy.{func.__name__} is not supported on traced values; see tensorcalc.numpy "
            "(import tensorcalc.numpy as tnp) for the functions that are"
        )
    return fn(*args, **kwargs)


METHODS.update(
    bool=_bool, compare=_compare, convert=_convert, array_ufunc=_array_ufunc,
    array_function=_array_function,
)  # fmt: skip
