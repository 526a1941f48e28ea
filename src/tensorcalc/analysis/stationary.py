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
from ..printing.latex import to_latex
from ..printing.text import to_text
from ..simplify import simplify
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


STATIONARY = "a stationary point: the gradient is zero there"
LINEAR = "the gradient is affine in the unknown, so ∇f = 0 is a linear system (H θ = -g(0))"
SOLVED = "solve the linear system; at the solution the gradient is zero (checked)"
CLASSIFY = "second-derivative test: H = ∂²f/∂θ² does not depend on θ"


def stationary_steps(f: Expr, wrt) -> list:
    """The steps after a derivative that a course takes next: set the gradient to zero, see
    the linear system (the normal equations), solve it, and classify the point by the Hessian.
    Each is ``(rule, lhs, rhs, text, latex, shapes)`` as ``Explanation`` steps are; the
    solution's step checks that the gradient vanishes there.

    >>> import tensorcalc as tc
    >>> for s in stationary_steps(tc.parse("(x - a)^2 + (x - b)^2"), "x"):
    ...     print(s[3])
    ∂f/∂x = 0
    4 * x - 2 * a - 2 * b = 0  ⇔  4 * x = 2 * (a + b)
    x = 0.5 * (a + b)
    ∂²f/∂x² = 4 > 0: a minimum
    """
    x = wrt_variable(f, wrt)
    theta = solve_stationary(f, x)  # raises when ∇f = 0 has no closed form
    G = derivative(f, x)
    H = derivative(G, x)
    G0 = b.substitute(G, {x: b.zeros(x.shape)})
    axes = tuple(range(x.ndim))
    inner = tuple(range(x.ndim, 2 * x.ndim))
    lin = simplify(b.einsum([(H, axes + inner), (x, inner)], axes))  # H θ, G = H θ + G(0)
    rhs = simplify(b.neg(G0))
    name, lx = x.name, to_latex(x)
    d1 = f"∂f/∂{name}"
    d1l = rf"\frac{{\partial f}}{{\partial {lx}}}"
    steps = [
        (STATIONARY, None, f, f"{d1} = 0", f"{d1l} = 0", None),
        (LINEAR, G, b.add(lin, G0), f"{to_text(simplify(G))} = 0  ⇔  {to_text(lin)} = {to_text(rhs)}",
         rf"{to_latex(simplify(G))} = 0 \iff {to_latex(lin)} = {to_latex(rhs)}", None),
        (SOLVED, b.substitute(G, {x: theta}), b.zeros(x.shape), f"{name} = {to_text(theta)}",
         rf"{lx} = {to_latex(theta)}", None),
    ]  # fmt: skip
    kind = _kind(simplify(H), x)
    if kind is not None:
        text, latex = kind
        steps.append((CLASSIFY, None, H, f"∂²f/∂{name}² = {text}",
                      rf"\frac{{\partial^2 f}}{{\partial {lx}^2}} = {latex}", None))  # fmt: skip
    return steps


def _kind(H: Expr, x: Expr):
    """``(text, latex)`` saying what the constant Hessian makes the point, or ``None``."""
    if H.op is Op.CONST and not H.ndim:
        v = H.attrs[0]
        word = "a minimum" if v > 0 else "a maximum" if v < 0 else "the test is inconclusive"
        sign = ">" if v > 0 else "<" if v < 0 else "="
        return f"{to_text(H)} {sign} 0: {word}", rf"{to_latex(H)} {sign} 0"
    gram = _gram(H)
    if gram is not None:
        return (
            f"{to_text(H)} (a Gram matrix, positive semidefinite): a minimum, unique if "
            f"{gram} has full column rank",
            to_latex(H) + r" \succeq 0",
        )
    return None


def _gram(H: Expr):
    """The name A when H = c·AᵀA (c > 0) over A's columns, or c·AᵀA ⊗ I, else ``None``."""
    if H.op is not Op.EINSUM:
        return None
    c, core = b.split_coef(H)
    if c <= 0 or core.op is not Op.EINSUM:
        return None
    ins, out = core.attrs
    mats = [(a, ls) for a, ls in zip(core.args, ins) if a.op is not Op.EYE]
    if len(mats) == 2 and mats[0][0] is mats[1][0] and mats[0][0].op is Op.VAR:
        (a, la), (_, lb) = mats
        if a.ndim == 2 and la[0] == lb[0] and la[0] not in out:
            return a.name
    return None
