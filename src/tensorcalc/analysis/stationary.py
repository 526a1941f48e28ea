"""Closed-form stationary points where the gradient is affine in the unknown.

With G(θ) = ∇f(θ): if H = ∂G/∂θ does not depend on θ, then G(θ) = G(0) + H[θ] and the
stationary point solves H[θ] = −G(0).  For a scalar or vector θ that is θ = −G(0)/H or
θ = solve(H, −G(0)); for a matrix θ the Hessian must act on one side only: H = A ⊗ I
(G = A θ + G(0), so θ = solve(A, −G(0))) or H = I ⊗ B (G = θ Bᵀ + G(0), so
θᵀ = solve(B, −G(0)ᵀ)).  A's form is read off the product structure (a Kronecker delta on the
untouched index) and then checked numerically at random values before it is trusted.
Common scalar factors cancel, so least squares gives solve(Φ'Φ, Φ'y) and k-means gives
diag(1 / R'1) @ R' @ X.
"""

from __future__ import annotations

import numpy as np

from .. import build as b
from ..diff.reverse import derivative, wrt_variable
from ..errors import DifferentiationError
from ..expr import Expr, postorder, variables
from ..numeric.evaluate import evaluate
from ..ops import Op
from .common import scalar_expr


def _one_sided(H: Expr, out: tuple, keep: tuple, delta: tuple):
    """A with H = A[keep] ⊗ δ[delta], term by term, or None."""
    parts = []
    for t in H.args if H.op is Op.ADD else (H,):
        if t.op is not Op.EINSUM:
            return None
        ops = list(zip(t.args, t.attrs[0]))
        labels = dict(zip(out, t.attrs[1]))
        want = {labels[delta[0]], labels[delta[1]]}
        hit = [k for k, (e, ls) in enumerate(ops) if e.op is Op.EYE and set(ls) == want]
        if not hit:
            return None
        rest = [op for k, op in enumerate(ops) if k != hit[0]]
        if any(labels[d] in ls for d in delta for _, ls in rest):
            return None
        parts.append(b.einsum(rest, tuple(labels[k] for k in keep)))
    return b.add(*parts)


def _check(H: Expr, candidate: Expr, rng) -> bool:
    """H == candidate at random values and sizes (a polynomial identity test)."""
    dims = {}
    for n in postorder([H, candidate]):
        for d in n.shape:
            if isinstance(d, str):
                dims.setdefault(d, 2 + len(dims) % 3)
    vals = {
        k: rng.normal(size=[dims.get(d, d) for d in v.shape])
        for k, v in {**variables(H), **variables(candidate)}.items()
    }
    lhs, rhs = evaluate(H, vals, dims), evaluate(candidate, vals, dims)
    return bool(np.allclose(lhs, rhs, rtol=1e-9, atol=1e-12))


def _coef(e: Expr):
    """``(c, core)`` with ``e = c · core``, also pulling a shared coefficient out of a sum."""
    c, core = b.split_coef(e)
    if core.op is Op.ADD:
        cs = [b.split_coef(t)[0] for t in core.args]
        if len({abs(k) for k in cs}) == 1:
            return c * cs[0], b.add(*(b.scale(1.0 / cs[0], t) for t in core.args))
    return c, core


def _solve(A: Expr, rhs: Expr, divide=False) -> Expr:
    ca, core_a = _coef(A)
    cr, core_r = _coef(rhs)
    solved = b.div(core_r, core_a) if divide else b.matmul(b.func(Op.INV, core_a), core_r)
    return b.scale(cr / ca, solved)


def solve_stationary(f, wrt, shapes=None) -> Expr:
    """The θ where ∇f(θ) = 0, in closed form, when the gradient is affine in θ.

    >>> import tensorcalc as tc
    >>> print(tc.solve_stationary("norm(y - P @ t)^2", "t", shapes={"y": "m", "P": "m,d"}))
    solve(P' @ P, P' @ y)
    >>> print(tc.solve_stationary("(x - a)^2 + (x - b)^2", "x"))
    0.5 * (a + b)
    """
    f = scalar_expr(f, shapes, "solve_stationary")
    x = wrt_variable(f, wrt)
    G = derivative(f, x)
    H = derivative(G, x)
    if x in variables(H).values():
        raise DifferentiationError(
            f"the gradient is not affine in {x.name} (its derivative {H} still depends on "
            f"{x.name}), so ∇f = 0 has no closed form here; use tc.minimize or tc.critical_points"
        )
    G0 = b.substitute(G, {x: b.zeros(x.shape)})
    rhs = b.neg(G0)
    if x.ndim == 0:
        return _solve(H, rhs, divide=True)
    if x.ndim == 1:
        return _solve(H, rhs)
    if x.ndim == 2:
        rng = np.random.default_rng(0)
        out = (0, 1, 2, 3)
        A = _one_sided(H, out, (0, 2), (1, 3))  # H = A ⊗ I: θ = A⁻¹ (−G(0))
        if A is not None and _check(
            H, b.einsum([(A, (0, 2)), (b.eye(x.shape[1]), (1, 3))], out), rng
        ):
            return _solve(A, rhs)
        B = _one_sided(H, out, (1, 3), (0, 2))  # H = I ⊗ B: θᵀ = B⁻¹ (−G(0))ᵀ
        if B is not None and _check(
            H, b.einsum([(b.eye(x.shape[0]), (0, 2)), (B, (1, 3))], out), rng
        ):
            return b.transpose(_solve(B, b.transpose(rhs)))
    raise DifferentiationError(
        f"the stationarity equation for {x.name} (shape {x.shape}) is linear but its Hessian "
        "does not act on one side of the unknown, so it has no closed form as a matrix solve; "
        "use tc.minimize(..., method='newton')"
    )
