"""The reference evaluator: a table of NumPy implementations, one per op.

Symbolic dimensions are bound from the shapes of the arrays given for the variables; a
mismatch raises ``EvaluationError`` naming the variable.  Shared subexpressions are evaluated
once.  Functions are evaluated in their numerically stable forms (softplus, sigmoid,
logsumexp, softmax).
"""

from __future__ import annotations

import numpy as np

from .. import kernels
from ..build import array_value
from ..errors import EvaluationError
from ..expr import NOTES, Expr, postorder
from ..ops import Op
from ..shapes import bind_shape

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _einsum(n, vals):
    ins, out = n.attrs
    spec = ",".join("".join(_LETTERS[i] for i in ls) for ls in ins)
    spec += "->" + "".join(_LETTERS[i] for i in out)
    return np.einsum(spec, *vals, optimize=len(vals) > 2)


EVAL = {
    Op.EINSUM: _einsum,
    Op.ADD: lambda n, v: sum(v[1:], v[0]),
    Op.EXP: lambda n, v: np.exp(v[0]),
    Op.LOG: lambda n, v: np.log(v[0]),
    Op.SIN: lambda n, v: np.sin(v[0]),
    Op.COS: lambda n, v: np.cos(v[0]),
    Op.TAN: lambda n, v: np.tan(v[0]),
    Op.ARCSIN: lambda n, v: np.arcsin(v[0]),
    Op.ARCCOS: lambda n, v: np.arccos(v[0]),
    Op.ARCTAN: lambda n, v: np.arctan(v[0]),
    Op.TANH: lambda n, v: np.tanh(v[0]),
    Op.SQRT: lambda n, v: np.sqrt(v[0]),
    Op.ABS: lambda n, v: np.abs(v[0]),
    Op.SIGN: lambda n, v: np.sign(v[0]),
    Op.STEP: lambda n, v: (v[0] > 0).astype(float),
    Op.RELU: lambda n, v: np.maximum(v[0], 0.0),
    Op.SIGMOID: lambda n, v: kernels.sigmoid(v[0]),
    Op.SOFTPLUS: lambda n, v: kernels.softplus(v[0]),
    Op.LOG1P: lambda n, v: np.log1p(v[0]),
    Op.POW: lambda n, v: np.power(v[0], v[1]),
    Op.DIV: lambda n, v: v[0] / v[1],
    Op.INV: lambda n, v: np.linalg.inv(v[0]),
    Op.DET: lambda n, v: np.linalg.det(v[0]),
    Op.LOGDET: lambda n, v: kernels.logdet(v[0]),
    Op.NORM: lambda n, v: np.sqrt(np.sum(v[0] * v[0])),
    Op.SOFTMAX: lambda n, v: kernels.softmax(v[0]),
    Op.LOGSUMEXP: lambda n, v: kernels.logsumexp(v[0]),
}


def bind_dims(e: Expr, values: dict, dims=None) -> dict:
    """Check the arrays against the variables' shapes; return the symbolic dim bindings.

    Values of the variables of the function a derivative came from (``NOTES[e]["inputs"]``)
    bind sizes too, so d(A @ x)/dA, which has no A, takes its sizes from A's value."""
    dims = dict(dims or {})
    own = {n.attrs[0]: n for n in postorder([e]) if n.op is Op.VAR}
    for name, n in own.items():
        if name not in values:
            raise EvaluationError(f"no value given for variable {name!r} (shape {n.shape})")
        bind_shape(name, n.shape, np.shape(values[name]), dims)
    for name, n in NOTES.get(e, {}).get("inputs", {}).items():
        if name in values and name not in own:
            bind_shape(name, n.shape, np.shape(values[name]), dims)
    return dims


def _concrete(shape, dims):
    try:
        return tuple(d if isinstance(d, int) else dims[d] for d in shape)
    except KeyError as err:
        d = err.args[0]
        raise EvaluationError(
            f"dimension {d!r} is not bound by any variable of the expression; pass dims={{{d!r}: ...}}"
        ) from None


def evaluate(e: Expr, values=None, dims=None, **kw) -> np.ndarray:
    """Evaluate ``e`` with NumPy in float64 (complex inputs stay complex).

    Symbolic dimensions are bound from the arrays; ``dims`` binds any others (for example
    ``d(A @ x)/dA`` no longer contains ``A``, so its ``M`` comes from ``dims={"M": 3}``).

    >>> import tensorcalc as tc
    >>> f = tc.parse("x' @ A @ x", shapes={"x": ("n",), "A": ("n", "n")})
    >>> float(f.evaluate({"x": [1.0, 2.0], "A": [[1.0, 0.0], [0.0, 1.0]]}))
    5.0
    """
    values = dict(values or {}, **kw)
    values = {
        k: np.asarray(v, dtype=np.result_type(np.asarray(v), np.float64)) for k, v in values.items()
    }
    dims = bind_dims(e, values, dims)
    memo = {}
    with np.errstate(all="ignore"):
        for n in postorder([e]):
            if n.op is Op.VAR:
                memo[n] = values[n.attrs[0]]
            elif n.op is Op.CONST:
                memo[n] = np.full(_concrete(n.shape, dims), n.attrs[0])
            elif n.op is Op.ARRAY:
                memo[n] = array_value(n)
            elif n.op is Op.SELECT:
                memo[n] = kernels.select(*n.attrs)
            elif n.op is Op.EYE:
                memo[n] = np.eye(_concrete(n.shape, dims)[0])
            else:
                try:
                    memo[n] = np.asarray(EVAL[n.op](n, [memo[a] for a in n.args]))
                except np.linalg.LinAlgError as err:
                    raise EvaluationError(
                        f"{n.op.value} failed: {err} (the matrix is singular)"
                    ) from None
    return memo[e]
