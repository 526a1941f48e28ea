"""Taylor polynomials as expressions.

The order-k polynomial of f at x₀ is Σₘ (1/m!) Dᵐf(x₀)[h, …, h] with h = x − x₀, summed over
m = 0…k.  For several variables the m-th term sums over every ordered choice of variables
(∂ᵐf/∂v₁…∂vₘ contracted with h_{v₁} ⊗ … ⊗ h_{vₘ}); mixed partials are symmetric, so each
multiset of variables is differentiated once and weighted by its number of orderings
m!/(k₁!⋯kₙ!) (91 derivatives for two variables at order 12, not 8,191).  The contraction is one einsum, so the
quadratic term of a vector variable reads ½ (x − x₀)' @ H @ (x − x₀).  The derivatives are
exact.  At a numeric point each coefficient that no longer depends on any variable is
evaluated to a number or an array constant; at a symbolic point (``at={"x": "a"}``) the
coefficients stay formulas.
"""

from __future__ import annotations

import math
from collections import Counter
from itertools import combinations_with_replacement

from .. import build as b
from ..diff.reverse import check_order, derivative, wrt_variable
from ..errors import DifferentiationError
from ..expr import NOTES, Expr, variables
from ..numeric.evaluate import evaluate
from ..parse import as_expr, parse
from .common import point_shapes


def _point_expr(x: Expr, value, known: dict) -> Expr:
    if isinstance(value, str):
        value = parse(value, {value: x.shape} if value.isidentifier() else None, known=known)
    e = value if isinstance(value, Expr) else b.array(value)
    if e.shape == () and x.shape:
        e = b.broadcast(e, x.shape, "taylor")
    if e.shape != x.shape:
        raise DifferentiationError(
            f"the expansion point for {x.name} has shape {e.shape}, but {x.name} has {x.shape}"
        )
    return e


def _constant_folded(e: Expr) -> Expr:
    """A coefficient with no variables left, as one number or array constant."""
    return b.array(evaluate(e)) if not variables(e) else e


def taylor(f, at: dict, order: int = 2, shapes=None) -> Expr:
    """The Taylor polynomial of ``f`` of the given ``order`` about the point ``at``.

    ``at`` maps each expansion variable to its point: a number, an array, or an expression
    (string or ``Expr``) for a symbolic point.  Variables not in ``at`` stay parameters.

    >>> import tensorcalc as tc
    >>> print(tc.taylor("exp(x)", at={"x": 0}, order=3))
    1 + x + 0.5 * x^2 + 0.16666666666666666 * x^3
    >>> q = tc.taylor("x * exp(-x^2 - y^2)", at={"x": -1, "y": 0})
    >>> round(float(q.evaluate(x=-1, y=0)), 6), round(float(q.evaluate(x=0, y=0)), 6)
    (-0.367879, -0.367879)
    """
    f = as_expr(f, point_shapes(at, shapes))
    check_order(order, least=0)
    if not at:
        raise DifferentiationError("give the expansion point, e.g. at={'x': 0}")
    known = {n: v.shape for n, v in variables(f).items()}
    xs = [wrt_variable(f, name) for name in at]
    points = {x: _point_expr(x, at[x.name], known) for x in xs}
    steps = {x: b.sub(x, p) for x, p in points.items()}  # h = x − x₀
    f_idx = tuple(range(f.ndim))
    terms = []
    derivs = {(): f}
    for m in range(order + 1):
        for combo in combinations_with_replacement(xs, m):
            orderings = math.factorial(m)
            for k in Counter(combo).values():
                orderings //= math.factorial(k)
            if m:
                derivs[combo] = derivative(derivs[combo[:-1]], combo[-1])
            coef = _constant_folded(b.substitute(derivs[combo], points))
            if b.const_value(coef) == 0.0:
                continue
            labels, ops, k = f_idx, [], f.ndim
            for x in combo:
                own = tuple(range(k, k + x.ndim))
                ops.append((steps[x], own))
                labels += own
                k += x.ndim
            weight = orderings / math.factorial(m)
            terms.append(b.scale(weight, b.einsum([(coef, labels), *ops], f_idx)))
    if not terms:
        return b.zeros(f.shape)
    poly = b.ordered_sum(*terms)
    NOTES.setdefault(poly, {})["ordered"] = True  # the printer keeps the order by degree
    return poly
