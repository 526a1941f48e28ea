"""Critical points and the second-derivative test, on exact derivatives.

* One variable on an interval: sample f′ on a grid and bisect every sign change; also polish
  the grid's local minima of |f′| with Newton steps (exact f″), which catches double roots
  where f′ touches zero without changing sign.  The first-derivative test names each root:
  f′ going from − to + is a minimum, + to − a maximum, no sign change an inflection point
  (robust where f″ is tiny but not zero at a numerically found root).
* Several variables: Newton's method on the exact gradient and Hessian from given starts.
* ``classify``: the eigenvalues of the Hessian give a local minimum (all > 0), a local
  maximum (all < 0), a saddle point (both signs) or, when the Hessian is semi-definite and
  singular, "inconclusive".  For one variable the first non-vanishing higher derivative
  decides instead (even order: extremum; odd order: "inflection point").  Over an interval,
  the lowest local minimum that is also below both endpoints is the "global minimum"
  (likewise "global maximum").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..codegen import compile as compile_exprs
from ..diff.reverse import derivative
from ..errors import TensorCalcError
from .common import Objective, fmt_value, names_of

MINIMUM, MAXIMUM, SADDLE = "local minimum", "local maximum", "saddle point"
INFLECTION, INCONCLUSIVE, NOT_CRITICAL = "inflection point", "inconclusive", "not a critical point"
HIGHER_ORDERS = 8  # the 1-D test looks at f‴ … f⁽⁸⁾ when f″ vanishes


@dataclass
class CriticalPoint:
    """A point, the function's value there and what kind of point it is.

    >>> import tensorcalc as tc
    >>> p = tc.classify("x^2 - y^2", at={"x": 0, "y": 0})
    >>> p.kind, p.value
    ('saddle point', 0.0)
    >>> print(p)
    saddle point at x = 0, y = 0 (value 0)
    """

    point: dict
    value: float
    kind: str
    eigenvalues: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    gradient_norm: float = 0.0

    def __str__(self):
        where = ", ".join(f"{k} = {fmt_value(v)}" for k, v in self.point.items())
        return f"{self.kind} at {where} (value {fmt_value(self.value)})"


def _kind_from_eigenvalues(lam: np.ndarray) -> str:
    tol = 1e-8 * max(1.0, float(np.max(np.abs(lam), initial=0.0)))
    pos, neg = bool(np.any(lam > tol)), bool(np.any(lam < -tol))
    if pos and neg:
        return SADDLE
    if pos and np.all(lam > tol):
        return MINIMUM
    if neg and np.all(lam < -tol):
        return MAXIMUM
    return INCONCLUSIVE


def _higher_order_kind(obj: Objective, theta) -> str:
    """One variable with f″ = 0: the first non-zero derivative of order k decides."""
    d = derivative(obj.grads[0], obj.vars[0])
    args = obj.args(theta)
    for k in range(3, HIGHER_ORDERS + 1):
        d = derivative(d, obj.vars[0])
        v = float(compile_exprs(d)(**args))
        if abs(v) > 1e-8 * max(1.0, abs(v)):
            if k % 2:
                return INFLECTION
            return MINIMUM if v > 0 else MAXIMUM
    return INCONCLUSIVE


def _classify(obj: Objective, theta, gtol: float, kind: str | None = None) -> CriticalPoint:
    """The point θ with its value and Hessian eigenvalues; its kind unless ``kind`` is given."""
    value, g = obj.value_and_grad(theta)
    gnorm = float(np.linalg.norm(g))
    H = obj.hessian(theta)
    lam = np.linalg.eigvalsh((H + H.T) / 2)
    if kind is None and gnorm > gtol * max(1.0, abs(value)):
        kind = NOT_CRITICAL
    if kind is None:
        kind = _kind_from_eigenvalues(lam)
    if kind == INCONCLUSIVE and obj.n == 1:
        kind = _higher_order_kind(obj, theta)
    return CriticalPoint(obj.unpack(theta), value, kind, lam, gnorm)


def classify(f, at: dict, wrt=None, shapes=None, tol: float = 1e-6) -> CriticalPoint:
    """Classify the point ``at`` of ``f`` by the second-derivative test.

    ``wrt`` (default: every variable in ``at``) are the variables; others in ``at`` are fixed.
    Returns a ``CriticalPoint`` whose ``.kind`` is "local minimum", "local maximum", "saddle
    point", "inconclusive" (semi-definite, singular Hessian), "inflection point" (one
    variable, odd-order test) or "not a critical point" (gradient norm above ``tol``).

    >>> import tensorcalc as tc
    >>> tc.classify("x^2 - y^2", at={"x": 0, "y": 0}).kind
    'saddle point'
    >>> tc.classify("x^2 * y + x * y^2", at={"x": 0, "y": 0}).kind
    'inconclusive'
    """
    obj = Objective(f, wrt if wrt is not None else list(at), at, shapes)
    return _classify(obj, obj.start, tol)


def _newton_root(obj: Objective, theta, iters=100, tol=1e-12):
    """Newton's method on the gradient (exact Hessian, solved by least squares)."""
    for _ in range(iters):
        value, g = obj.value_and_grad(theta)
        if not np.all(np.isfinite(g)):
            return None
        if np.linalg.norm(g) <= tol * max(1.0, abs(value)):
            return theta
        step = np.linalg.lstsq(obj.hessian(theta), g, rcond=None)[0]
        theta = theta - step
    value, g = obj.value_and_grad(theta)
    return theta if np.linalg.norm(g) <= 1e-7 * max(1.0, abs(value)) else None


