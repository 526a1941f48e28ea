"""Layouts are views of one computation (the design's "indices of f, then of x").

| layout | value of an order-k derivative |
|---|---|
| ``"jacobian"`` (default) | ``f.shape + x.shape * k`` |
| ``"numerator"`` | as jacobian, except d(scalar)/d(vector) is a 1×n row and d(scalar)/d(matrix X) is Xᵀ-shaped |
| ``"denominator"`` | the axes of x first: d(scalar)/dx has x's shape, d(vector y)/d(vector x) is n×m, d(vector)/d(scalar) a 1×m row, a scalar's Hessian is Hᵀ |
"""

from __future__ import annotations

from ..build import einsum, ones, transpose
from ..errors import DifferentiationError
from ..expr import Expr

LAYOUTS = ("jacobian", "numerator", "denominator")


def _row(d: Expr) -> Expr:
    return einsum([(d, ("i",)), (ones((1,)), ("r",))], ("r", "i"))


def apply_layout(d: Expr, f_rank: int, x_rank: int, order: int, layout: str | None) -> Expr:
    """View the jacobian-layout derivative ``d`` in ``layout``."""
    if layout in (None, "jacobian", "default"):
        return d
    if layout == "numerator":
        if order == 1 and f_rank == 0 and x_rank == 1:
            return _row(d)
        if order == 1 and f_rank == 0 and x_rank == 2:
            return transpose(d)
        return d
    if layout == "denominator":
        if order == 1 and f_rank == 1 and x_rank == 0:
            return _row(d)
        axes = list(range(d.ndim))
        x_axes = axes[f_rank:]
        groups = [x_axes[k * x_rank : (k + 1) * x_rank] for k in range(order)]
        perm = [a for g in reversed(groups) for a in g] + axes[:f_rank]
        return d if perm == axes else transpose(d, perm)
    raise DifferentiationError(f"unknown layout {layout!r}; use one of {', '.join(LAYOUTS)}")
