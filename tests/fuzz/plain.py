"""A plain evaluator of the IR: every node as NumPy computes it, with no rewrite at all.

``tc.evaluate`` first rewrites an expression into its evaluation form (``finite_form``), so it
cannot be the oracle for that rewrite, nor for the simplifier that feeds it.  ``plain`` reads
each node literally: a ``CONST`` is a filled array, an ``EYE`` or ``SELECT`` a dense 0/1
matrix, an ``EINSUM`` one ``np.einsum`` call (a delta factor and a repeated output index are a
placement on the diagonal, 0 off it, as tensorcalc defines them), ``DIV`` a quotient, ``NORM`` the square root of the sum of
squares.  It shares no code with tensorcalc's evaluator or kernels; dimensions that no variable
carries come from ``dims``.

>>> import numpy as np, tensorcalc as tc
>>> f = tc.parse("sum(ones(n))^2 * norm(x)", {"x": ("n",)})
>>> float(plain(f, {"x": np.array([3.0, 4.0])}))
20.0
"""

from __future__ import annotations

import itertools
import string

import numpy as np

from tensorcalc.expr import Expr, postorder
from tensorcalc.ops import Op

_LETTERS = string.ascii_letters


def _sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def _unit(v):
    r = np.sqrt(np.sum(v * v))
    return v / r if r != 0 else np.zeros_like(v)


def _softmax(v, axis=None):
    m = np.max(v) if axis is None else np.max(v, axis=axis, keepdims=True)
    e = np.exp(v - m)
    return e / (np.sum(e) if axis is None else np.sum(e, axis=axis, keepdims=True))


def _logsumexp(v, axis=None):
    m = np.max(v) if axis is None else np.max(v, axis=axis, keepdims=True)
    s = np.sum(np.exp(v - m)) if axis is None else np.sum(np.exp(v - m), axis=axis, keepdims=True)
    out = np.log(s) + m
    return out if axis is None else np.squeeze(out, axis)


def _expm(a):
    """e^A by its Taylor series after scaling to a 1-norm of at most 1/4, then squaring (not
    tensorcalc's Padé approximant); a matrix with an inf or NaN gives NaNs."""
    a = np.asarray(a, dtype=float)
    out = np.empty_like(a)
    for idx in np.ndindex(a.shape[:-2]):
        m = a[idx]
        if not np.all(np.isfinite(m)):
            out[idx] = np.nan
            continue
        s = max(0, int(np.ceil(np.log2(max(np.abs(m).sum(axis=0).max(), 1e-300) * 4))))
        b, term = m / 2.0**s, np.eye(m.shape[0])
        total = term.copy()
        for k in range(1, 30):
            term = term @ b / k
            total = total + term
        for _ in range(s):
            total = total @ total
        out[idx] = total
    return out


def _expm_frechet(x, *es):
    """Dᵏ e^X[E₁…Eₖ] at every combination of the directions' own axes: the top-right block of
    e^M, M₀ = X, Mⱼ = [[Mⱼ₋₁, I ⊗ Eⱼ], [0, Mⱼ₋₁]] (Mathias 1996), one combination at a time."""
    own = [e.shape[: e.ndim - x.ndim] for e in es]
    out = np.empty(sum(own, ()) + x.shape)
    n = x.shape[-1]
    for combo in itertools.product(*(list(np.ndindex(p)) for p in own)):
        m = x
        for e, i in zip(es, combo):
            d = e[i]
            while d.shape[-1] < m.shape[-1]:
                z = np.zeros_like(d)
                d = np.concatenate([np.concatenate([d, z], -1), np.concatenate([z, d], -1)], -2)
            z = np.zeros_like(m)
            m = np.concatenate([np.concatenate([m, d], -1), np.concatenate([z, m], -1)], -2)
        out[sum(combo, ())] = _expm(m)[..., :n, m.shape[-1] - n :]
    return out


def _sym(a):
    return 0.5 * (a + np.swapaxes(a, -1, -2))


def _eigvecsh(a):
    """Eigenvectors of the symmetric part, each column's largest-magnitude entry positive."""
    v = np.linalg.eigh(_sym(a))[1]
    k = np.argmax(np.abs(v), axis=-2)[..., None, :]
    return v * np.sign(np.take_along_axis(v, k, axis=-2))


