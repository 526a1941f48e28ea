"""JAX backend: the generated function is pure, and ``tc.compile`` returns it compiled with
``jax.jit`` (one compilation per shape signature; dimensions passed as ``d_*`` keywords are
static).  A call with JAX arrays goes through one ``jax.jit`` entry point per compiled
function, so that JAX's own dispatch checks their shapes and dtypes.  JAX computes in float32
unless ``jax.config.update("jax_enable_x64", True)``.
"""

import importlib

from . import Backend
from .numpy import BACKEND as NUMPY
from .numpy import PLACE_WHERE


def jit(fn):
    """``jax.jit(fn)`` with the keyword-only dimension parameters static."""
    code = fn.__code__
    static = code.co_varnames[code.co_argcount : code.co_argcount + code.co_kwonlyargcount]
    return importlib.import_module("jax").jit(fn, static_argnames=static)


def native():
    """The type of JAX's arrays (``jax.Array`` is abstract; calls check the concrete type)."""
    return type(importlib.import_module("jax.numpy").zeros(()))


_SOFTMAX = """def _softmax(x):
    return jax.nn.softmax(x.reshape(-1)).reshape(x.shape)"""

_EIGVECSH = """def _eigvecsh(s):
    # eigenvectors of (S + S')/2, each column's largest-magnitude entry positive (repeated
    # eigenvalues are not checked under jit: their derivatives come out inf or nan)
    w, v = jnp.linalg.eigh(0.5 * (s + jnp.swapaxes(s, -1, -2)))
    k = jnp.argmax(jnp.abs(v), axis=-2)[..., None, :]
    return v * jnp.sign(jnp.take_along_axis(v, k, axis=-2))"""

_UNIT = NUMPY.helpers["_unit"].replace("np.", "jnp.")
_COMMUTATION = """def _commutation(m, n):
    # K[i*n + j, j*m + i] = 1: K @ vec(A) = vec(A') for an m-by-n A (a permuted identity)
    r = jnp.arange(m * n)
    return jnp.eye(m * n)[(r % n) * m + r // n]"""
_SELECT = """def _select(m, n, start, step):
    return jnp.zeros((m, n)).at[jnp.arange(m), start + step * jnp.arange(m)].set(1.0)"""

_SCATTER = """def _scatter(x, axis, n, start, step):
    stop = start + step * x.shape[axis]
    at = (slice(None),) * axis + (slice(start, stop if stop >= 0 else None, step),)
    return jnp.zeros(x.shape[:axis] + (n,) + x.shape[axis + 1 :], x.dtype).at[at].set(x)"""

BACKEND = Backend(
    name="jax",
    imports=("import jax", "import jax.numpy as jnp", "import jax.scipy.special")
    + ("import jax.scipy.linalg",),
    funcs={
        "exp": "jnp.exp({0})",
        "log": "jnp.log({0})",
        "sin": "jnp.sin({0})",
        "cos": "jnp.cos({0})",
        "tan": "jnp.tan({0})",
        "arcsin": "jnp.arcsin({0})",
        "arccos": "jnp.arccos({0})",
        "arctan": "jnp.arctan({0})",
        "tanh": "jnp.tanh({0})",
        "sqrt": "jnp.sqrt({0})",
        "abs": "jnp.abs({0})",
        "sign": "jnp.sign({0})",
        "step": "jnp.heaviside({0}, 0.0)",
        "relu": "jnp.maximum({0}, 0.0)",
        "sigmoid": "jax.nn.sigmoid({0})",
        "softplus": "jax.nn.softplus({0})",
        "log1p": "jnp.log1p({0})",
        "inv": "jnp.linalg.inv({0})",
        "det": "jnp.linalg.det({0})",
        "logdet": "jnp.linalg.slogdet({0})[1]",
        "norm": "jnp.linalg.norm({0})",
        "unit": "_unit({0})",
        "cholesky": "_cholesky({0})",
        "phi": "_phi({0})",
        "eigvalsh": "_eigvalsh({0})",
        "eigvecsh": "_eigvecsh({0})",
        "svdvals": "jnp.linalg.svd({0}, compute_uv=False)",
        "pinv": "jnp.linalg.pinv({0})",
        "reshape": "jnp.reshape({0}, {1})",
        "vec": "jnp.reshape(jnp.transpose({0}), (-1,))",
        "kron": "jnp.kron({0}, {1})",
        "commutation": "_commutation({0}, {1})",
        "expm": "jax.scipy.linalg.expm({0})",
        "expm_frechet": "_expm_frechet({args})",
        "softmax": "_softmax({0})",
        "logsumexp": "jax.scipy.special.logsumexp({0})",
        "sum": "jnp.sum({0})",
        "sum_axis": "jnp.sum({0}, axis={1})",
        "softmax_axis": "jax.nn.softmax({0}, axis={1})",
        "logsumexp_axis": "jax.scipy.special.logsumexp({0}, axis={1})",
        "tr": "jnp.trace({0})",
        "diag_vec": "jnp.diag({0})",
        "diag_mat": "jnp.diagonal({0})",
        "eye": "jnp.eye({0})",
        "ones": "jnp.ones({0})",
        "zeros": "jnp.zeros({0})",
        "array": "jnp.array({0})",
        "solve": "jnp.linalg.solve({0}, {1})",
        "arange": "jnp.arange({0})",
        "where": "jnp.where({0}, {1}, 0.0)",
        "select": "_select({0}, {1}, {2}, {3})",
        "scatter": "_scatter({0}, {1}, {2}, {3}, {4})",
        "place": "_place({0}, {1}, {2}, {3}, {4}, {5})",
        "stack": "jnp.stack({0})",
        "copy": "{0}",  # immutable
        "gram": "{0}.T @ ({1}[:, None] * {0})",
    },  # fmt: skip
    einsum="jnp.einsum({spec}, {args})",
    outer="jnp.outer({0}, {1})",
    asarray="jnp.asarray({0})",
    helpers={
        "_select": _SELECT,
        "_scatter": _SCATTER,
        "_place": PLACE_WHERE.replace("np.", "jnp."),
        "_softmax": _SOFTMAX,
        "_commutation": _COMMUTATION,
        "_unit": _UNIT,
        "_cholesky": NUMPY.helpers["_cholesky"].replace("np.", "jnp."),
        "_phi": NUMPY.helpers["_phi"].replace("np.", "jnp."),
        "_eigvalsh": NUMPY.helpers["_eigvalsh"].replace("np.", "jnp."),
        "_eigvecsh": _EIGVECSH,
        "_expm_frechet": NUMPY.helpers["_expm_frechet"]
        .replace("np.", "jnp.")
        .replace("_expm(m)", "jax.scipy.linalg.expm(m)"),
    },
    module="jax",
    jit=jit,
    native=native,
    fuses=True,
)
