"""The public Python API: parse, differentiate, substitute, evaluate.

>>> import tensorcalc as tc
>>> f = tc.parse("x' @ A @ x", shapes={"x": ("n",), "A": ("n", "n")})
>>> print(tc.derivative(f, "x"))
(A + A') @ x
>>> print(tc.derivative(f, "x", order=2))
A + A'
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import build as b
from .diff.layout import apply_layout
from .diff.reverse import Step, wrt_variable
from .diff.reverse import derivative as _reverse
from .errors import DifferentiationError
from .expr import METHODS, Expr, variables
from .numeric.evaluate import evaluate
from .parse import as_expr, parse
from .printing.latex import to_latex
from .printing.text import to_text
from .simplify import simplify


@dataclass
class Derivation:
    """A derivative together with the rule applications that produced it."""

    expr: Expr
    wrt: Expr
    result: Expr
    steps: list = field(default_factory=list)

    def __str__(self):
        lines = [f"d/d{self.wrt.name} [{self.expr}] = {self.result}"]
        for s in self.steps:
            lines.append(f"  {s.rule}: at {s.node} → contributes {s.contribution} to d/d({s.arg})")
        return "\n".join(lines)


def derivation(f, wrt, order: int = 1, layout: str | None = None, shapes=None) -> Derivation:
    """Like ``derivative`` but also returns the recorded rule applications (``.steps``)."""
    f = as_expr(f, shapes)
    x = wrt_variable(f, wrt)
    if not isinstance(order, int) or isinstance(order, bool) or order < 1:
        raise DifferentiationError(f"order must be a positive integer, got {order!r}")
    steps: list[Step] = []
    d = f
    for _ in range(order):
        d = _reverse(d, x, steps)
    d = simplify(apply_layout(d, f.ndim, x.ndim, order, layout))
    return Derivation(f, x, d, steps)


def derivative(f, wrt, order: int = 1, layout: str | None = None, shapes=None) -> Expr:
    """The exact derivative of ``f`` (an ``Expr`` or a string) with respect to variable ``wrt``.

    By default the value has shape ``f.shape + wrt.shape * order``; ``layout="numerator"`` or
    ``"denominator"`` gives the textbook forms (see ``tensorcalc.diff.layout``).

    >>> import tensorcalc as tc
    >>> print(tc.derivative("norm(X - U @ V)^2", "U", shapes={"X": "m,n", "U": "m,r", "V": "r,n"}))
    -2 * (X - U @ V) @ V'
    """
    return derivation(f, wrt, order, layout, shapes).result


def gradient(f, wrt, shapes=None) -> Expr:
    """Gradient of a scalar expression; it has the shape of ``wrt``.

    >>> import tensorcalc as tc
    >>> print(tc.gradient("a' @ X @ b", "X", shapes={"a": "m", "X": "m,n", "b": "n"}))
    a @ b'
    """
    f = as_expr(f, shapes)
    if f.ndim:
        raise DifferentiationError(
            f"gradient needs a scalar expression, got shape {f.shape}; use jacobian"
        )
    return derivative(f, wrt)


def jacobian(f, wrt, shapes=None) -> Expr:
    """Jacobian: shape ``f.shape + wrt.shape``.

    >>> import tensorcalc as tc
    >>> print(tc.jacobian("A @ x", "x", shapes={"A": "m,n", "x": "n"}))
    A
    """
    return derivative(as_expr(f, shapes), wrt)


def hessian(f, wrt, shapes=None) -> Expr:
    """Hessian of a scalar expression: shape ``wrt.shape * 2``.

    >>> import tensorcalc as tc
    >>> print(tc.hessian("x' @ A @ x", "x", shapes={"x": "n", "A": "n,n"}))
    A + A'
    """
    f = as_expr(f, shapes)
    if f.ndim:
        raise DifferentiationError(f"hessian needs a scalar expression, got shape {f.shape}")
    return derivative(f, wrt, order=2)


def subs(e: Expr, mapping: dict, shapes=None) -> Expr:
    """Substitute variables (by name or ``Expr``) with expressions, strings or arrays.

    >>> import tensorcalc as tc
    >>> f = tc.parse("x1^2 + 2 * x2").subs({"x1": "sin(t)", "x2": "cos(t)"})
    >>> print(tc.derivative(f, "t"))
    sin(t) * (2 * cos(t) - 2)
    """
    found = variables(e)
    known = {name: v.shape for name, v in found.items()}
    table = {}
    for key, value in mapping.items():
        old = key if isinstance(key, Expr) else found.get(key)
        if old is None:
            raise DifferentiationError(f"the expression has no variable {key!r} to substitute")
        if isinstance(value, str):
            new = parse(value, shapes, known=known)
        elif isinstance(value, (list, tuple, np.ndarray)) and np.ndim(value):
            new = b.array(value)  # numbers for a parameter: an array constant
        else:
            new = b.to_expr(value)
        table[old] = b.broadcast(new, old.shape, "subs") if new.shape == () else new
    return b.substitute(e, table)


METHODS.update(str=to_text, latex=to_latex, evaluate=evaluate, subs=subs)
