"""TensorFlow backend: the generated function is compiled with ``tf.function`` (a graph, on a
GPU where TensorFlow has one).

TensorFlow's ``@`` needs matrices and its tensors have no ``.T``, so products are ``_mm(a, b)``
(``tf.linalg.matmul``/``matvec`` by rank, like NumPy's ``@``; in a graph, TensorFlow folds the
``tf.transpose`` of an operand into the product).
New constants take the dtype of the first input (``_dt``).  Python numbers passed to a
``tf.function`` would retrace it on every new value, so ``jit`` converts every argument to a
tensor first (float64 for Python numbers, the array's own dtype otherwise).
"""

import importlib

from . import Backend
from .numpy import BACKEND as NUMPY
from .numpy import KRON

_SOFTMAX = """def _softmax(x):
    return tf.reshape(tf.nn.softmax(tf.reshape(x, [-1])), tf.shape(x))"""
_STEP = """def _step(x):
    return tf.cast(x > 0, x.dtype)"""
_NORM = """def _norm(x):
    return tf.sqrt(tf.reduce_sum(x * x))"""
_UNIT = """def _unit(x):
    r = tf.sqrt(tf.reduce_sum(x * x))
    return x / tf.where(r == 0, tf.ones_like(r), r)"""
_SOLVE = """def _solve(a, b):
    if b.shape.rank == 1:
        return tf.linalg.solve(a, b[:, None])[:, 0]
    return tf.linalg.solve(a, b)"""
_MM = """def _mm(a, b):
    if a.shape.rank == 2 and b.shape.rank == 2:
        return tf.linalg.matmul(a, b)
    if a.shape.rank == 2:
        return tf.linalg.matvec(a, b)
    if b.shape.rank == 2:
        return tf.linalg.matvec(b, a, transpose_a=True)
    return tf.tensordot(a, b, 1)"""
_SOFTMAX_AXIS = """def _softmax_axis(x, axis):
    # along one axis or several (tf.nn.softmax takes one)
    if isinstance(axis, int):
        return tf.nn.softmax(x, axis=axis)
    return tf.exp(x - tf.reduce_logsumexp(x, axis=list(axis), keepdims=True))"""
_WHERE = """def _where(mask, x):
    return tf.where(mask, x, tf.zeros((), dtype=x.dtype))"""
_COMMUTATION = """def _commutation(m, n, dtype):
    # K[i*n + j, j*m + i] = 1: K @ vec(A) = vec(A') for an m-by-n A (a permuted identity)
    r = tf.range(m * n)
    return tf.gather(tf.eye(m * n, dtype=dtype), (r % n) * m + r // n)"""
_SELECT = """def _select(m, n, start, step, dtype):
    return tf.one_hot(start + step * tf.range(m), n, dtype=dtype)"""

_SCATTER = """def _scatter(x, axis, n, start, step):
    # position j reads entry (j - start) / step of x where that is one, else an appended zero
    m = x.shape[axis]
    j = tf.range(n) - start
    k = j // step
    at = tf.where((j % step == 0) & (k >= 0) & (k < m), k, m)
    zero = tf.zeros_like(tf.gather(x, [0], axis=axis))
    return tf.gather(tf.concat([x, zero], axis), at, axis=axis)"""

_PLACE = """def _place(x, p, q, n, start, step):
    # x written where a new axis q (of n) is start + step * (x's axis p), zeros elsewhere
    at = start + step * tf.range(x.shape[p])
    at = tf.reshape(at, [-1 if k == p else 1 for k in range(len(x.shape))])
    along = [-1 if k == q else 1 for k in range(len(x.shape) + 1)]
    mask = tf.expand_dims(at, q) == tf.reshape(tf.range(n), along)
    return tf.where(mask, tf.expand_dims(x, q), tf.zeros((), dtype=x.dtype))"""


def jit(fn):
    """``fn`` compiled with ``tf.function``; arguments become tensors before the call."""
    tf = importlib.import_module("tensorflow")
    graph = tf.function(fn, autograph=False)  # shapes are static: plain Python ifs

    def call(*args, **dims):
        args = [
            a if tf.is_tensor(a) else tf.convert_to_tensor(a, dtype_hint=tf.float64) for a in args
        ]
        return graph(*args, **dims)

    return call


_CHOLESKY = """def _cholesky(s):
    # the lower factor of the symmetric part (S + S')/2, as tensorcalc defines cholesky(S)
    return tf.linalg.cholesky(0.5 * (s + tf.linalg.matrix_transpose(s)))"""
_PHI = """def _phi(x):
    # the lower triangle with the diagonal halved (the Cholesky differential's Phi)
    return tf.linalg.band_part(x, -1, 0) - 0.5 * tf.linalg.band_part(x, 0, 0)"""

_EIGVALSH = """def _eigvalsh(s):
    # the eigenvalues of the symmetric part (S + S')/2, ascending
    return tf.linalg.eigvalsh(0.5 * (s + tf.linalg.matrix_transpose(s)))"""