def _bisect(gfun, lo, hi, glo):
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        gm = gfun(mid)
        if gm == 0.0:
            return mid
        if (gm > 0) == (glo > 0):
            lo, glo = mid, gm
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _interval_roots(obj: Objective, a: float, b: float, samples: int) -> list:
    """``(x, kind)`` for every root of f′ on [a, b]; the kind comes from the first-derivative
    test (f′ from − to +: minimum; + to −: maximum; touching zero: inflection point)."""

    def g(x):
        return obj.value_and_grad(np.array([x]))[1][0]

    slope = None
    xs = np.linspace(a, b, samples + 1)
    gs = np.array([g(x) for x in xs])
    scale = max(1.0, float(np.max(np.abs(gs[np.isfinite(gs)]), initial=0.0)))
    sign_kind = {(-1, 1): MINIMUM, (1, -1): MAXIMUM, (1, 1): INFLECTION, (-1, -1): INFLECTION}
    roots = []
    for i in range(1, samples):
        if gs[i] == 0.0 and gs[i - 1] * gs[i + 1] != 0:
            roots.append((xs[i], sign_kind[(int(np.sign(gs[i - 1])), int(np.sign(gs[i + 1])))]))
    for i in range(samples):
        if np.isfinite(gs[i]) and np.isfinite(gs[i + 1]) and gs[i] * gs[i + 1] < 0:
            roots.append((_bisect(g, xs[i], xs[i + 1], gs[i]), MINIMUM if gs[i] < 0 else MAXIMUM))
    absg = np.abs(gs)
    for i in range(1, samples):  # |f′| touching zero without a sign change (double roots)
        if absg[i] <= absg[i - 1] and absg[i] <= absg[i + 1] and gs[i - 1] * gs[i + 1] > 0:
            # f′ as an objective (its gradient is f″), built only when a double root appears
            slope = slope or Objective(obj.grads[0], obj.names, {**obj.fixed, **obj.unpack(xs[:1])})
            x = _newton_root(slope, np.array([xs[i]]))  # a root of f″ is simple there
            if x is not None and a <= x[0] <= b and abs(g(x[0])) <= 1e-8 * scale:
                roots.append((float(x[0]), INFLECTION))
    roots.sort()
    out = []
    for r, kind in roots:
        if not out or abs(r - out[-1][0]) > 1e-6 * max(1.0, b - a):
            out.append((r, kind))
    return out


def _mark_global(points: list, endpoint_values: list) -> None:
    """Rename the lowest local minima (highest maxima) that no endpoint beats as global."""
    values = [p.value for p in points] + endpoint_values
    for kind, best, glob in ((MINIMUM, min, "global minimum"), (MAXIMUM, max, "global maximum")):
        top = best(values)
        for p in points:
            if p.kind == kind and abs(p.value - top) <= 1e-12 * max(1.0, abs(top)):
                p.kind = glob


def critical_points(
    f,
    over: dict | None = None,
    *,
    start=None,
    wrt=None,
    at: dict | None = None,
    shapes=None,
    samples: int = 2000,
    tol: float = 1e-6,
) -> list:
    """All critical points of a scalar ``f`` of one variable on an interval, or the critical
    points Newton's method reaches from the given starts for several variables.

    ``over={"x": (a, b)}``: one variable on [a, b] (bracketing on the exact f′, then
    polishing).  ``start``: a point ``{"x": …, "y": …}`` or a list of them.  ``at`` fixes
    the values of any other variables.  Each result is a ``CriticalPoint`` (``.point``,
    ``.value``, ``.kind``), sorted by position for one variable.

    >>> import tensorcalc as tc
    >>> for p in tc.critical_points("3*x^4 - 4*x^3 - 12*x^2", over={"x": (-3, 3)}):
    ...     print(p)
    local minimum at x = -1 (value -5)
    local maximum at x = 0 (value 0)
    global minimum at x = 2 (value -32)
    """
    at = dict(at or {})
    if (over is None) == (start is None):
        raise TensorCalcError("give either over={'x': (a, b)} (one variable) or start=points")
    if over is not None:
        if len(over) != 1:
            raise TensorCalcError(
                "over= takes one variable and its interval; for several variables give start="
            )
        ((name, interval),) = over.items()
        try:
            a, b = (float(v) for v in interval)
        except (TypeError, ValueError):
            raise TensorCalcError(
                f"the interval for {name} must be two numbers (a, b), got {interval!r}"
            ) from None
        if not (math.isfinite(a) and math.isfinite(b)):
            raise TensorCalcError(
                f"the interval for {name} must be finite, got ({a}, {b}); "
                "for an unbounded search give start= points"
            )
        if not a < b:
            raise TensorCalcError(f"the interval for {name} must have a < b, got ({a}, {b})")
        obj = Objective(f, [name], {**at, name: a}, shapes)
        if obj.n != 1:
            raise TensorCalcError(
                f"over= needs a scalar variable; {name} has shape {obj.shapes[0]}"
            )
        roots = _interval_roots(obj, a, b, samples)
        points = [_classify(obj, np.array([r]), tol, kind) for r, kind in roots]
        _mark_global(points, [obj.value(np.array([a])), obj.value(np.array([b]))])
        return points
    starts = [start] if isinstance(start, dict) else list(start)
    names = names_of(wrt) if wrt is not None else list(starts[0])
    obj = Objective(f, names, {**at, **starts[0]}, shapes)
    found = []
    for s in starts:
        theta = _newton_root(obj, obj.pack({**obj.unpack(obj.start), **s}))
        if theta is None:
            continue
        if all(np.linalg.norm(theta - q) > 1e-6 * max(1.0, np.linalg.norm(q)) for q in found):
            found.append(theta)
    return [_classify(obj, t, tol) for t in found]
