"""The reference evaluator: a table of NumPy implementations, one per op.

Symbolic dimensions are bound from the shapes of the arrays given for the variables; a
mismatch raises ``EvaluationError`` naming the variable.  Values are converted by
``kernels.as_input``, as compiled functions convert them.  Shared subexpressions are evaluated
once.  Functions are evaluated in their numerically stable forms (softplus, sigmoid,
logsumexp, softmax).

Work is bounded: before anything is computed, every node's size is checked against
``max_elements`` (``MAX_ELEMENTS`` = 2**28 entries, 2 GiB of float64, by default), and an
``EvaluationError`` names the node and its shape.  Constant fills are broadcast views, and a
selection (``x[::-1]``, a ``SELECT`` leaf) is never a dense matrix: in a product it is indexing
(``S @ x``) or a scatter into zeros (``S' @ g``); deltas are relabellings.

With inf or NaN among the inputs the result of a product depends on how it is associated
(``x' A x`` with ``x₀ = inf`` is ``inf`` one way and ``inf − inf = nan`` the other), so then
products are associated as compiled code associates them (``codegen.paths.binarize`` for the
same sizes), and ``evaluate`` and ``tc.compile`` give the same infs and NaNs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from .. import kernels
from ..build import array_value
from ..codegen.paths import binarize
from ..errors import EvaluationError
from ..expr import NOTES, Expr, postorder
from ..ops import Op
from ..shapes import bind_shape, normal_keys
from ..simplify.finite import finite_form

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
MAX_ELEMENTS = 2**28  # the largest array evaluate builds by default (2 GiB of float64)


class _Selection:
    """A ``SELECT`` or ``EYE`` leaf, kept as its index vector: ``S[i, idx[i]] = 1``."""

    def __init__(self, n, idx, identity=False):
        self.shape = (len(idx), n)
        self.idx = idx
        self.identity = identity  # the Kronecker delta: contracting it is a relabelling

    def take(self, idx, axis):
        """Rows ``idx`` (a selection again) or columns ``idx`` (dense) of the matrix."""
        return _Selection(self.shape[1], self.idx[idx]) if axis == 0 else self.dense()[:, idx]

    def dense(self):
        out = np.zeros(self.shape)
        out[np.arange(self.shape[0]), self.idx] = 1.0
        return out


def _dense(v):
    return v.dense() if isinstance(v, _Selection) else v


def _plain_einsum(operands, out):
    # sum each operand over the indices only it carries first (Σᵢⱼ aᵢ bⱼ = Σa · Σb), as
    # compiled code does: cheaper, and an inf in b with a 0 in a gives ±inf, not 0·inf = nan
    reduced = []
    for k, (v, ls) in enumerate(operands):
        elsewhere = set(out).union(*(set(o) for j, (_, o) in enumerate(operands) if j != k))
        own = tuple(dict.fromkeys(x for x in ls if x not in elsewhere))
        if own and len(operands) > 1:
            kept = tuple(x for x in dict.fromkeys(ls) if x not in own)
            v, ls = _plain_einsum([(v, ls)], kept), kept
        reduced.append((v, ls))
    operands = reduced
    letters = {}
    for _, ls in operands:
        for x in ls:
            letters.setdefault(x, len(letters))
    if len(letters) > len(_LETTERS):
        raise EvaluationError(
            f"a product with {len(letters)} indices is beyond NumPy's einsum ({len(_LETTERS)})"
        )
    spec = ",".join("".join(_LETTERS[letters[x]] for x in ls) for _, ls in operands)
    spec += "->" + "".join(_LETTERS[letters[x]] for x in out)
    return np.einsum(spec, *(v for v, _ in operands), optimize=len(operands) > 2)


def _relabel(operands, old, new):
    return [(v, tuple(new if x == old else x for x in ls)) for v, ls in operands]


def _take(operands, sel, p, q):
    """The operands at q = idx[p]: their q axes indexed by the selection and named p."""
    if sel.identity:
        return _relabel(operands, q, p)
    taken = []
    for v, ls in operands:
        for axis in [a for a, x in enumerate(ls) if x == q]:
            v = v.take(sel.idx, axis) if isinstance(v, _Selection) else np.take(v, sel.idx, axis)
        taken.append((v, tuple(p if x == q else x for x in ls)))
    return taken


def _select_einsum(operands, out):
    """Σ Π operands, with each selection (and delta) applied as indexing, relabelling or a
    scatter into zeros, never as a dense 0/1 matrix (so no 0·inf products either)."""
    k = next((k for k, (v, ls) in enumerate(operands) if isinstance(v, _Selection)), None)
    if k is None:
        return _plain_einsum(operands, out)
    sel, (p, q) = operands[k]
    others = operands[:k] + operands[k + 1 :]
    if p != q and q not in out and any(q in ls for _, ls in others):  # Σ_q S[p,q] A[..q..]
        return _select_einsum(_take(others, sel, p, q), out)
    if p != q and p not in out and (q in out or any(p in ls for _, ls in others)):
        if q not in out:  # Σ_q S[p,q] = 1
            return _select_einsum(others, out)
        if not any(p in ls for _, ls in others):  # Σ_p S[p,q]: the selected columns, placed
            others = others + [(np.ones(sel.shape[0]), (p,))]
        if sel.identity:
            return _select_einsum(_relabel(others, p, q), out)
        axis = out.index(q)  # scatter the rows into the columns idx; operands on q read at idx
        part = _select_einsum(_take(others, sel, p, q), tuple(p if x == q else x for x in out))
        full = np.zeros(part.shape[:axis] + (sel.shape[1],) + part.shape[axis + 1 :], part.dtype)
        full[(slice(None),) * axis + (sel.idx,)] = part
        return full
    if p != q and p in out and q in out:  # S[p,q] · rest[..p..], placed at (p, idx[p])
        others = _take(others, sel, p, q)
        if not any(p in ls for _, ls in others):
            others = others + [(np.ones(sel.shape[0]), (p,))]
        rest = tuple(x for x in out if x != q)
        part = _select_einsum(others, rest)
        front = np.moveaxis(part, rest.index(p), -1)
        full = np.zeros(front.shape + (sel.shape[1],), part.dtype)
        full[..., np.arange(sel.shape[0]), sel.idx] = front
        return np.moveaxis(full, (-2, -1), (out.index(p), out.index(q)))
    return _select_einsum(others + [(sel.dense(), (p, q))], out)


def _einsum(n, vals):
    ins, out = n.attrs
    return _select_einsum(list(zip(vals, ins)), out)


EVAL = {
    Op.EINSUM: _einsum,
    Op.ADD: lambda n, v: sum((_dense(a) for a in v[1:]), _dense(v[0])),
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
    Op.UNIT: lambda n, v: kernels.unit(v[0]),
    Op.SOFTMAX: lambda n, v: kernels.softmax(v[0], n.attrs or None),
    Op.LOGSUMEXP: lambda n, v: kernels.logsumexp(v[0], n.attrs or None),
    Op.CHOLESKY: lambda n, v: kernels.cholesky(v[0]),
    Op.PHI: lambda n, v: kernels.phi(v[0]),
    Op.EIGVALSH: lambda n, v: kernels.eigvalsh(v[0]),
    Op.EIGVECSH: lambda n, v: kernels.eigvecsh(v[0]),
    Op.SVDVALS: lambda n, v: kernels.svdvals(v[0]),
    Op.PINV: lambda n, v: kernels.pinv(v[0]),
    Op.EXPM: lambda n, v: kernels.expm(v[0]),
    Op.EXPM_FRECHET: lambda n, v: kernels.expm_frechet(*(_dense(a) for a in v)),
    Op.STACK: lambda n, v: np.stack([_dense(a) for a in v]),  # [a, b]
    Op.RESHAPE: lambda n, v: kernels.reshape(v[0], n.args[0].shape, n.shape),
    Op.KRON: lambda n, v: np.kron(v[0], v[1]),
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
        if n.attrs[2:] == ("symmetric",):
            kernels.check_symmetric(name, values[name])
    failed = []
    for name, n in NOTES.get(e, {}).get("inputs", {}).items():
        if name in values and name not in own:  # a hint: the node may be another's too
            err = bind_shape(name, n.shape, np.shape(values[name]), dims, strict=False)
            failed += [(n.shape, err)] if err else []
    if failed:  # an error only where the size it would have bound is missing
        missing = {d for n in postorder([e]) for d in n.shape if isinstance(d, str)} - set(dims)
        for shape, err in failed:
            if missing & set(shape):
                raise err
    return dims


def _concrete(shape, dims):
    try:
        return tuple(d if isinstance(d, int) else dims[d] for d in shape)
    except KeyError as err:
        d = err.args[0]
        raise EvaluationError(
            f"dimension {d!r} is not bound by any variable of the expression; pass dims={{{d!r}: ...}}"
        ) from None


def _check_sizes(order, dims, max_elements):
    """An ``EvaluationError`` before any work if some node would have too many entries."""
    for n in order:
        if n.op in (Op.VAR, Op.CONST, Op.SELECT, Op.EYE, Op.COMMUTATION):
            continue  # given, a broadcast view, or index vectors
        size = math.prod(_concrete(n.shape, dims))
        if size > max_elements:
            shape = tuple(_concrete(n.shape, dims))
            raise EvaluationError(
                f"evaluating {n.op.value} would build an array of shape {shape} ({size:.3g} "
                f"entries), above the limit of max_elements={max_elements}; pass a larger "
                "max_elements= to allow it"
            )


def evaluate(e: Expr, values=None, /, dims=None, max_elements: int = MAX_ELEMENTS, **kw):
    """Evaluate ``e`` with NumPy (bools and integers as float64; float32 and complex kept).

    Symbolic dimensions are bound from the arrays; ``dims`` binds any others (for example
    ``d(A @ x)/dA`` no longer contains ``A``, so its ``M`` comes from ``dims={"M": 3}``).
    Variables may be given as keywords, even ones named ``values`` or ``dims``; names are read
    NFKC-normalised (``{"ｘ": v}`` is ``x``'s value).  No array of more than ``max_elements``
    entries is built (``MAX_ELEMENTS`` by default).

    >>> import tensorcalc as tc
    >>> f = tc.parse("x' @ A @ x", shapes={"x": ("n",), "A": ("n", "n")})
    >>> float(f.evaluate({"x": [1.0, 2.0], "A": [[1.0, 0.0], [0.0, 1.0]]}))
    5.0
    """
    if dims is not None and not isinstance(dims, Mapping):
        kw["dims"], dims = dims, None  # the value of a variable named dims
    values = normal_keys({**(values or {}), **kw})
    values = {k: np.asarray(kernels.as_input(k, v)) for k, v in values.items()}
    dims = bind_dims(e, values, dims and normal_keys(dims, "dims"))
    given, e = e, finite_form(e)  # x x' / norm(x) as norm(x) u u', u = unit(x): 0 at x = 0
    if not all(np.all(np.isfinite(v)) for v in values.values()):
        e = binarize([e], bind_dims(given, values))[0]  # the compiled association
    order = postorder([e])
    _check_sizes(order, dims, max_elements)
    memo = {}
    with np.errstate(all="ignore"):
        for n in order:
            if n.op is Op.VAR:
                memo[n] = values[n.attrs[0]]
            elif n.op is Op.CONST:
                memo[n] = np.broadcast_to(np.float64(n.attrs[0]), _concrete(n.shape, dims))
            elif n.op is Op.ARRAY:
                memo[n] = array_value(n)
            elif n.op is Op.SELECT:
                m, size, start, step = n.attrs
                memo[n] = _Selection(size, start + step * np.arange(m))
            elif n.op is Op.EYE:
                size = _concrete(n.shape, dims)[0]
                memo[n] = _Selection(size, np.arange(size), identity=True)
            elif n.op is Op.COMMUTATION:  # K[i·n + j, j·m + i] = 1: row r reads column idx[r]
                m, size = n.attrs
                r = np.arange(m * size)
                memo[n] = _Selection(m * size, (r % size) * m + r // size)
            else:
                args = [memo[a] for a in n.args]
                if n.op is not Op.EINSUM:
                    args = [_dense(a) for a in args]
                try:
                    memo[n] = np.asarray(EVAL[n.op](n, args))
                except np.linalg.LinAlgError as err:
                    raise EvaluationError(
                        f"{n.op.value} failed: {err} (the matrix is singular)"
                    ) from None
    out = _dense(memo[e])
    return np.array(out) if e.op is Op.CONST else kernels.fresh(out, values.values())
