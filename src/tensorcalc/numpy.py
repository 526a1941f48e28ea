"""``import tensorcalc.numpy as tnp``: NumPy-like functions for writing traceable functions.

Each function works on NumPy arrays (computing numbers with NumPy) and on traced tensorcalc
expressions (building the symbolic graph), so one Python function serves both ``tc.grad`` and
plain evaluation:

>>> import numpy as np
>>> import tensorcalc as tc
>>> import tensorcalc.numpy as tnp
>>> def f(x):
...     return tnp.sum(tnp.sin(x) * x)
>>> float(f(np.array([1.0, 2.0])))  # plain NumPy
2.66006...
>>> print(tc.grad(f).formula(np.array([1.0, 2.0])))
sin(x) + cos(x) * x

NumPy's own functions (``np.sin``, ``np.sum``, ``np.linalg.inv``, …) also work on traced
values where tensorcalc has them; others raise a ``TracingError`` that says what to use.
"""

from __future__ import annotations

import numpy as _np

from . import build as _b
from . import kernels as _k
from . import sugar as _s
from .errors import TracingError
from .expr import Expr as _Expr


def _traced(*xs):
    return any(isinstance(x, _Expr) for x in xs)


def _dual(name, symbolic, numeric, doc):
    def f(*args, **kwargs):
        return (symbolic if _traced(*args) else numeric)(*args, **kwargs)

    f.__name__ = name
    f.__qualname__ = name
    f.__doc__ = doc
    return f


_ELEMENTWISE = {
    "exp": (_s.exp, _np.exp), "log": (_s.log, _np.log), "sin": (_s.sin, _np.sin),
    "cos": (_s.cos, _np.cos), "tan": (_s.tan, _np.tan), "arcsin": (_s.arcsin, _np.arcsin),
    "arccos": (_s.arccos, _np.arccos), "arctan": (_s.arctan, _np.arctan),
    "tanh": (_s.tanh, _np.tanh), "sqrt": (_s.sqrt, _np.sqrt), "abs": (_s.abs_, _np.abs),
    "absolute": (_s.abs_, _np.abs), "sign": (_s.sign, _np.sign),
    "relu": (_s.relu, lambda x: _np.maximum(x, 0.0)), "sigmoid": (_s.sigmoid, _k.sigmoid),
    "softplus": (_s.softplus, _k.softplus), "log1p": (_s.log1p, _np.log1p),
    "square": (lambda x: x * x, _np.square),
}  # fmt: skip

for _name, (_sym, _num) in _ELEMENTWISE.items():
    globals()[_name] = _dual(
        _name, _sym, _num, f"Elementwise {_name} of an array or a traced value."
    )

sum = _dual("sum", _b.sum_, _np.sum, "Sum of all entries, or along ``axis``.")  # noqa: A001
trace = _dual("trace", _b.trace, _np.trace, "Matrix trace.")
diag = _dual("diag", _b.diag, _np.diag, "Vector → diagonal matrix; square matrix → diagonal.")
outer = _dual("outer", _b.outer, _np.outer, "Outer product.")
dot = _dual("dot", _b.matmul, _np.dot, "Inner / matrix product of vectors and matrices.")
matmul = _dual("matmul", _b.matmul, _np.matmul, "Matrix product (``@``).")
transpose = _dual("transpose", _b.transpose, _np.transpose, "Reverse (or permute) the axes.")
reshape = _dual("reshape", _b.reshape, _np.reshape, "Row-major reshape (one size may be -1).")
kron = _dual("kron", _b.kron, _np.kron, "Kronecker product of two matrices or two vectors.")
logsumexp = _dual(
    "logsumexp", _s.logsumexp, _k.logsumexp, "Stable log Σ exp (all entries or ``axis``)."
)
softmax = _dual("softmax", _s.softmax, _k.softmax, "Softmax over all entries, or along ``axis``.")
logdet = _dual("logdet", _s.logdet, _k.logdet, "log |det x|.")
power = _dual("power", _b.pow_, _np.power, "Elementwise power.")
divide = _dual("divide", _b.div, _np.divide, "Elementwise quotient.")
multiply = _dual("multiply", _b.mul, _np.multiply, "Elementwise product.")
add = _dual("add", _b.add, _np.add, "Elementwise sum.")
subtract = _dual("subtract", _b.sub, _np.subtract, "Elementwise difference.")
negative = _dual("negative", _b.neg, _np.negative, "Elementwise negation.")


mean = _dual("mean", _b.mean, _np.mean, "Mean of all entries, or along ``axis``.")


def maximum(x, y):
    """Elementwise maximum; on traced values only ``maximum(x, 0)`` (that is, relu)."""
    if not _traced(x, y):
        return _np.maximum(x, y)
    if isinstance(y, (int, float)) and y == 0:
        return _s.relu(x)
    if isinstance(x, (int, float)) and x == 0:
        return _s.relu(y)
    raise TracingError(
        "maximum of two traced values is not differentiable here; use relu(x - y) + y"
    )


def einsum(spec: str, *operands):
    """``einsum`` with an explicit output (``"ij,jk->ik"``)."""
    if not _traced(*operands):
        return _np.einsum(spec, *operands)
    ins, _, out = spec.replace(" ", "").partition("->")
    return _b.einsum(
        [(_b.to_expr(o), tuple(g)) for o, g in zip(operands, ins.split(","))], tuple(out)
    )


ones, zeros, eye = _np.ones, _np.zeros, _np.eye
pi, e = _np.pi, _np.e


class _Linalg:
    """``tnp.linalg``: inv, det, norm, slogdet."""

    inv = staticmethod(_dual("inv", _s.inv, _np.linalg.inv, "Matrix inverse."))
    det = staticmethod(_dual("det", _s.det, _np.linalg.det, "Determinant."))
    norm = staticmethod(_dual("norm", _s.norm, _np.linalg.norm, "Euclidean / Frobenius norm."))

    @staticmethod
    def slogdet(x):
        """(sign, log |det x|)."""
        if not _traced(x):
            return _np.linalg.slogdet(x)
        return _s.sign(_s.det(x)), _s.logdet(x)


linalg = _Linalg()
