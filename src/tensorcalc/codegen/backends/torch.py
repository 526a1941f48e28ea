"""PyTorch backend: runs on the device and dtype of the inputs (CUDA tensors stay on CUDA)."""

from . import Backend
from .numpy import BACKEND as NUMPY
from .numpy import KRON

_SOFTMAX = """def _softmax(x):
    return torch.softmax(x.reshape(-1), 0).reshape(x.shape)"""
_SOFTMAX_AXIS = """def _softmax_axis(x, axis):
    # along one axis or several (torch.softmax takes one)
    if isinstance(axis, int):
        return torch.softmax(x, axis)
    return torch.exp(x - torch.logsumexp(x, axis, keepdim=True))"""
_STEP = """def _step(x):
    return (x > 0).to(x.dtype)"""

_GRAM = """def _gram(x, d):
    if bool(torch.all(d >= 0)):
        r = x * torch.sqrt(d)[:, None]
        return r.T @ r
    return x.T @ (d[:, None] * x)"""

_INDEX = """def _index(x, *items):
    # torch slices only step forward: a backward slice is an index_select of its positions
    for axis, s in enumerate(items):
        if isinstance(s, slice) and (s.step or 1) < 0:
            at = torch.tensor(list(range(x.shape[axis]))[s], device=x.device)
            x = torch.index_select(x, axis, at)
    return x[tuple(slice(None) if isinstance(s, slice) and (s.step or 1) < 0 else s for s in items)]"""

_UNIT = """def _unit(x):
    r = torch.sqrt(torch.sum(x * x))
    return x / torch.where(r == 0, torch.ones_like(r), r)"""

_COMMUTATION = """def _commutation(m, n, **new):
    # K[i*n + j, j*m + i] = 1: K @ vec(A) = vec(A') for an m-by-n A (a permuted identity)
    r = torch.arange(m * n)
    return torch.eye(m * n, **new)[(r % n) * m + r // n]"""
_SELECT = """def _select(m, n, start, step, **new):
    out = torch.zeros((m, n), **new)
    out[torch.arange(m), start + step * torch.arange(m)] = 1.0
    return out"""

_SCATTER = """def _scatter(x, axis, n, start, step):
    at = start + step * torch.arange(x.shape[axis], device=x.device)
    shape = tuple(x.shape[:axis]) + (n,) + tuple(x.shape[axis + 1 :])
    return torch.zeros(shape, dtype=x.dtype, device=x.device).index_copy(axis, at, x)"""

_PLACE = """def _place(x, p, q, n, start, step):
    # x written where a new axis q (of n) is start + step * (x's axis p), zeros elsewhere
    at = start + step * torch.arange(x.shape[p], device=x.device)
    at = at.reshape([-1 if k == p else 1 for k in range(x.dim())]).expand(x.shape).unsqueeze(q)
    shape = tuple(x.shape[:q]) + (n,) + tuple(x.shape[q:])
    return torch.zeros(shape, dtype=x.dtype, device=x.device).scatter(q, at, x.unsqueeze(q))"""

_CHOLESKY = """def _cholesky(s):
    # the lower factor of the symmetric part (S + S')/2, as tensorcalc defines cholesky(S)
    return torch.linalg.cholesky(0.5 * (s + s.transpose(-1, -2)))"""
_PHI = """def _phi(x):
    # the lower triangle with the diagonal halved (the Cholesky differential's Phi)
    return torch.tril(x) - 0.5 * torch.tril(torch.triu(x))"""

_EIGVALSH = """def _eigvalsh(s):
    # the eigenvalues of the symmetric part (S + S')/2, ascending
    return torch.linalg.eigvalsh(0.5 * (s + s.transpose(-1, -2)))"""
_EIGVECSH = """def _eigvecsh(s):
    # eigenvectors of (S + S')/2, each column's largest-magnitude entry positive; they (and
    # eigenvalue derivatives) exist only for distinct eigenvalues
    w, v = torch.linalg.eigh(0.5 * (s + s.transpose(-1, -2)))
    scale = torch.amax(torch.abs(w), dim=-1, keepdim=True)
    if w.shape[-1] > 1 and bool(torch.any(torch.diff(w, dim=-1) <= 1e-8 * scale)):
        raise ValueError("eigenvectors need distinct eigenvalues: S has a repeated eigenvalue")
    k = torch.argmax(torch.abs(v), dim=-2, keepdim=True)
    return v * torch.sign(torch.gather(v, -2, k))"""
_STACK = """def _stack(xs, **new):
    return torch.stack([torch.as_tensor(x, **new) for x in xs])"""

