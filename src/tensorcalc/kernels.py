"""Numerically stable NumPy kernels shared by the reference evaluator and ``tensorcalc.numpy``."""

from __future__ import annotations

import numpy as np

from .errors import EvaluationError

_KEEP = (np.float32, np.float64, np.complex64, np.complex128)


def _to_float64(value):
    """An integer or bool tensor with no ``astype`` (TensorFlow) as a float64 NumPy array."""
    return np.asarray(value).astype(np.float64)


def as_input(name: str, value):
    """A variable's value as the evaluator and every compiled function take it.

    Bools and integers become float64, float32/float64 and complex values are kept, anything
    else (strings, objects, ragged lists) is an ``EvaluationError`` naming the variable.  Arrays
    of other libraries (torch, JAX, Dask) stay theirs, cast the same way.

    >>> as_input("x", [True, False]).tolist(), as_input("x", np.float32(1)).dtype
    ([1.0, 0.0], dtype('float32'))
    """
    foreign = not isinstance(value, (np.ndarray, np.generic)) and hasattr(value, "dtype")
    if foreign and hasattr(value, "shape"):
        try:
            kind = np.dtype(getattr(value.dtype, "as_numpy_dtype", value.dtype)).kind  # tf's too
        except TypeError:  # torch dtypes are not NumPy's
            floating = value.is_floating_point() or value.is_complex()
            return value if floating or not hasattr(value, "double") else value.double()
        if kind in "biu":
            return value.astype(np.float64) if hasattr(value, "astype") else _to_float64(value)
        if kind in "fc":
            return value
        raise EvaluationError(f"{name!r} has dtype {value.dtype}; give numbers")
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as err:
        raise EvaluationError(f"{name!r} is not a numeric array: {err}") from None
    if arr.dtype.kind in "biu" or arr.dtype == np.float16:
        return arr.astype(np.float64)
    if arr.dtype.type in _KEEP:
        return arr
    if arr.dtype.kind in "fc":  # long double: to float64 / complex128
        return arr.astype(np.complex128 if arr.dtype.kind == "c" else np.float64)
    raise EvaluationError(f"{name!r} has dtype {arr.dtype} ({type(value).__name__}); give numbers")


def fresh(out, inputs):
    """``out``, copied when it shares memory with one of the arrays ``inputs`` (an input
    returned as it is, or a view of one: ``x'``, ``diag(A)``), so that writing into a result
    never changes an input.

    >>> x = np.ones(2)
    >>> fresh(x, [x]) is x, np.shares_memory(fresh(x[::-1], [x]), x)
    (False, False)
    >>> y = x + 1
    >>> fresh(y, [x]) is y
    True
    """
    if isinstance(out, np.ndarray) and any(np.may_share_memory(out, v) for v in inputs):
        return out.copy()
    return out


