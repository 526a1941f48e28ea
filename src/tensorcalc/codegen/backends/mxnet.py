"""MXNet backend: the NumPy table on ``mxnet.np`` (MXNet's NumPy-compatible arrays, which
``mxnet.autograd`` differentiates).

MXNet was retired in 2023; its last release (1.9.1) needs Python ≤ 3.11 and ``numpy<1.24``, so
it lives in a venv of its own and the generated module (which needs no tensorcalc) is run
there.  The module calls ``npx.set_np()`` on import, as D2L's code does.  ``mxnet.np`` creates
float32 arrays by default, so inputs and constants are float64 explicitly; it lacks ``logaddexp`` and ufunc methods, hence the ``softplus`` and ``outer``
spellings.
"""

from . import Backend
from .numpy import BACKEND as NUMPY
from .numpy import PLACE_WHERE

_SOFTPLUS = """def _softplus(x):
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))"""
_SELECT = """def _select(m, n, start, step):
    out = onp.zeros((m, n))
    out[onp.arange(m), start + step * onp.arange(m)] = 1.0
    return np.array(out, dtype="float64")"""

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
    },
    einsum=NUMPY.einsum,
    outer="np.outer({0}, {1})",
    asarray=f"np.array({{0}}, {_F64})",
    helpers={k: v for k, v in NUMPY.helpers.items() if k != "_gram"}
    | {"_softplus": _SOFTPLUS, "_select": _SELECT, "_place": PLACE_WHERE},
    module="mxnet",
    place_deltas=False,  # its broadcasting stops at rank 5 and it has no & of booleans
    install=(
        "MXNet needs a Python 3.11 venv of its own (numpy<1.24, mxnet==1.9.1); write the module "
        "with tc.codegen(exprs, 'mxnet') and run it there (it needs no tensorcalc)"
    ),
)