BACKEND = Backend(
    name="torch",
    imports=("import torch",),
    funcs={
        "exp": "torch.exp({0})",
        "log": "torch.log({0})",
        "sin": "torch.sin({0})",
        "cos": "torch.cos({0})",
        "tan": "torch.tan({0})",
        "arcsin": "torch.asin({0})",
        "arccos": "torch.acos({0})",
        "arctan": "torch.atan({0})",
        "tanh": "torch.tanh({0})",
        "sqrt": "torch.sqrt({0})",
        "abs": "torch.abs({0})",
        "sign": "torch.sign({0})",
        "step": "_step({0})",
        "relu": "torch.relu({0})",
        "sigmoid": "torch.sigmoid({0})",
        "softplus": "torch.nn.functional.softplus({0})",
        "log1p": "torch.log1p({0})",
        "inv": "torch.linalg.inv({0})",
        "det": "torch.linalg.det({0})",
        "logdet": "torch.linalg.slogdet({0})[1]",
        "norm": "torch.linalg.norm({0})",
        "unit": "_unit({0})",
        "cholesky": "_cholesky({0})",
        "phi": "_phi({0})",
        "eigvalsh": "_eigvalsh({0})",
        "eigvecsh": "_eigvecsh({0})",
        "svdvals": "torch.linalg.svdvals({0})",
        "pinv": "torch.linalg.pinv({0})",
        "reshape": "torch.reshape({0}, {1})",
        "vec": "torch.reshape(torch.transpose({0}, 0, 1), (-1,))",
        "kron": "_kron({0}, {1})",  # torch.kron views its inputs: a transposed one raises
        "commutation": "_commutation({0}, {1}, **_new)",
        "expm": "torch.linalg.matrix_exp({0})",
        "expm_frechet": "_expm_frechet({args})",
        "softmax": "_softmax({0})",
        "logsumexp": "torch.logsumexp(({0}).reshape(-1), 0)",
        "sum": "torch.sum({0})",
        "sum_axis": "torch.sum({0}, dim={1})",
        "softmax_axis": "_softmax_axis({0}, {1})",
        "logsumexp_axis": "torch.logsumexp({0}, {1})",
        "tr": "torch.trace({0})",
        "diag_vec": "torch.diag({0})",
        "diag_mat": "torch.diagonal({0})",
        "eye": "torch.eye({0}, **_new)",
        "ones": "torch.ones({0}, **_new)",
        "zeros": "torch.zeros({0}, **_new)",
        "array": "torch.tensor({0}, **_new)",
        "solve": "torch.linalg.solve({0}, {1})",
        "arange": "torch.arange({0}, device=_new.get('device'))",
        "where": "torch.where({0}, {1}, 0.0)",
        "select": "_select({0}, {1}, {2}, {3}, **_new)",
        "scatter": "_scatter({0}, {1}, {2}, {3}, {4})",
        "place": "_place({0}, {1}, {2}, {3}, {4}, {5})",
        "stack": "_stack({0}, **_new)",
        "copy": "{0}.clone()",
        "gram": "_gram({0}, {1})",
        "index": "_index({0}, {1})",  # x[::-1]: only for backward steps (see emit.r_index)
    },  # fmt: skip
    einsum="torch.einsum({spec}, {args})",
    outer="torch.outer({0}, {1})",
    asarray="torch.as_tensor({0})",
    helpers={
        "_index": _INDEX,
        "_select": _SELECT,
        "_stack": _STACK,
        "_scatter": _SCATTER,
        "_place": _PLACE,
        "_unit": _UNIT,
        "_cholesky": _CHOLESKY,
        "_phi": _PHI,
        "_eigvalsh": _EIGVALSH,
        "_eigvecsh": _EIGVECSH,
        "_expm_frechet": NUMPY.helpers["_expm_frechet"]
        .replace("np.concatenate", "torch.cat")
        .replace("np.", "torch.")
        .replace("_expm(m)", "torch.linalg.matrix_exp(m)"),
        "_gram": _GRAM,
        "_softmax": _SOFTMAX,
        "_commutation": _COMMUTATION,
        "_kron": KRON.replace("{lib}", "torch"),
        "_softmax_axis": _SOFTMAX_AXIS,
        "_step": _STEP,
    },
    prologue="_new = {{'dtype': {first}.dtype, 'device': {first}.device}}",
    bare_prologue="_new = {'dtype': torch.float64}",
    module="torch",
    scalar="torch.tensor({0}, **_new)",  # sqrt(8) in 1 / sqrt(8): torch.sqrt takes tensors
)
