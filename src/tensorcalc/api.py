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
from .diff.order import nth_order
from .diff.reverse import Step, check_order, wrt_variable
from .errors import DifferentiationError, TensorCalcError
from .explain import Explanation, explain_steps
from .explain.backprop import tables as _backprop_tables
from .expr import METHODS, NOTES, Expr, variables
from .numeric.check import check, random_values
from .numeric.evaluate import evaluate
from .parse import as_expr, parse, where
from .printing.latex import to_latex
from .printing.text import to_text
from .shapes import normal_keys


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


def derivation(
    f, wrt, order: int = 1, layout: str | None = None, shapes=None, *, symmetric: str = "sym"
) -> Derivation:
    """Like ``derivative`` but also returns the recorded rule applications (``.steps``)."""
    f = as_expr(f, shapes)
    check_order(order)
    x = wrt_variable(f, wrt)
    steps: list[Step] = []
    d = nth_order(f, x, order, layout, symmetric, steps)  # what tc.check verifies, too
    note = NOTES.setdefault(d, {})  # what evaluate needs to bind sizes, and what repr shows
    note["inputs"] = {**NOTES.get(f, {}).get("inputs", {}), **variables(f)}
    if NOTES.get(f, {}).get("assumed"):
        note["assumed"] = NOTES[f]["assumed"]
    return Derivation(f, x, d, steps)


def derivative(
    f, wrt, order: int = 1, layout: str | None = None, shapes=None, *, symmetric: str = "sym"
) -> Expr:
    """The exact derivative of ``f`` (an ``Expr`` or a string) with respect to variable ``wrt``.

    By default the value has shape ``f.shape + wrt.shape * order``; ``layout="numerator"`` or
    ``"denominator"`` gives the textbook forms (see ``tensorcalc.diff.layout``).  For a symmetric
    matrix variable (shape ``("n", "n", "symmetric")``) it is the gradient on symmetric
    matrices, (G + Gᵀ)/2; ``symmetric="cookbook"`` gives the Matrix Cookbook's G + Gᵀ − diag(G)
    (see ``tensorcalc.diff.symmetric``).

    >>> import tensorcalc as tc
    >>> print(tc.derivative("norm(X - U @ V)^2", "U", shapes={"X": "m,n", "U": "m,r", "V": "r,n"}))
    -2 * (X - U @ V) @ V'
    """
    return derivation(f, wrt, order, layout, shapes, symmetric=symmetric).result


def gradient(f, wrt, shapes=None, *, symmetric: str = "sym") -> Expr:
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
    return derivative(f, wrt, symmetric=symmetric)


def jacobian(f, wrt, shapes=None, *, symmetric: str = "sym") -> Expr:
    """Jacobian: shape ``f.shape + wrt.shape``.

    >>> import tensorcalc as tc
    >>> print(tc.jacobian("A @ x", "x", shapes={"A": "m,n", "x": "n"}))
    A
    """
    return derivative(as_expr(f, shapes), wrt, symmetric=symmetric)


def hessian(f, wrt, shapes=None, *, symmetric: str = "sym") -> Expr:
    """Hessian of a scalar expression: shape ``wrt.shape * 2``.

    >>> import tensorcalc as tc
    >>> print(tc.hessian("x' @ A @ x", "x", shapes={"x": "n", "A": "n,n"}))
    A + A'
    """
    f = as_expr(f, shapes)
    if f.ndim:
        raise DifferentiationError(f"hessian needs a scalar expression, got shape {f.shape}")
    return derivative(f, wrt, order=2, symmetric=symmetric)


