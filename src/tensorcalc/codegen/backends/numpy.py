"""NumPy backend."""

from . import Backend

_FLOAT = """def _float(x):
    # bool and integer inputs as floats: a bool X @ Z is a logical or, int8 products wrap
    x = np.asarray(x)
    return x if x.dtype.kind in "fc" else x.astype(np.float64)"""

_SIGMOID = """def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))"""
_SOFTMAX = """def _softmax(x):
    e = np.exp(x - np.max(x))
    return e / np.sum(e)"""
_LSE = """def _logsumexp(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))"""

_GRAM = '''try:  # BLAS's SYRK adds into the result in place (beta = 1); NumPy's @ cannot
    from scipy.linalg.blas import dsyrk as _syrk
except ImportError:
    _syrk = None


def _gram(x, d, limit=None):
    """x' diag(d) x; a symmetric product when d >= 0.  One scaled copy of x and NumPy's
    threaded SYRK (r.T @ r), unless ``limit`` (numbers this call may hold: the result and its
    temporaries) is too small for the copy: then x's rows are added into the result as many
    at a time as fit (SciPy's SYRK with beta = 1 for float64, else r.T @ r per block)."""
    n, m = x.shape
    if not np.all(d >= 0):
        return x.T @ (d[:, None] * x)
    syrk = _syrk is not None and x.dtype == np.float64
    # what the copies may take: the limit less the result (twice without SYRK: r.T @ r is
    # made before it is added), d, a vector that d was made from and NumPy's ufunc buffer
    rows = n
    if limit is not None:
        free = limit - (1 if syrk else 2) * m * m - 2 * n - np.getbufsize()
        rows = max(1, free // max(m, 1))
    if rows >= n:
        r = x * np.sqrt(d)[:, None]
        return r.T @ r
    out = np.zeros((m, m), dtype=np.result_type(x, d), order="F")
    for s in range(0, n, rows):
        r = x[s : s + rows] * np.sqrt(d[s : s + rows])[:, None]
        if syrk:
            _syrk(1.0, r.T, beta=1.0, c=out, overwrite_c=1)  # the upper triangle += r' r
        else:
            out += r.T @ r
        del r  # freed before the next block's copy
    if syrk:
        k = max(1, min(m, rows // 2))  # a triangle of k x k at a time: within the copies' room
        for j in range(0, m, k):  # the lower triangle, a block of columns at a time
            out[j + k :, j : j + k] = out[j : j + k, j + k :].T
            block = out[j : j + k, j : j + k]
            block += np.triu(block, 1).T
    return out'''

_UNIT = """def _unit(x):
    r = np.sqrt(np.sum(x * x))
    return x / np.where(r == 0, 1.0, r)"""

_SELECT = """def _select(m, n, start, step):
    out = np.zeros((m, n))
    out[np.arange(m), start + step * np.arange(m)] = 1.0
    return out"""

_SCATTER = """def _scatter(x, axis, n, start, step):
    # x written into zeros at start, start + step, ... along axis: S' @ x without a dense S
    stop = start + step * x.shape[axis]
    out = np.zeros(x.shape[:axis] + (n,) + x.shape[axis + 1 :], dtype=x.dtype)
    out[(slice(None),) * axis + (slice(start, stop if stop >= 0 else None, step),)] = x
    return out"""

_PLACE = """def _place(x, p, q, n, start, step):
    # x written where a new axis q (of n) is start + step * (x's axis p), zeros elsewhere:
    # through a strided view of the zeros, S[p, q] x[.., p, ..] without a dense S
    out = np.zeros(x.shape[:q] + (n,) + x.shape[q:], dtype=x.dtype)
    strides = list(out.strides)
    along = strides.pop(q)
    strides[p] += step * along
    view = out[(slice(None),) * q + (start,)]
    np.lib.stride_tricks.as_strided(view, x.shape, strides)[...] = x
    return out"""

# the same placement as ``where`` of a mask, for libraries whose arrays have no writable strided
# views (JAX, Dask, MXNet spell it with their own functions)
PLACE_WHERE = """def _place(x, p, q, n, start, step):
    # x written where a new axis q (of n) is start + step * (x's axis p), zeros elsewhere
    at = start + step * np.arange(x.shape[p])
    at = np.reshape(at, [-1 if k == p else 1 for k in range(len(x.shape))])
    along = [-1 if k == q else 1 for k in range(len(x.shape) + 1)]
    mask = np.expand_dims(at, q) == np.reshape(np.arange(n), along)
    return np.where(mask, np.expand_dims(x, q), 0.0)"""

_CHOLESKY = """def _cholesky(s):
    # the lower factor of the symmetric part (S + S')/2, as tensorcalc defines cholesky(S)
    return np.linalg.cholesky(0.5 * (s + np.swapaxes(s, -1, -2)))"""
_PHI = """def _phi(x):
    # the lower triangle with the diagonal halved (the Cholesky differential's Phi)
    return np.tril(x) - 0.5 * np.tril(np.triu(x))"""