def sigmoid(x):
    """σ(x) = 1 / (1 + e⁻ˣ), written with tanh so it never overflows."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x)))


def logsumexp(x, axis=None):
    """log Σ exp(x) over all entries (or along ``axis``), shifted by the maximum."""
    x = np.asarray(x)
    m = np.max(x, axis=axis, keepdims=True)
    out = m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
    return out.reshape(()) if axis is None else np.squeeze(out, axis)


def softmax(x, axis=None):
    """exp(x) / Σ exp(x) over all entries (or along ``axis``), shifted by the maximum."""
    x = np.asarray(x)
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def unit(x):
    """x / ‖x‖ (Euclidean, or Frobenius for a matrix), and 0 at x = 0, as sign(0) = 0."""
    x = np.asarray(x)
    r = np.sqrt(np.sum(x * x))
    return x / np.where(r == 0, 1.0, r)


def logdet(x):
    """log |det x|."""
    return np.linalg.slogdet(x)[1]


def check_symmetric(name: str, value) -> None:
    """An ``EvaluationError`` naming ``name`` unless ``value`` (a matrix or a stack of them) is
    symmetric to rounding: a variable declared symmetric has derivatives in closed forms that
    hold on symmetric matrices only (d(x' S x)/dx = 2 S x), so every evaluating path refuses
    another value rather than return the formula's number for it.

    >>> check_symmetric("S", np.array([[1.0, 2.0], [0.0, 3.0]]))
    Traceback (most recent call last):
    tensorcalc.errors.EvaluationError: 'S' is declared symmetric but its value is not
    """
    v = np.asarray(value)
    tol = 1e-12 * np.max(np.abs(v), initial=0.0)
    if not np.allclose(v, np.swapaxes(v, -1, -2), rtol=1e-10, atol=tol):
        raise EvaluationError(f"{name!r} is declared symmetric but its value is not")


def _symmetric_part(s):
    """(S + Sᵀ)/2: cholesky, eigvalsh and eigvecsh are functions of the symmetric part, so they
    and their derivatives are defined (and agree) off symmetric matrices too, where NumPy's
    would read one triangle; finite differences of single entries stay in their domain."""
    s = np.asarray(s)
    return 0.5 * (s + np.swapaxes(s, -1, -2))


DISTINCT_TOLERANCE = 1e-8  # relative gap below which two eigenvalues count as repeated


def eigvalsh(s):
    """The eigenvalues of the symmetric part of S (S itself when symmetric), ascending.

    >>> eigvalsh([[2.0, 1.0], [1.0, 2.0]]).round(12).tolist()
    [1.0, 3.0]
    """
    return np.linalg.eigvalsh(_symmetric_part(s))


def eigvecsh(s):
    """The unit eigenvectors (columns, in eigvalsh's order) of the symmetric part of S, each
    with its largest-magnitude entry positive (a convention every backend follows).  They and
    the eigenvalues' derivatives exist only for distinct eigenvalues: repeated ones (closer
    than ``DISTINCT_TOLERANCE``, relative) are an ``EvaluationError``.

    >>> eigvecsh([[2.0, 0.0], [0.0, 1.0]]).tolist()
    [[0.0, 1.0], [1.0, 0.0]]
    """
    w, v = np.linalg.eigh(_symmetric_part(s))
    scale = np.max(np.abs(w), axis=-1, keepdims=True, initial=0.0)
    if w.shape[-1] > 1 and np.any(np.diff(w, axis=-1) <= DISTINCT_TOLERANCE * scale):
        raise EvaluationError(
            "eigenvectors (and the derivatives of eigenvalues) need distinct eigenvalues: "
            "S has a repeated eigenvalue"
        )
    k = np.argmax(np.abs(v), axis=-2)[..., None, :]
    return v * np.sign(np.take_along_axis(v, k, axis=-2))


def _full_rank(x, what: str):
    """The singular values of x, after checking that x has full rank (NumPy's matrix_rank
    tolerance, σ_max · max(m, n) · eps)."""
    x = np.asarray(x)
    s = np.linalg.svd(x, compute_uv=False)
    tol = np.max(s, axis=-1, initial=0.0) * max(x.shape[-2:]) * np.finfo(np.float64).eps
    if np.any(np.min(s, axis=-1, initial=np.inf) <= tol):
        raise EvaluationError(
            f"{what} needs a full-rank matrix (tensorcalc differentiates it only there): "
            f"its {'x'.join(map(str, x.shape[-2:]))} argument is rank-deficient"
        )
    return s


def svdvals(x):
    """The singular values of a full-rank matrix, descending; a rank-deficient one is an
    ``EvaluationError`` (singular values, the nuclear norm, are differentiable only at full
    rank and distinct values).

    >>> svdvals([[3.0, 0.0], [0.0, -2.0]]).round(12).tolist()
    [3.0, 2.0]
    """
    return _full_rank(x, "svdvals")


def pinv(x):
    """The Moore–Penrose pseudo-inverse of a full-rank matrix (rank-deficient: an
    ``EvaluationError``, as the pseudo-inverse jumps there)."""
    _full_rank(x, "pinv")
    return np.linalg.pinv(np.asarray(x))


def cholesky(s):
    """The lower Cholesky factor L of the symmetric part (S + Sᵀ)/2 (S itself when symmetric),
    on the last two axes; a part that is not positive definite is an ``EvaluationError``.

    >>> cholesky([[4.0, 2.0], [2.0, 2.0]]).tolist()
    [[2.0, 0.0], [1.0, 1.0]]
    """
    s = _symmetric_part(s)
    try:
        return np.linalg.cholesky(s)
    except np.linalg.LinAlgError:
        raise EvaluationError(
            "cholesky needs a positive definite matrix: S is not (an eigenvalue is <= 0)"
        ) from None


def phi(x):
    """Φ(X): the lower triangle of X with its diagonal halved (last two axes).

    >>> phi(np.ones((2, 2))).tolist()
    [[0.5, 0.0], [1.0, 0.5]]
    """
    x = np.asarray(x)
    return np.tril(x) - 0.5 * np.tril(np.triu(x))


def select(m, n, start, step):
    """The m×n matrix with ones at (i, start + i·step)."""
    out = np.zeros((m, n))
    out[np.arange(m), start + step * np.arange(m)] = 1.0
    return out


def softplus(x):
    """log(1 + eˣ) without overflow; analytic in x, so the complex step works through it."""
    x = np.asarray(x)
    if not np.iscomplexobj(x):
        return np.logaddexp(0.0, x)
    pos = x.real > 0
    safe_pos, safe_neg = np.where(pos, x, 0), np.where(pos, 0, x)
    return np.where(pos, x + np.log1p(np.exp(-safe_pos)), np.log1p(np.exp(safe_neg)))


def reshape(x, old, new):
    """``x`` (of symbolic shape ``old``) reshaped row-major to the symbolic shape ``new``,
    whose dimension names take their sizes from ``x``.

    >>> reshape(np.arange(6.0).reshape(2, 3), ("n", 3), ("n", 3, 1)).shape
    (2, 3, 1)
    """
    sizes = {d: k for d, k in zip(old, np.shape(x)) if isinstance(d, str)}
    return np.reshape(x, tuple(sizes.get(d, d) for d in new))


# The [13/13] Padé approximant's coefficients and the largest 1-norm it is used at (Higham,
# "The scaling and squaring method for the matrix exponential revisited", 2005, table 2.3)
PADE13 = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0,
          129060195264000.0, 10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0,
          40840800.0, 960960.0, 16380.0, 182.0, 1.0)  # fmt: skip
THETA13 = 5.371920351148152


def expm(x):
    """e^X on the last two axes, by scaling and squaring with the [13/13] Padé approximant
    (Higham 2005): each matrix is scaled by 2⁻ˢ to a 1-norm of at most θ₁₃, approximated, and
    squared s times.  A matrix with an inf or NaN entry gives NaNs (as NumPy's functions do); a
    finite X whose e^X overflows is an ``EvaluationError``.

    >>> expm([[0.0, 1.0], [0.0, 0.0]]).round(12).tolist()  # I + N for a nilpotent N
    [[1.0, 1.0], [0.0, 1.0]]
    """
    a = np.asarray(x)
    bad = ~np.all(np.isfinite(a), axis=(-2, -1))  # matrices with an inf or NaN: NaN out
    a = np.where(bad[..., None, None], 0.0, a)
    norm = np.max(np.sum(np.abs(a), axis=-2), axis=-1) if a.size else np.zeros(a.shape[:-2])
    s = np.maximum(0, np.ceil(np.log2(np.maximum(norm, 1e-300) / THETA13))).astype(int)
    a = a / (2.0**s)[..., None, None]
    b, eye = PADE13, np.eye(a.shape[-1])
    a2 = a @ a
    a4 = a2 @ a2
    a6 = a4 @ a2
    u = a @ (a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2) + b[7] * a6 + b[5] * a4 + b[3] * a2
             + b[1] * eye)  # fmt: skip
    v = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 + b[0] * eye
    r = np.linalg.solve(v - u, v + u)
    for k in range(int(np.max(s, initial=0))):
        r = np.where((k < s)[..., None, None], r @ r, r)
    if not np.all(np.isfinite(r) | bad[..., None, None]):
        raise EvaluationError("expm overflows: e^X has entries beyond the float range")
    return np.where(bad[..., None, None], np.nan, r)


EXPM_BLOCK_ENTRIES = 1 << 22  # entries of the block matrices expm_frechet builds at a time


def _blocks(m, d):
    """[[M, D], [0, M]] on the last two axes, D repeated down the diagonal to M's size."""
    while d.shape[-1] < m.shape[-1]:
        z = np.zeros_like(d)
        d = np.concatenate([np.concatenate([d, z], -1), np.concatenate([z, d], -1)], -2)
    z = np.zeros_like(m)
    return np.concatenate([np.concatenate([m, d], -1), np.concatenate([z, m], -1)], -2)


def expm_frechet(x, *es):
    """Dᵏ e^X[E₁, …, Eₖ]: the top-right block of e^M with M₀ = X, Mⱼ = [[Mⱼ₋₁, I ⊗ Eⱼ],
    [0, Mⱼ₋₁]] (Mathias 1996).  Each Eᵢ has shape Pᵢ + X's shape; the result P₁ + … + Pₖ + X's
    (every combination of the directions' own leading axes, computed a bounded number of block
    matrices at a time).  Each direction is scaled to a largest entry of 1 first (the result is
    multilinear), so a large E costs no accuracy.

    >>> expm_frechet([[1.0]], [[2.0]]).round(12).tolist()  # d e^x = e^x dx: 2e
    [[5.436563656918]]
    """
    x = np.asarray(x)
    es = [np.asarray(e) for e in es]
    own = [e.shape[: e.ndim - x.ndim] for e in es]
    counts = [int(np.prod(p)) for p in own]
    scale, flat = 1.0, []
    for e, count in zip(es, counts):
        c = float(np.max(np.abs(e), initial=0.0))
        c = c if c > 0 and np.isfinite(c) else 1.0
        scale *= c
        flat.append((e / c).reshape((count,) + x.shape))
    n, total = x.shape[-1], int(np.prod(counts))
    size = x.size // (n * n) * (2 ** len(es) * n) ** 2  # one combination's block matrices
    per = max(1, EXPM_BLOCK_ENTRIES // max(size, 1))
    out = np.empty((total,) + x.shape, dtype=np.result_type(x, *es, 1.0))
    for start in range(0, total, per):
        at = np.unravel_index(np.arange(start, min(total, start + per)), counts)
        m = np.broadcast_to(x, (len(at[0]),) + x.shape)
        for d, i in zip(flat, at):
            m = _blocks(m, d[i])
        out[start : start + len(at[0])] = expm(m)[..., :n, m.shape[-1] - n :]
    return scale * out.reshape(sum(own, ()) + x.shape)
