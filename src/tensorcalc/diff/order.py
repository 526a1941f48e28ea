"""One order of a derivative as the user sees it, written once.

``tc.derivative`` (and ``derivation``), ``tc.explain`` and the exported scripts' check of which
output differentiates which all take a derivative one order at a time, the same way:

1. the reverse sweep, ∂f/∂x with the entries of x independent (``diff.reverse``);
2. on a symmetric matrix variable, the gradient on symmetric matrices, sym(G) = (G + Gᵀ)/2, or
   the Matrix Cookbook's G + Gᵀ − diag(G) (``diff.symmetric``);
3. simplified, so that order k is the derivative of order k − 1 as it was printed.

>>> import tensorcalc as tc
>>> from tensorcalc.expr import variables
>>> f = tc.parse("x' @ A @ x", {"x": ("n",), "A": ("n", "n")})
>>> print(one_order(f, variables(f)["x"]).result)
(A + A') @ x
"""

from __future__ import annotations

from typing import NamedTuple

from ..build import is_symmetric_var
from ..expr import Expr
from ..simplify import simplify
from .layout import apply_layout
from .reverse import derivative
from .symmetric import project


class Order(NamedTuple):
    """The stages of one order: ``raw`` (the reverse sweep), ``projected`` (on a symmetric
    variable, in the convention asked for; else ``raw``) and ``result`` (simplified)."""

    raw: Expr
    projected: Expr
    result: Expr


def one_order(f: Expr, x: Expr, symmetric: str = "sym", steps: list | None = None) -> Order:
    """∂f/∂x as ``tc.derivative`` returns one order of it (rule applications go to ``steps``).

    ``symmetric`` is the convention on a symmetric matrix variable (``"sym"`` or
    ``"cookbook"``, see ``diff.symmetric``); other variables ignore it.
    """
    raw = derivative(f, x, steps)
    projected = project(raw, symmetric) if is_symmetric_var(x) else raw
    return Order(raw, projected, simplify(projected))


def nth_order(
    f: Expr, x: Expr, order: int = 1, layout=None, symmetric: str = "sym", steps=None
) -> Expr:
    """The order-``order`` derivative exactly as ``tc.derivative`` returns and prints it: each
    order the simplified derivative of the one before, viewed in ``layout`` (and simplified
    again where the view changes it).  ``tc.check``, ``tc.explain(verify=True)``, the page's
    Check and the CLI's ``check`` verify this expression, so that no rewrite goes unchecked.

    >>> import tensorcalc as tc
    >>> from tensorcalc.expr import variables
    >>> f = tc.parse("mean(x)^2", {"x": ("n",)})
    >>> print(nth_order(f, variables(f)["x"]))
    2 * sum(x) * ones(n) / sum(ones(n))^2
    """
    d = f
    for _ in range(order):
        d = one_order(d, x, symmetric, steps).result
    viewed = apply_layout(d, f.ndim, x.ndim, order, layout)
    return d if viewed is d else simplify(viewed)  # d is simplified already; a view may not be