_EIGVALSH = """def _eigvalsh(s):
    # the eigenvalues of the symmetric part (S + S')/2, ascending
    return np.linalg.eigvalsh(0.5 * (s + np.swapaxes(s, -1, -2)))"""
_EIGVECSH = """def _eigvecsh(s):
    # eigenvectors of (S + S')/2, each column's largest-magnitude entry positive; they (and
    # eigenvalue derivatives) exist only for distinct eigenvalues
    w, v = np.linalg.eigh(0.5 * (s + np.swapaxes(s, -1, -2)))
    scale = np.max(np.abs(w), axis=-1, keepdims=True, initial=0.0)
    if w.shape[-1] > 1 and np.any(np.diff(w, axis=-1) <= 1e-8 * scale):
        raise ValueError("eigenvectors need distinct eigenvalues: S has a repeated eigenvalue")
    k = np.argmax(np.abs(v), axis=-2)[..., None, :]
    return v * np.sign(np.take_along_axis(v, k, axis=-2))"""

_FULL_RANK = """def _full_rank(x):
    # singular values and pseudo-inverses are differentiated only at full rank
    s = np.linalg.svd(x, compute_uv=False)
    if np.any(np.min(s, axis=-1) <= np.max(s, axis=-1) * max(x.shape[-2:]) * 2.2e-16):
        raise ValueError("svdvals and pinv need a full-rank matrix: X is rank-deficient")
    return s"""
_PINV = """def _pinv(x):
    # the pseudo-inverse is differentiated only at full rank
    s = np.linalg.svd(x, compute_uv=False)
    if np.any(np.min(s, axis=-1) <= np.max(s, axis=-1) * max(x.shape[-2:]) * 2.2e-16):
        raise ValueError("svdvals and pinv need a full-rank matrix: X is rank-deficient")
    return np.linalg.pinv(x)"""

_EXPM = """def _expm(a):
    # e^A on the last two axes: scaling and squaring with the [13/13] Pade approximant (Higham
    # 2005), each matrix scaled by 2^-s to a 1-norm of at most theta_13, then squared s times
    b = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0,
         129060195264000.0, 10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0,
         40840800.0, 960960.0, 16380.0, 182.0, 1.0)
    norm = np.max(np.sum(np.abs(a), axis=-2, keepdims=True), axis=-1, keepdims=True)
    bad = np.logical_not(np.isfinite(norm))  # a matrix with an inf or NaN gives NaNs
    a, norm = np.where(bad, 0.0, a), np.where(bad, 0.0, norm)
    s = np.maximum(np.ceil(np.log2(np.maximum(norm, 1e-300) / 5.371920351148152)), 0.0)
    a = a / 2.0**s
    i = np.eye(a.shape[-1], dtype=a.dtype)
    a2 = a @ a
    a4 = a2 @ a2
    a6 = a4 @ a2
    u = a @ (a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2) + b[7] * a6 + b[5] * a4 + b[3] * a2
             + b[1] * i)
    v = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 + b[0] * i
    r = np.linalg.solve(v - u, v + u)
    for k in range(int(np.max(s))):
        r = np.where(s > k, r @ r, r)
    return np.where(bad, np.nan, r)"""
_EXPM_FRECHET = """def _expm_frechet(x, *es):
    # D^k e^X[E1, ..., Ek]: the top-right block of e^M, M0 = X, Mj = [[Mj-1, I (x) Ej], [0, Mj-1]]
    # (Mathias 1996), at every combination of the directions' own leading axes (one flat axis
    # while M is built: MXNet's arrays stop at rank 5), which come first in the result
    xs = tuple(x.shape)
    own = [tuple(e.shape)[: len(e.shape) - len(xs)] for e in es]
    scale, m = 1.0, np.reshape(x, (1,) + xs)
    for e, p in zip(es, own):
        c = np.max(np.abs(e))
        c = np.where(c > 0.0, c, np.ones_like(c))  # multilinear: each direction scaled to 1
        scale = scale * c
        count = 1
        for q in p:
            count = count * q
        d = np.reshape(e / c, (1, count) + xs)
        while d.shape[-1] < m.shape[-1]:
            z = np.zeros_like(d)
            d = np.concatenate([np.concatenate([d, z], -1), np.concatenate([z, d], -1)], -2)
        b, rest = m.shape[0], tuple(m.shape)[1:]
        m = np.reshape(np.broadcast_to(np.reshape(m, (b, 1) + rest), (b, count) + rest), (b * count,) + rest)
        d = np.reshape(np.broadcast_to(d, (b, count) + rest), (b * count,) + rest)
        z = np.zeros_like(m)
        m = np.concatenate([np.concatenate([m, d], -1), np.concatenate([z, m], -1)], -2)
    n = xs[-1]
    return np.reshape(scale * _expm(m)[..., :n, m.shape[-1] - n :], sum(own, ()) + xs)"""