def explain(
    f, wrt, order: int = 1, *, style=None, at=None, shapes=None, verify=False
) -> Explanation:
    """A step-by-step derivation of the derivative of ``f`` with respect to ``wrt``.

    ``style`` is ``"rules"`` (sum, product, quotient, power and chain rules on named parts;
    the default for a scalar variable), ``"differential"`` (df, then df = ⟨G, dX⟩; the default
    for vectors and matrices), ``"index"`` (Einstein notation with Kronecker deltas; the
    default for results of rank 3 and more), ``"backprop"`` (the computational graph; ``wrt``
    may be a list, and ``at`` gives values for the forward and backward tables) or
    ``"limit"`` (the difference quotient, for x^n).  ``verify=True`` evaluates both sides of
    every step at random points (``at`` where given) and marks each ✓; a step that fails
    raises ``TensorCalcError``.

    >>> import tensorcalc as tc
    >>> e = tc.explain("norm(X - U @ V)^2", "V", shapes={"X": "n,m", "U": "n,r"}, verify=True)
    >>> print(e.steps[0].text)
    let E = X - U @ V, f = norm(E)^2
    >>> print(e.result)
    -2 * U' @ (X - U @ V)
    """
    e = explain_steps(f, wrt, order, style, shapes)
    if at is not None and e.style == "backprop":
        e.tables = _backprop_tables(e, at, evaluate)
    if verify:
        _verify(e, at, wrt, order)
    return e


def _verify(e: Explanation, at, wrt=None, order: int = 1, attempts: int = 3):
    """Check every step at random points (``at`` where given), and the result, the derivative
    that ``tc.derivative`` returns, against finite differences of f (``e.check`` is that
    report).  Sizes of named dimensions are drawn again on a failure, so that a structurally
    singular draw (X' @ X with fewer rows than columns) is not taken for a wrong step; a step
    or a result failing every draw raises."""
    given = {name: np.asarray(v, dtype=float) for name, v in (at or {}).items()}
    bound = {}  # sizes the given values fix
    for name, v in variables(e.expr).items():
        if name in given and given[name].ndim == v.ndim:
            bound.update({d: n for d, n in zip(v.shape, given[name].shape) if isinstance(d, str)})
    if isinstance(wrt, (list, tuple)) and len(wrt) == 1:
        wrt = wrt[0]
    single = isinstance(wrt, (str, Expr))  # the backprop style may take several variables
    for k in range(attempts):
        values, dims = random_values(e.expr, seed=k, dims=bound)
        if k:
            dims = {d: 2 + k + (len(dims) - i) for i, d in enumerate(dims)} | bound
            values, dims = random_values(e.expr, seed=k, dims=dims)
        values.update(given)
        for s in e.steps:
            for side in (s.lhs, s.rhs):
                if side is not None:
                    more, dims = random_values(side, seed=k + len(values), dims=dims)
                    values.update({n: v for n, v in more.items() if n not in values})
        try:
            with np.errstate(all="ignore"):
                e.verify(lambda x, v: evaluate(x, v, dims), values)
                if single:
                    e.check = _check_orders(e, wrt, order, values)
            return e
        except TensorCalcError:
            if k == attempts - 1:
                raise


def _check_orders(e: Explanation, wrt, order: int, values: dict):
    """The result against finite differences, one order at a time as the steps derive it:
    order k (as ``tc.derivative`` returns it; the last is ``e.result``) against central
    differences of order k - 1 (first differences only, so a Hessian of a matrix stays quick;
    from f itself where that fails)."""
    x = wrt_variable(e.expr, wrt)
    prev = e.expr
    for k in range(1, order + 1):
        d = e.result if k == order else nth_order(e.expr, x, k)
        report = check(prev, x, values, 1, derivative=d)
        if not report and k > 1:  # order k - 1 may be rounding noise (d sum(softmax) = 0):
            report = check(e.expr, x, values, k, derivative=d)  # from f itself (slower)
        if not report:
            raise TensorCalcError(f"the result does not verify:\n{report}")
        prev = d
    report.source = "as tc.derivative returns it"
    return report


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
    for key, value in normal_keys(mapping, "subs").items():
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


METHODS.update(str=to_text, latex=to_latex, evaluate=evaluate, subs=subs, where=where)
