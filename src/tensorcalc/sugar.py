"""Operator sugar: build expressions in Python (``x.T @ A @ x``) and the function namespace.

``tc.vector("x", "n")``, ``tc.matrix("A", "n", "n")``, ``tc.scalar("s")`` and
``tc.tensor("T", dims)`` make variables; the functions (``tc.exp``, ``tc.tr``, ``tc.norm``, …)
and the operators build the same ``Expr`` that ``tc.parse`` builds from text.  Operators
follow NumPy: ``*`` is elementwise, ``@`` is the matrix product, ``.T`` reverses axes (a no-op
on vectors).  This module registers the arithmetic methods of ``Expr``.
"""

from __future__ import annotations

from . import build as b
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
    """A vector variable of length ``n`` (an int or a dimension name)."""
    return b.var(name, (n,))


def matrix(name: str, m="m", n="n") -> Expr:
    """A matrix variable of shape ``(m, n)``."""
    return b.var(name, (m, n))


def tensor(name: str, dims=()) -> Expr:
    """A variable of any rank; ``dims`` is a tuple of ints and names."""
    return b.var(name, tuple(dims))


def _unary(op):
    def f(x):
        return b.unary(op, x)

    f.__name__ = op.value
    f.__doc__ = f"Elementwise {op.value}."
    return f


exp, log, sin, cos, tan = (_unary(o) for o in (Op.EXP, Op.LOG, Op.SIN, Op.COS, Op.TAN))
arcsin, arccos, arctan, tanh = (_unary(o) for o in (Op.ARCSIN, Op.ARCCOS, Op.ARCTAN, Op.TANH))
sqrt, abs_, sign, step, relu = (_unary(o) for o in (Op.SQRT, Op.ABS, Op.SIGN, Op.STEP, Op.RELU))
sigmoid, softplus, log1p = (_unary(o) for o in (Op.SIGMOID, Op.SOFTPLUS, Op.LOG1P))


def inv(x):
    """Matrix inverse."""
    return b.func(Op.INV, x)


def det(x):
    """Determinant."""
    return b.func(Op.DET, x)


def logdet(x):
    """log |det x|."""
    return b.func(Op.LOGDET, x)


def norm(x):
    """Euclidean (vectors) or Frobenius (matrices, tensors) norm."""
    return b.func(Op.NORM, x)


def norm1(x):
    """Sum of absolute values."""
    return b.sum_(b.unary(Op.ABS, x))


def softmax(x):
    """Softmax over all entries."""
    return b.func(Op.SOFTMAX, x)


def logsumexp(x):
    """log Σ exp(x) over all entries, evaluated stably."""
    return b.func(Op.LOGSUMEXP, x)


tr = trace = b.trace
diag = b.diag
outer = b.outer
dot = b.matmul
sum = b.sum_  # noqa: A001 - mirrors numpy.sum
eye, ones, zeros = b.eye, b.ones, b.zeros
einsum_ = b.einsum
transpose = b.transpose

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


def _getitem(a, index):
    raise TypeError("indexing an Expr is not supported; use sum, diag or einsum")


METHODS["getitem"] = _getitem
