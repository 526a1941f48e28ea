"""MXNet backend: the NumPy table on ``mxnet.np`` (MXNet's NumPy-compatible arrays, which
``mxnet.autograd`` differentiates).

MXNet was retired in 2023; its last release (1.9.1) needs Python ≤ 3.11 and ``numpy<1.24``, so
it lives in a venv of its own and the generated module (which needs no tensorcalc) is run
there.  The module calls ``npx.set_np()`` on import, as D2L's code does.  ``mxnet.np`` creates
float32 arrays by default, so inputs and constants are float64 explicitly; it lacks
``logaddexp``, ufunc methods, ``triu`` and ``initial=``, and its ``svd`` differs, hence its own
``softplus``, ``outer``, ``phi``, ``eigvecsh``, ``svdvals`` and ``pinv`` spellings.
"""

from . import Backend
from .numpy import _EIGVECSH, KRON, PLACE_WHERE
from .numpy import BACKEND as NUMPY

_SOFTPLUS = """def _softplus(x):
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))"""
_COMMUTATION = """def _commutation(m, n):
    # K[i*n + j, j*m + i] = 1: K @ vec(A) = vec(A') for an m-by-n A (a permuted identity)
    r = onp.arange(m * n)
    return onp.eye(m * n)[(r % n) * m + r // n]"""
_SELECT = """def _select(m, n, start, step):
    out = onp.zeros((m, n))
    out[onp.arange(m), start + step * onp.arange(m)] = 1.0
    return np.array(out, dtype="float64")"""

# mxnet.np has no triu, no ``initial=`` in reductions, and an svd that returns (U, s, V) and
# needs rows <= columns (the singular values of X are those of X')
_PHI = """def _phi(x):
    # the lower triangle with the diagonal halved (the Cholesky differential's Phi)
    return np.tril(x) - 0.5 * x * np.eye(x.shape[-1], dtype="float64")"""
_SVALS = """def _svals(x):
    wide = x if x.shape[-2] <= x.shape[-1] else np.swapaxes(x, -1, -2)
    s = np.linalg.svd(wide)[1]
    if np.any(np.min(s, axis=-1) <= np.max(s, axis=-1) * max(x.shape[-2:]) * 2.2e-16):
        raise ValueError("svdvals and pinv need a full-rank matrix: X is rank-deficient")
    return s"""
_PINV = """def _pinv(x):
    # the pseudo-inverse is differentiated only at full rank
    _svals(x)
    return np.linalg.pinv(x)"""

_F64 = 'dtype="float64"'
BACKEND = Backend(
    name="mxnet",
    imports=(
        "import mxnet",
        "import numpy as onp",
        "from mxnet import np",
        "\nmxnet.npx.set_np()  # NumPy semantics (0-d arrays), as D2L's code does",
    ),
    funcs=NUMPY.funcs
    | {
        "softplus": "_softplus({0})",
        "step": "np.where({0} > 0, 1.0, 0.0)",
        "eye": f"np.eye({{0}}, {_F64})",
        "ones": f"np.ones({{0}}, {_F64})",
        "zeros": f"np.zeros({{0}}, {_F64})",
        "array": f"np.array({{0}}, {_F64})",
        "gram": "{0}.T @ ({1}[:, None] * {0})",
        "stack": f"np.stack([np.array(x, {_F64}) for x in {{0}}])",
        "svdvals": "_svals({0})",
        "kron": "_kron({0}, {1})",
        "commutation": f"np.array(_commutation({{0}}, {{1}}), {_F64})",
    },
    einsum=NUMPY.einsum,
    outer="np.outer({0}, {1})",
    asarray=f"np.array({{0}}, {_F64})",
    helpers={k: v for k, v in NUMPY.helpers.items() if k != "_gram"}
    | {"_softplus": _SOFTPLUS, "_select": _SELECT, "_place": PLACE_WHERE, "_phi": _PHI}
    | {"_kron": KRON.replace("{lib}", "np"), "_commutation": _COMMUTATION}
    | {"_svals": _SVALS, "_pinv": _PINV, "_eigvecsh": _EIGVECSH.replace(", initial=0.0", "")},
    module="mxnet",
    place_deltas=False,  # its broadcasting stops at rank 5 and it has no & of booleans
    install=(
        "MXNet needs a Python 3.11 venv of its own (numpy<1.24, mxnet==1.9.1); write the module "
        "with tc.codegen(exprs, 'mxnet') and run it there (it needs no tensorcalc)"
    ),
)