UNARY = {
    Op.EXP: np.exp, Op.LOG: np.log, Op.SIN: np.sin, Op.COS: np.cos, Op.TAN: np.tan,
    Op.ARCSIN: np.arcsin, Op.ARCCOS: np.arccos, Op.ARCTAN: np.arctan, Op.TANH: np.tanh,
    Op.SQRT: np.sqrt, Op.ABS: np.abs, Op.SIGN: np.sign, Op.STEP: lambda v: (v > 0) * 1.0,
    Op.RELU: lambda v: np.maximum(v, 0.0), Op.SIGMOID: _sigmoid,
    Op.SOFTPLUS: lambda v: np.logaddexp(0.0, v), Op.LOG1P: np.log1p,
}  # fmt: skip
STRUCT = {
    Op.POW: lambda n, a, b: np.power(a, b),
    Op.DIV: lambda n, a, b: a / b,
    Op.INV: lambda n, a: np.linalg.inv(a),
    Op.DET: lambda n, a: np.linalg.det(a),
    Op.LOGDET: lambda n, a: np.log(np.abs(np.linalg.det(a))),
    Op.NORM: lambda n, a: np.sqrt(np.sum(a * a)),
    Op.UNIT: lambda n, a: _unit(a),
    Op.SOFTMAX: lambda n, a: _softmax(a, tuple(n.attrs) or None),
    Op.LOGSUMEXP: lambda n, a: _logsumexp(a, tuple(n.attrs) or None),
    Op.CHOLESKY: lambda n, a: np.linalg.cholesky(_sym(a)),
    Op.PHI: lambda n, a: np.tril(a) - 0.5 * a * np.eye(a.shape[-1]),
    Op.EIGVALSH: lambda n, a: np.linalg.eigvalsh(_sym(a)),
    Op.EIGVECSH: lambda n, a: _eigvecsh(a),
    Op.SVDVALS: lambda n, a: np.linalg.svd(a, compute_uv=False),
    Op.PINV: lambda n, a: np.linalg.pinv(a),
    Op.EXPM: lambda n, a: _expm(a),
    Op.EXPM_FRECHET: lambda n, *a: _expm_frechet(*a),
    Op.STACK: lambda n, *a: np.stack(a),
    Op.RESHAPE: lambda n, a: np.reshape(a, _reshaped(n.args[0].shape, a.shape, n.shape)),
    Op.KRON: lambda n, a, b: np.kron(a, b),
    Op.ADD: lambda n, *a: sum(a[1:], a[0]),
}


def _reshaped(old, got, new) -> tuple:
    """The sizes of a reshape's target: its dimension names read from the argument's value."""
    sizes = dict(zip(old, got))
    return tuple(d if isinstance(d, int) else sizes[d] for d in new)


def _commutation(m: int, n: int) -> np.ndarray:
    """K with K vec(A) = vec(A') for m×n A: column j·m + i of vec(A) is row i·n + j."""
    k = np.zeros((m * n, m * n))
    for i in range(m):
        for j in range(n):
            k[i * n + j, j * m + i] = 1.0
    return k


def _einsum(n: Expr, vals) -> np.ndarray:
    ins, out = n.attrs
    # a delta δ_pq (an EYE factor) is a placement, as tensorcalc defines it: q is renamed p in
    # the other factors and the product is placed on the diagonal, exactly 0 off it (so an inf
    # or NaN stays in its own entry: 0 · NaN off the diagonal is 0, not NaN)
    operands, rename = [], {}
    for a, v, ls in zip(n.args, vals, ins):
        if a.op is Op.EYE and ls[0] != ls[1]:
            p, q = (_root(rename, x) for x in ls)
            if p != q:
                rename[q] = p
                continue
        operands.append((v, ls))
    operands = [(v, tuple(_root(rename, x) for x in ls)) for v, ls in operands]
    labels = tuple(_root(rename, x) for x in out)
    first = tuple(dict.fromkeys(labels))
    for x in first:
        if not any(x in ls for _, ls in operands):  # only the deltas carried it: a ones axis
            operands.append((np.ones(_label_size(n, vals, x, rename)), (x,)))
    letters = {}
    for _, ls in operands:
        for x in ls:
            letters.setdefault(x, _LETTERS[len(letters)])
    spec = ",".join("".join(letters[x] for x in ls) for _, ls in operands)
    spec += "->" + "".join(letters[x] for x in first)
    small = np.einsum(spec, *(v for v, _ in operands), optimize=len(operands) > 2)
    if first == labels:
        return small
    full = np.zeros(tuple(small.shape[first.index(x)] for x in labels))
    grids = np.indices(small.shape)
    full[tuple(grids[first.index(x)] for x in labels)] = small
    return full


