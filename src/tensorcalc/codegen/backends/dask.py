"""Dask backend: gradients over chunked arrays larger than memory.

Elementwise functions, reductions and products are Dask's own, so a gradient such as the
logistic-regression one, ``X' @ (y * sigmoid(...))``, runs chunk by chunk.  ``inv``, ``det`` and
``logdet`` are meant for the small parameter matrices and are computed with NumPy.
"""

from . import Backend
from .numpy import BACKEND as NUMPY
from .numpy import KRON, PLACE_WHERE

_SMALL = """def _small(fn, *xs):
    return da.from_array(fn(*(np.asarray(x) for x in xs)))"""
_SIGMOID = """def _sigmoid(x):
    return 0.5 * (1.0 + da.tanh(0.5 * x))"""
_SOFTMAX = """def _softmax(x):
    e = da.exp(x - da.max(x))
    return e / da.sum(e)"""
_LSE = """def _logsumexp(x):
    m = da.max(x)
    return m + da.log(da.sum(da.exp(x - m)))"""

_SELECT = """def _select(m, n, start, step):
    out = np.zeros((m, n))
    out[np.arange(m), start + step * np.arange(m)] = 1.0
    return da.from_array(out)"""

_SCATTER = """def _scatter(x, axis, n, start, step):
    # position j reads entry (j - start) / step of x where that is one, else an appended zero
    m = x.shape[axis]
    j = np.arange(n) - start
    k = j // step
    at = np.where((j % step == 0) & (k >= 0) & (k < m), k, m)
    zero = da.zeros_like(x[(slice(None),) * axis + (slice(0, 1),)])
    return da.take(da.concatenate([x, zero], axis=axis), at, axis=axis)"""

# along an axis: NumPy's helpers spelled with Dask's functions
_SOFTMAX_AXIS = NUMPY.helpers["_softmax_axis"].replace("np.", "da.")
_LSE_AXIS = NUMPY.helpers["_logsumexp_axis"].replace("np.", "da.")
_UNIT = NUMPY.helpers["_unit"].replace("np.", "da.")
_NORM = """def _norm(x):
    return da.sqrt(da.sum(x * x))"""  # one argument, rendered once (x may be a + b)

_EIGVALSH = """def _eigvalsh(s):
    s = np.asarray(s)
    return da.from_array(np.linalg.eigvalsh(0.5 * (s + np.swapaxes(s, -1, -2))))"""
_EIGVECSH = (
    NUMPY.helpers["_eigvecsh"]
    .replace(
        "    return v * np.sign(np.take_along_axis(v, k, axis=-2))",
        "    return da.from_array(v * np.sign(np.take_along_axis(v, k, axis=-2)))",
    )
    .replace("np.linalg.eigh(0.5 * (s", "np.linalg.eigh(0.5 * (np.asarray(s)")
    .replace("np.swapaxes(s, -1, -2)))", "np.swapaxes(np.asarray(s), -1, -2)))")
)

_STACK = """def _stack(xs):
    return da.stack([da.asarray(x) for x in xs])"""

BACKEND = Backend(
    name="dask",
    imports=("import dask.array as da", "import numpy as np"),
    funcs={
        "exp": "da.exp({0})",
        "log": "da.log({0})",
        "sin": "da.sin({0})",
        "cos": "da.cos({0})",
        "tan": "da.tan({0})",
        "arcsin": "da.arcsin({0})",
        "arccos": "da.arccos({0})",
        "arctan": "da.arctan({0})",
        "tanh": "da.tanh({0})",
        "sqrt": "da.sqrt({0})",
        "abs": "da.absolute({0})",
        "sign": "da.sign({0})",
        "step": "da.where({0} > 0, 1.0, 0.0)",
        "relu": "da.maximum({0}, 0.0)",
        "sigmoid": "_sigmoid({0})",
        "softplus": "da.logaddexp(0.0, {0})",
        "log1p": "da.log1p({0})",
        "inv": "_small(np.linalg.inv, {0})",
        "det": "_small(np.linalg.det, {0})",
        "logdet": "_small(lambda a: np.linalg.slogdet(a)[1], {0})",
        "norm": "_norm({0})",
        "unit": "_unit({0})",
        "cholesky": "_small(lambda a: np.linalg.cholesky(0.5 * (a + np.swapaxes(a, -1, -2))), {0})",
        "phi": "_small(lambda a: np.tril(a) - 0.5 * np.tril(np.triu(a)), {0})",
        "eigvalsh": "_eigvalsh({0})",
        "eigvecsh": "_eigvecsh({0})",
        "svdvals": "_small(lambda a: np.linalg.svd(a, compute_uv=False), {0})",
        "pinv": "_small(np.linalg.pinv, {0})",
        "reshape": "da.reshape(da.reshape({0}, (-1,)), {1})",  # dask splits and merges only
        "vec": "da.reshape(da.transpose({0}), (-1,))",
        "kron": "_kron({0}, {1})",
        "commutation": "da.from_array(_commutation({0}, {1}))",
        "expm": "_small(lambda a: _expm(a), {0})",
        "expm_frechet": "_small(lambda *a: _expm_frechet(*a), {args})",
        "softmax": "_softmax({0})",
        "logsumexp": "_logsumexp({0})",
        "sum": "da.sum({0})",
        "sum_axis": "da.sum({0}, axis={1})",
        "softmax_axis": "_softmax_axis({0}, {1})",
        "logsumexp_axis": "_logsumexp_axis({0}, {1})",
        "tr": "da.trace({0})",
        "diag_vec": "da.diag({0})",
        "diag_mat": "da.diagonal({0})",
        "eye": "da.eye({0})",
        "ones": "da.ones({0})",
        "zeros": "da.zeros({0})",
        "array": "da.from_array(np.array({0}))",
        "solve": "_small(np.linalg.solve, {0}, {1})",
        "arange": "da.arange({0})",
        "where": "da.where({0}, {1}, 0.0)",
        "select": "_select({0}, {1}, {2}, {3})",
        "scatter": "_scatter({0}, {1}, {2}, {3}, {4})",
        "place": "_place({0}, {1}, {2}, {3}, {4}, {5})",
        "stack": "_stack({0})",
        "copy": "{0}.copy()",
        "gram": "{0}.T @ ({1}[:, None] * {0})",
    },  # fmt: skip
    einsum="da.einsum({spec}, {args})",
    outer="da.outer({0}, {1})",
    asarray="da.asarray({0})",
    helpers={
        "_kron": KRON.replace("{lib}", "da"),
        "_commutation": NUMPY.helpers["_commutation"],
        "_softmax_axis": _SOFTMAX_AXIS,
        "_logsumexp_axis": _LSE_AXIS,
        "_select": _SELECT,
        "_stack": _STACK,
        "_scatter": _SCATTER,
        "_place": PLACE_WHERE.replace("np.", "da."),
        "_unit": _UNIT,
        "_norm": _NORM,
        "_small": _SMALL,
        "_eigvalsh": _EIGVALSH,
        "_eigvecsh": _EIGVECSH,
        "_expm": NUMPY.helpers["_expm"],
        "_expm_frechet": NUMPY.helpers["_expm_frechet"],
        "_sigmoid": _SIGMOID,
        "_softmax": _SOFTMAX,
        "_logsumexp": _LSE,
    },
    module="dask",
)