_EIGVECSH = """def _eigvecsh(s):
    # eigenvectors of (S + S')/2, each column's largest-magnitude entry positive (repeated
    # eigenvalues are not checked in a graph: their derivatives come out inf or nan)
    w, v = tf.linalg.eigh(0.5 * (s + tf.linalg.matrix_transpose(s)))
    k = tf.one_hot(tf.argmax(tf.abs(v), axis=-2), v.shape[-2], axis=len(v.shape) - 2, dtype=v.dtype)
    return v * tf.sign(tf.reduce_sum(v * k, axis=-2, keepdims=True))"""
_STACK = """def _stack(xs, dtype):
    return tf.stack([tf.cast(x, dtype) for x in xs])"""

BACKEND = Backend(
    name="tensorflow",
    imports=("import tensorflow as tf",),
    funcs={
        "exp": "tf.exp({0})",
        "log": "tf.math.log({0})",
        "sin": "tf.sin({0})",
        "cos": "tf.cos({0})",
        "tan": "tf.tan({0})",
        "arcsin": "tf.asin({0})",
        "arccos": "tf.acos({0})",
        "arctan": "tf.atan({0})",
        "tanh": "tf.tanh({0})",
        "sqrt": "tf.sqrt({0})",
        "abs": "tf.abs({0})",
        "sign": "tf.sign({0})",
        "step": "_step({0})",
        "relu": "tf.nn.relu({0})",
        "sigmoid": "tf.sigmoid({0})",
        "softplus": "tf.nn.softplus({0})",
        "log1p": "tf.math.log1p({0})",
        "inv": "tf.linalg.inv({0})",
        "det": "tf.linalg.det({0})",
        "logdet": "tf.linalg.slogdet({0})[1]",
        "norm": "_norm({0})",
        "unit": "_unit({0})",
        "cholesky": "_cholesky({0})",
        "phi": "_phi({0})",
        "eigvalsh": "_eigvalsh({0})",
        "eigvecsh": "_eigvecsh({0})",
        "svdvals": "tf.linalg.svd({0}, compute_uv=False)",
        "pinv": "tf.linalg.pinv({0})",
        "reshape": "tf.reshape({0}, {1})",
        "vec": "tf.reshape(tf.transpose({0}), (-1,))",
        "kron": "_kron({0}, {1})",
        "commutation": "_commutation({0}, {1}, _dt)",
        "expm": "tf.linalg.expm({0})",
        "expm_frechet": "_expm_frechet({args})",
        "softmax": "_softmax({0})",
        "logsumexp": "tf.reduce_logsumexp({0})",
        "sum": "tf.reduce_sum({0})",
        "sum_axis": "tf.reduce_sum({0}, axis={1})",
        "softmax_axis": "_softmax_axis({0}, {1})",
        "logsumexp_axis": "tf.reduce_logsumexp({0}, axis={1})",
        "tr": "tf.linalg.trace({0})",
        "diag_vec": "tf.linalg.diag({0})",
        "diag_mat": "tf.linalg.diag_part({0})",
        "eye": "tf.eye({0}, dtype=_dt)",
        "ones": "tf.ones({0}, dtype=_dt)",
        "zeros": "tf.zeros({0}, dtype=_dt)",
        "array": "tf.constant({0}, dtype=_dt)",
        "solve": "_solve({0}, {1})",
        "arange": "tf.range({0})",
        "where": "_where({0}, {1})",
        "select": "_select({0}, {1}, {2}, {3}, _dt)",
        "scatter": "_scatter({0}, {1}, {2}, {3}, {4})",
        "place": "_place({0}, {1}, {2}, {3}, {4}, {5})",
        "stack": "_stack({0}, _dt)",
        "copy": "{0}",  # immutable
        "gram": "tf.linalg.matmul({0}, {1}[:, None] * {0}, transpose_a=True)",
    },  # fmt: skip
    einsum="tf.einsum({spec}, {args})",
    outer="tf.tensordot({0}, {1}, 0)",
    asarray="tf.convert_to_tensor({0}, dtype_hint=tf.float64)",
    helpers={
        "_kron": KRON.replace("{lib}", "tf"),
        "_commutation": _COMMUTATION,
        "_select": _SELECT,
        "_stack": _STACK,
        "_scatter": _SCATTER,
        "_place": _PLACE,
        "_where": _WHERE,
        "_softmax": _SOFTMAX,
        "_softmax_axis": _SOFTMAX_AXIS,
        "_step": _STEP,
        "_norm": _NORM,
        "_unit": _UNIT,
        "_cholesky": _CHOLESKY,
        "_phi": _PHI,
        "_eigvalsh": _EIGVALSH,
        "_eigvecsh": _EIGVECSH,
        "_expm_frechet": NUMPY.helpers["_expm_frechet"]
        .replace("np.max(", "tf.reduce_max(")
        .replace("np.concatenate", "tf.concat")
        .replace("np.", "tf.")
        .replace("_expm(m)", "tf.linalg.expm(m)"),
        "_solve": _SOLVE,
        "_mm": _MM,
    },
    prologue="_dt = {first}.dtype",
    bare_prologue="_dt = tf.float64",
    scalar="tf.constant({0}, dtype=_dt)",  # tf.sqrt(8.0) would be float32 beside float64 inputs
    module="tensorflow",
    matmul="_mm({0}, {1})",
    transpose="tf.transpose({0})",
    jit=jit,
)