def _root(rename: dict, x):
    while x in rename:
        x = rename[x]
    return x


def _label_size(n: Expr, vals, x, rename) -> int:
    for v, ls in zip(vals, n.attrs[0]):
        for axis, lab in enumerate(ls):
            if _root(rename, lab) == x:
                return np.shape(v)[axis]
    raise AssertionError(f"label {x!r} is on no operand")


def sizes(e: Expr, values: dict, dims=None) -> dict:
    """Dimension names bound from the values' shapes (and ``dims``)."""
    out = dict(dims or {})
    for n in postorder([e]):
        if n.op is Op.VAR:
            for d, k in zip(n.shape, np.shape(values[n.attrs[0]])):
                if isinstance(d, str):
                    out[d] = k
    return out


def plain(e: Expr, values: dict, dims=None) -> np.ndarray:
    """The value of ``e`` read literally, node by node (see the module)."""
    return plain_noise(e, values, dims)[0]


NOISE = 1e-11  # a sum this small beside the sum of its terms' magnitudes is rounding noise
_KEEPS_ZERO = {Op.NORM, Op.ABS, Op.SQRT}  # f(0) = 0, and f(noise) is noise
_POLE = {Op.DIV: 1, Op.UNIT: 0, Op.LOG: 0, Op.INV: 0}  # the argument at a pole


def plain_noise(e: Expr, values: dict, dims=None) -> tuple[np.ndarray, bool]:
    """``plain``'s value, and whether it is the quotient of rounding noise: a sum that cancels
    to noise (every entry under ``NOISE`` times its terms' magnitudes: Σ (x − mean(x)), exactly
    0) reaching a denominator, a log, an inverse or a negative power.  Such a plain value is
    no evidence about a rewrite that made the exact zero exact."""
    dims = sizes(e, values, dims)

    def concrete(shape):
        return tuple(d if isinstance(d, int) else dims[d] for d in shape)

    memo, noise, unsure = {}, set(), set()
    with np.errstate(all="ignore"):
        for n in postorder([e]):
            if n.op is Op.VAR:
                v = np.asarray(values[n.attrs[0]], dtype=float)
            elif n.op is Op.CONST:
                v = np.full(concrete(n.shape), n.attrs[0])
            elif n.op is Op.EYE:
                v = np.eye(concrete(n.shape)[0])
            elif n.op is Op.SELECT:
                m, size, start, step = n.attrs
                v = np.zeros((m, size))
                for i in range(m):
                    v[i, start + i * step] = 1.0
            elif n.op is Op.COMMUTATION:
                v = _commutation(*n.attrs)
            elif n.op is Op.ARRAY:
                v = np.array(n.attrs[1], dtype=float).reshape(n.attrs[0])
            elif n.op is Op.EINSUM:
                v = _einsum(n, [memo[a] for a in n.args])
            elif n.op in UNARY:
                v = UNARY[n.op](memo[n.args[0]])
            else:
                v = STRUCT[n.op](n, *(memo[a] for a in n.args))
            memo[n] = np.asarray(v, dtype=float)
            if memo[n].shape != concrete(n.shape):
                raise AssertionError(f"{n.op} gave shape {memo[n].shape}, not {n.shape}")
            if any(a in unsure for a in n.args) or _at_pole(n, noise):
                unsure.add(n)
            elif _cancelled(n, memo, noise):
                noise.add(n)
    return memo[e], e in unsure


def _at_pole(n: Expr, noise: set) -> bool:
    k = _POLE.get(n.op)
    if n.op is Op.POW:
        return (
            n.args[0] in noise and bool(np.any(np.asarray(n.args[1].attrs[0]) < 0))
            if n.args[1].op is Op.CONST
            else n.args[0] in noise
        )
    return k is not None and n.args[k] in noise


def _cancelled(n: Expr, memo: dict, noise: set) -> bool:
    """Whether every entry of ``n`` is rounding noise of an exact 0 (see ``plain_noise``)."""
    v = memo[n]
    if n.op in _KEEPS_ZERO or (n.op is Op.POW and n.args[1].op is Op.CONST):
        return n.args[0] in noise
    if n.op is Op.EINSUM and any(a in noise for a in n.args):
        return True
    if n.op is Op.ADD:
        size = sum(np.abs(memo[a]) for a in n.args)
    elif n.op is Op.EINSUM:
        size = _einsum(n, [np.abs(memo[a]) for a in n.args])
    else:
        return False
    return bool(np.all(np.abs(v) <= NOISE * size) and np.any(size > 0))
