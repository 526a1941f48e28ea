"""Optimisers that show their work: gradient descent, momentum, Newton and Newton-CG.

Each step is one table entry (``STEPS``) from (objective, θ, gradient, state, options) to the
next θ; the loop records every iterate, value and gradient norm, stops when the gradient
norm falls below ``tol`` (or after ``steps``), and stops with a message if the iterates
stop being finite.  Newton solves H p = ∇f with the exact Hessian; it never inverts H.
Newton-CG never forms H: conjugate gradients solve H p = −∇f with the compiled
Hessian-vector product (``Objective.hvp_at``: its weights computed once per step, each
product O(size of the data)), stopped early as Nocedal and Wright's Algorithm 7.1 stops
(residual below min(0.5, √|∇f|) |∇f|, or a direction of non-positive curvature), then a
backtracking (Armijo) line search along p.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import TensorCalcError
from .common import Objective, fmt_value, names_of
from .plot import plot_path


def _momentum(obj, th, g, st, o):
    st["v"] = o["beta"] * st.get("v", 0.0) - o["lr"] * g
    return th + st["v"]


def _newton(obj, th, g, st, o):
    H = obj.hessian(th)
    try:
        return th - np.linalg.solve(H, g)
    except np.linalg.LinAlgError:  # singular Hessian: the least-squares step
        return th - np.linalg.lstsq(H, g, rcond=None)[0]


def _cg(hv, g, maxiter):
    """An approximate solution of H p = −g by conjugate gradients (Nocedal & Wright, Alg. 7.1):
    −g itself when the first direction has non-positive curvature."""
    gnorm = float(np.linalg.norm(g))
    eps = min(0.5, np.sqrt(gnorm)) * gnorm
    z, r = np.zeros_like(g), g.copy()
    d = -r
    for j in range(maxiter):
        hd = hv(d)
        curv = float(d @ hd)
        if curv <= 0:
            return -g if j == 0 else z
        rr = float(r @ r)
        a = rr / curv
        z = z + a * d
        r = r + a * hd
        if np.linalg.norm(r) < eps:
            break
        d = -r + (float(r @ r) / rr) * d
    return z


def _newton_cg(obj, th, g, st, o):
    p = _cg(obj.hvp_at(th), g, max(obj.n, 10))
    slope = float(g @ p)
    if not slope < 0:  # not a descent direction (rounding): the gradient's
        p, slope = -g, -float(g @ g)
    f0, t = obj.value(th), 1.0
    noise = 8 * np.finfo(float).eps * abs(f0)  # a change of f below its rounding is no change
    while t > 1e-12 and not obj.value(th + t * p) <= f0 + 1e-4 * t * slope + noise:
        t /= 2  # Armijo's backtracking
    return th + t * p


STEPS = {
    "gd": lambda obj, th, g, st, o: th - o["lr"] * g,  # θ ← θ − η ∇f
    "momentum": _momentum,  # v ← βv − η ∇f;  θ ← θ + v   (heavy ball)
    "newton": _newton,  # θ ← θ − H⁻¹ ∇f, by solving H p = ∇f
    "newton-cg": _newton_cg,  # θ ← θ + t p, H p ≈ −∇f by CG on Hessian-vector products
}

STUCK = {  # why a step can be zero while the gradient is not
    "gd": " (the learning rate is 0)",
    "newton": " (the Hessian is singular and the gradient is not in its range; try method='gd')",
}


@dataclass
class OptimizeResult:
    """The path of an optimiser: ``iterates`` (x₀ first), ``values`` and ``grad_norms``.

    With one variable an iterate is its value (a float for a scalar); with several it is a
    ``{name: value}`` dict.  ``x`` is the last iterate, ``converged`` says whether the
    gradient norm reached ``tol``.

    >>> import tensorcalc as tc
    >>> r = tc.minimize("x^2 - 4*x + 3", "x", x0=4, method="newton")
    >>> r.x, r.converged, r.steps
    (2.0, True, 1)
    """

    method: str
    names: list
    iterates: list
    values: list
    grad_norms: list
    converged: bool
    message: str
    f: object = field(default=None, repr=False)
    fixed: dict = field(default_factory=dict, repr=False)

    @property
    def x(self):
        return self.iterates[-1]

    @property
    def steps(self) -> int:
        return len(self.iterates) - 1

    def _columns(self):
        if len(self.names) == 1:
            return {self.names[0]: self.iterates}
        return {n: [it[n] for it in self.iterates] for n in self.names}

    def __str__(self):
        cols = self._columns()
        head = ["k", *cols, "f", "|grad f|"]
        rows = []
        for k in range(len(self.iterates)):
            cells = [str(k)] + [fmt_value(cols[n][k]) for n in cols]
            rows.append(cells + [f"{self.values[k]:.10g}", f"{self.grad_norms[k]:.3e}"])
        if len(rows) > 24:
            rows = rows[:10] + [["…"] * len(head)] + rows[-10:]
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
        lines = [f"{self.method}: {self.message}"]
        lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in [head, *rows]]
        return "\n".join(lines)

    def to_pandas(self):
        """The table as a ``pandas.DataFrame`` (needs pandas)."""
        try:
            import pandas as pd  # optional extra, only for this method
        except ImportError:
            raise TensorCalcError("to_pandas needs pandas: pip install pandas") from None
        data = {**self._columns(), "f": self.values, "grad_norm": self.grad_norms}
        return pd.DataFrame(data).rename_axis("k")

    def plot(self, **kw):
        """The path over the contour plot of the objective (needs the ``[plot]`` extra)."""
        return plot_path(self, **kw)


def minimize(
    f,
    wrt,
    x0,
    method: str = "gd",
    lr: float = 0.1,
    steps: int = 100,
    tol: float = 1e-8,
    beta: float = 0.9,
    at: dict | None = None,
    shapes=None,
) -> OptimizeResult:
    """Minimise ``f`` over ``wrt`` from ``x0`` by ``method`` ("gd", "momentum", "newton" or
    "newton-cg": Newton's step by conjugate gradients on exact Hessian-vector products,
    never forming the Hessian, with a backtracking line search).

    ``x0`` is a value (one variable) or a ``{name: value}`` dict; ``at`` fixes other
    variables.  Returns the whole path as an ``OptimizeResult``.

    >>> import tensorcalc as tc
    >>> r = tc.minimize("x^2 - 4*x + 3", "x", 4, lr=0.1, steps=3)
    >>> [round(x, 10) for x in r.iterates]
    [4.0, 3.6, 3.28, 3.024]
    >>> tc.minimize("x^2 - 4*x + 3", "x", 4, method="newton").x
    2.0
    >>> tc.minimize("x^2 - 4*x + 3", "x", 4, method="newton-cg").x
    2.0
    """
    if method not in STEPS:
        raise TensorCalcError(f"unknown method {method!r}; use one of {', '.join(STEPS)}")
    if not isinstance(steps, int) or steps < 0:
        raise TensorCalcError(f"steps must be a non-negative integer, got {steps!r}")
    names = names_of(wrt)
    start = dict(x0) if isinstance(x0, dict) else {names[0]: x0}
    if set(start) != set(names):
        raise TensorCalcError(f"x0 must give a value for each of {', '.join(names)}")
    obj = Objective(f, names, {**(at or {}), **start}, shapes)
    opts = {"lr": lr, "beta": beta}
    theta, state = obj.start, {}
    path, values, norms = [], [], []
    message = f"stopped after {steps} steps"
    converged = False
    with np.errstate(all="ignore"):  # a diverging run is reported, not warned about
        for k in range(steps + 1):
            value, g = obj.value_and_grad(theta)
            path.append(theta)
            values.append(value)
            norms.append(float(np.linalg.norm(g)))
            if not (np.isfinite(value) and np.all(np.isfinite(g))):
                message = f"diverged at step {k} (non-finite value or gradient)"
                break
            if norms[-1] <= tol:
                converged, message = True, f"converged in {k} steps (|grad f| <= {tol:g})"
                break
            if k == steps:
                break
            new = np.array(STEPS[method](obj, theta.copy(), g, state, opts), dtype=np.float64)
            if np.array_equal(new, theta) and not state:  # momentum may still coast
                message = f"stuck at step {k}: the step is zero but the gradient is not"
                message += STUCK.get(method, "")
                break
            theta = new
    unpacked = [obj.unpack(t) for t in path]
    iterates = [u[names[0]] for u in unpacked] if len(names) == 1 else unpacked
    return OptimizeResult(
        method, names, iterates, values, norms, converged, message, obj.f, obj.fixed
    )
