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


def _gram(x, d):
    """x' diag(d) x; a symmetric product (one SYRK) when d >= 0.  With SciPy, a tall x is
    added into the result m // 4 rows at a time: no scaled copy of x (n/m times the result)."""
    n, m = x.shape
    if np.all(d >= 0):
        if _syrk is None or n <= m or x.dtype != np.float64:
            r = x * np.sqrt(d)[:, None]
            return r.T @ r
        out, k = np.zeros((m, m), order="F"), max(1, m // 4)
        for s in range(0, n, k):
            r = x[s : s + k] * np.sqrt(d[s : s + k])[:, None]
            _syrk(1.0, r.T, beta=1.0, c=out, overwrite_c=1)  # the upper triangle += r' r
        for j in range(0, m, k):  # the lower triangle, a block of columns at a time
            out[j + k :, j : j + k] = out[j : j + k, j + k :].T
            block = out[j : j + k, j : j + k]
            block += np.triu(block, 1).T
        return out
    return x.T @ (d[:, None] * x)'''

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

_SOFTMAX_AXIS = """def _softmax_axis(x, axis):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)"""
_LSE_AXIS = """def _logsumexp_axis(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
    return np.squeeze(m, axis) + np.log(np.sum(np.exp(x - m), axis=axis))"""

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
        "gram": "_gram({0}, {1})",
    },  # fmt: skip
    einsum="np.einsum({spec}, {args}, optimize=True)",
    outer="np.multiply.outer({0}, {1})",
    asarray="_float({0})",
    helpers={
        "_float": _FLOAT,
        "_softmax_axis": _SOFTMAX_AXIS,
        "_logsumexp_axis": _LSE_AXIS,
        "_select": _SELECT,
        "_scatter": _SCATTER,
        "_place": _PLACE,
        "_unit": _UNIT,
        "_gram": _GRAM,
        "_sigmoid": _SIGMOID,
        "_softmax": _SOFTMAX,
        "_logsumexp": _LSE,
    },
    module="numpy",
    accumulator="np.zeros({0}, dtype=np.result_type(1.0, {1}))",
    view="np.einsum({spec}, {0})",
)