_SOFTMAX_AXIS = """def _softmax_axis(x, axis):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)"""
_LSE_AXIS = """def _logsumexp_axis(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
    return np.squeeze(m, axis) + np.log(np.sum(np.exp(x - m), axis=axis))"""

_COMMUTATION = """def _commutation(m, n):
    # K[i*n + j, j*m + i] = 1: K @ vec(A) = vec(A') for an m-by-n A (a permuted identity)
    r = np.arange(m * n)
    return np.eye(m * n)[(r % n) * m + r // n]"""

KRON = """def _kron(a, b):
    # the Kronecker product of two matrices (or two vectors) as an outer product, reshaped
    if len(a.shape) == 1:
        return {lib}.reshape({lib}.einsum("i,k->ik", a, b), (-1,))
    rows, cols = a.shape[0] * b.shape[0], a.shape[1] * b.shape[1]
    return {lib}.reshape({lib}.einsum("ij,kl->ikjl", a, b), (rows, cols))"""

BACKEND = Backend(
    name="numpy",
    imports=("import numpy as np",),
    funcs={
        "exp": "np.exp({0})",
        "log": "np.log({0})",
        "sin": "np.sin({0})",
        "cos": "np.cos({0})",
        "tan": "np.tan({0})",
        "arcsin": "np.arcsin({0})",
        "arccos": "np.arccos({0})",
        "arctan": "np.arctan({0})",
        "tanh": "np.tanh({0})",
        "sqrt": "np.sqrt({0})",
        "abs": "np.abs({0})",
        "sign": "np.sign({0})",
        "step": "np.heaviside({0}, 0.0)",
        "relu": "np.maximum({0}, 0.0)",
        "sigmoid": "_sigmoid({0})",
        "softplus": "np.logaddexp(0.0, {0})",
        "log1p": "np.log1p({0})",
        "inv": "np.linalg.inv({0})",
        "det": "np.linalg.det({0})",
        "logdet": "np.linalg.slogdet({0})[1]",
        "norm": "np.linalg.norm({0})",
        "unit": "_unit({0})",
        "cholesky": "_cholesky({0})",
        "phi": "_phi({0})",
        "eigvalsh": "_eigvalsh({0})",
        "eigvecsh": "_eigvecsh({0})",
        "svdvals": "_full_rank({0})",
        "pinv": "_pinv({0})",
        "reshape": "np.reshape({0}, {1})",
        "vec": "np.reshape(np.transpose({0}), (-1,))",
        "kron": "np.kron({0}, {1})",
        "commutation": "_commutation({0}, {1})",
        "expm": "_expm({0})",
        "expm_frechet": "_expm_frechet({args})",  # {args}: X, E1, ..., Ek
        "softmax": "_softmax({0})",
        "logsumexp": "_logsumexp({0})",
        "sum": "np.sum({0})",
        "sum_axis": "np.sum({0}, axis={1})",
        "softmax_axis": "_softmax_axis({0}, {1})",
        "logsumexp_axis": "_logsumexp_axis({0}, {1})",
        "tr": "np.trace({0})",
        "diag_vec": "np.diag({0})",
        "diag_mat": "np.diagonal({0})",
        "eye": "np.eye({0})",
        "ones": "np.ones({0})",
        "zeros": "np.zeros({0})",
        "array": "np.array({0})",
        "solve": "np.linalg.solve({0}, {1})",
        "arange": "np.arange({0})",
        "where": "np.where({0}, {1}, 0.0)",
        "select": "_select({0}, {1}, {2}, {3})",
        "scatter": "_scatter({0}, {1}, {2}, {3}, {4})",
        "place": "_place({0}, {1}, {2}, {3}, {4}, {5})",
        "stack": "np.stack({0})",
        "copy": "{0}.copy()",
        "gram": "_gram({0}, {1}{2})",  # {2}: ", limit" (numbers) or ""
    },  # fmt: skip
    einsum="np.einsum({spec}, {args}, optimize=True)",
    outer="np.multiply.outer({0}, {1})",
    asarray="_float({0})",
    helpers={
        "_float": _FLOAT,
        "_softmax_axis": _SOFTMAX_AXIS,
        "_logsumexp_axis": _LSE_AXIS,
        "_commutation": _COMMUTATION,
        "_select": _SELECT,
        "_scatter": _SCATTER,
        "_place": _PLACE,
        "_unit": _UNIT,
        "_cholesky": _CHOLESKY,
        "_phi": _PHI,
        "_eigvalsh": _EIGVALSH,
        "_eigvecsh": _EIGVECSH,
        "_full_rank": _FULL_RANK,
        "_pinv": _PINV,
        "_expm": _EXPM,
        "_expm_frechet": _EXPM_FRECHET,
        "_gram": _GRAM,
        "_sigmoid": _SIGMOID,
        "_softmax": _SOFTMAX,
        "_logsumexp": _LSE,
    },
    module="numpy",
    accumulator="np.zeros({0}, dtype=np.result_type(1.0, {1}))",
    view="np.einsum({spec}, {0})",
)
