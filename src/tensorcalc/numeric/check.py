"""Derivative checking: a tensorcalc derivative, or a user's own gradient code, against
Richardson-extrapolated finite differences.

The verdict comes from the finite-difference error estimate, not from a fixed tolerance: an
entry fails when it differs from the numerical value by more than ``safety`` times that
entry's estimated error plus a floor of a few ulps of the gradient's scale.  Where the exact
value is 0 the entry's own estimate can be tiny (f is flat there), so its floor is the
largest error estimate of the whole derivative.  In float64 this
resolves relative errors far below 1e-6; float32 problems get float32-sized estimates and a
note explaining the limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..build import is_symmetric_var, var
from ..diff.layout import apply_layout
from ..diff.order import nth_order
from ..diff.reverse import check_order
from ..errors import DifferentiationError, TensorCalcError
from ..expr import Expr, postorder, variables
from ..ops import Op
from ..parse import as_expr, parse
from .evaluate import evaluate
from .fd import derivative as numerical

SAFETY = 8.0


@dataclass
class CheckReport:
    """The outcome of a derivative check; ``bool(report)`` is the verdict."""

    passed: bool
    max_abs_error: float
    max_rel_error: float
    worst_index: tuple
    worst_expected: float
    worst_actual: float
    error_estimate: float
    what: str = "derivative"
    notes: list = field(default_factory=list)
    checked: str = ""  # the derivative whose values were compared, as printed
    source: str = ""  # where it came from: "as tc.derivative returns it" or "as given"

    def __bool__(self):
        return self.passed

    def __str__(self):
        verdict = "PASS" if self.passed else "FAIL"
        lines = [
            f"{verdict}: {self.what}",
            *([f"  checked         {self.checked}   ({self.source})"] if self.checked else []),
            f"  max abs error   {self.max_abs_error:.3e}",
            f"  max rel error   {self.max_rel_error:.3e}",
            f"  worst entry     {self.worst_index}: got {self.worst_actual:.12g}, "
            f"finite differences {self.worst_expected:.12g}",
            f"  error estimate  {self.error_estimate:.3e} (finite differences, at the worst entry)",
        ]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def compare(actual, expected, err, what="derivative", dtype=np.float64) -> CheckReport:
    """Compare ``actual`` with finite differences ``expected`` whose error estimate is ``err``."""
    actual = np.asarray(actual, dtype=float)
    expected = np.asarray(expected, dtype=float)
    if actual.shape != expected.shape:
        raise TensorCalcError(
            f"{what}: shape {actual.shape} but finite differences give {expected.shape}"
        )
    eps = float(np.finfo(dtype).eps)
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    err = np.broadcast_to(np.asarray(err, dtype=float), expected.shape)
    tol = SAFETY * err + 64 * eps * (np.abs(expected) + scale)
    if err.size:  # an exact zero: judged against the derivative's largest error estimate
        tol = np.where(actual == 0, np.maximum(tol, SAFETY * float(np.max(err))), tol)
    diff = np.abs(actual - expected)
    if not np.all(np.isfinite(actual)):
        diff = np.where(np.isfinite(actual), diff, np.inf)
    excess = diff / np.maximum(tol, 1e-300)
    worst = np.unravel_index(int(np.argmax(excess)), excess.shape) if excess.size else ()
    rel = diff / np.maximum(np.abs(expected), 1e-300)
    notes = []
    if np.finfo(dtype).bits < 64:
        notes.append(
            f"{np.dtype(dtype).name} inputs: finite differences resolve only about "
            f"{np.sqrt(eps):.0e} relative error here; check in float64 for a strict test"
        )
    return CheckReport(
        passed=bool(np.all(diff <= tol)),
        max_abs_error=float(diff.max()) if diff.size else 0.0,
        max_rel_error=float(np.max(np.where(np.abs(expected) > 0, rel, diff)))
        if diff.size
        else 0.0,
        worst_index=tuple(int(i) for i in worst),
        worst_expected=float(expected[worst]) if expected.size else 0.0,
        worst_actual=float(actual[worst]) if actual.size else 0.0,
        error_estimate=float(np.asarray(err)[worst]) if expected.size else 0.0,
        what=what,
        notes=notes,
    )


# ------------------------------------------------------------------ checking expressions

_POSITIVE = {Op.LOG, Op.SQRT, Op.LOG1P}
_UNIT = {Op.ARCSIN, Op.ARCCOS}
_MATRIX = {Op.INV, Op.DET, Op.LOGDET}


def _domains(e: Expr) -> dict:
    """Which variables feed (through transposes) into ops with restricted domains."""
    out = {}
    for n in postorder([e]):
        if n.op in _POSITIVE | _UNIT | _MATRIX or (n.op is Op.POW):
            a = n.args[0]
            while a.op is Op.EINSUM and len(a.args) == 1:
                a = a.args[0]
            if a.op is Op.VAR:
                kind = "spd" if n.op in _MATRIX else ("unit" if n.op in _UNIT else "positive")
                out.setdefault(a.attrs[0], kind)
    return out


def random_values(e: Expr, seed=0, dims=None) -> tuple[dict, dict]:
    """Random float64 values for the variables of ``e`` that respect the ops' domains.

    Symbolic dimensions get distinct sizes (2, 3, 4, ...) so transposition bugs show, and a
    variable declared symmetric gets a symmetric value.  A dimension that no variable has
    (``sum(ones(m))``) gets a size too.
    """
    rng = np.random.default_rng(seed)
    dims = dict(dims or {})
    domains = _domains(e)
    values = {}
    for name, v in sorted(variables(e).items()):
        shape = []
        for d in v.shape:
            if isinstance(d, str) and d not in dims:
                dims[d] = 2 + len(dims)
            shape.append(d if isinstance(d, int) else dims[d])
        kind = domains.get(name)
        if kind == "spd" and len(shape) == 2 and shape[0] == shape[1]:
            a = rng.normal(size=shape)
            values[name] = a @ a.T / shape[0] + np.eye(shape[0])
        elif kind == "positive":
            values[name] = rng.uniform(0.5, 2.0, size=shape)
        elif kind == "unit":
            values[name] = rng.uniform(-0.8, 0.8, size=shape)
        else:
            values[name] = rng.normal(size=shape)
        if is_symmetric_var(v):  # declared S' = S: a symmetric value (evaluate checks it)
            values[name] = (values[name] + values[name].T) / 2
    return values, _more_dims([e], dims)


def _more_dims(exprs, dims) -> dict:
    """``dims`` with a size for every named dimension of ``exprs`` that it lacks."""
    dims = dict(dims)
    for n in postorder(exprs):
        for d in n.shape:
            if isinstance(d, str) and d not in dims:
                dims[d] = 2 + len(dims)
    return dims


def _bound(expr: Expr, values: dict) -> dict:
    """The sizes of named dimensions that the given values fix."""
    dims = {}
    for name, v in variables(expr).items():
        shape = np.shape(values.get(name, ()))
        if name in values and len(shape) == v.ndim:
            dims.update({d: n for d, n in zip(v.shape, shape) if isinstance(d, str)})
    return dims


def check(
    expr, wrt, values=None, order: int = 1, seed: int = 0, *, derivative=None, layout=None
) -> CheckReport:
    """Check the derivative of ``expr`` that ``tc.derivative`` returns and prints (simplified,
    in ``layout``) against finite differences of ``expr`` itself; or, given ``derivative`` (an
    ``Expr`` or a string), that one.  Symbolic dimensions are bound when it is evaluated
    (random sizes, or those of ``values``); ``report.checked`` is the expression checked.

    >>> import tensorcalc as tc
    >>> report = tc.check(tc.parse("logdet(X)", {"X": ("n", "n")}), "X")
    >>> report.passed, report.checked
    (True, "inv(X)'")
    >>> f = tc.parse("mean(x)^2", {"x": ("n",)})
    >>> tc.check(f, "x", derivative="2 * mean(x) * ones(n)").passed
    False
    >>> tc.check(f, "x", derivative="2 * mean(x) * ones(n) / sum(ones(n))").passed
    True
    """
    check_order(order)
    expr = as_expr(expr)
    found = variables(expr)
    name = wrt.attrs[0] if isinstance(wrt, Expr) else wrt
    if name not in found:
        raise DifferentiationError(f"the expression has no variable {name!r}")
    x = found[name]
    if derivative is None:
        d, source = nth_order(expr, x, order, layout), "as tc.derivative returns it"
    else:
        known = {n: v.shape for n, v in found.items()}
        d = derivative if isinstance(derivative, Expr) else parse(derivative, known=known)
        source = "as given"
        extra = sorted(set(variables(d)) - set(found))
        if extra:
            raise DifferentiationError(
                f"the derivative has a variable {extra[0]!r} that the expression has not"
            )
    if values is None:
        values, dims = random_values(expr, seed)
    else:
        values = dict(values)
        dims = _bound(expr, values)
    dims = _more_dims([expr, d], dims)
    actual = evaluate(d, values, dims)
    on = _symmetrised if is_symmetric_var(x) else (lambda v: v)
    fun = lambda v: evaluate(expr, {**values, name: on(v)}, dims)  # noqa: E731
    expected, err = numerical(
        fun, np.asarray(values[name], dtype=float), order, "richardson", full_output=True
    )

    def view(a):  # the finite differences in the derivative's layout
        v = var("fd", np.shape(a))
        return evaluate(apply_layout(v, expr.ndim, x.ndim, order, layout), {"fd": a})

    report = compare(
        actual,
        view(expected),
        view(np.broadcast_to(err, np.shape(expected))),
        f"d^{order}/d{name}^{order} of {expr}" if order > 1 else f"d/d{name} of {expr}",
    )
    report.checked, report.source = str(d), source
    return report


def _symmetrised(v):
    """(V + Vᵀ)/2: differences of f(sym V) in V are sym(G), f's gradient on symmetric S."""
    return (v + np.swapaxes(v, -1, -2)) / 2


# -------------------------------------------------------------------- checking user code


def _dtype(x, *outs):
    types = [np.asarray(a).dtype for a in (x, *outs)]
    floats = [t for t in types if np.issubdtype(t, np.floating)]
    return min(floats, key=lambda t: np.finfo(t).bits) if floats else np.float64


def check_grad(f, grad_f, x, **kw) -> CheckReport:
    """Check a user's gradient function ``grad_f`` of a scalar function ``f`` at ``x``.

    >>> import numpy as np, tensorcalc as tc
    >>> f = lambda x: np.sum(x ** 3)
    >>> tc.check_grad(f, lambda x: 3 * x**2, np.array([1.0, 2.0])).passed
    True
    >>> tc.check_grad(f, lambda x: 3 * x**2 * (1 + 1e-6), np.array([1.0, 2.0])).passed
    False
    """
    return _check_user(f, grad_f, x, 1, "gradient", **kw)


def check_jacobian(f, jac_f, x, **kw) -> CheckReport:
    """Check a user's Jacobian function (shape ``f(x).shape + x.shape``)."""
    return _check_user(f, jac_f, x, 1, "Jacobian", **kw)


def check_hessian(f, hess_f, x, **kw) -> CheckReport:
    """Check a user's Hessian function of a scalar function (shape ``x.shape * 2``)."""
    return _check_user(f, hess_f, x, 2, "Hessian", **kw)


def _check_user(f, df, x, order, what, step=None):
    x = np.asarray(x)
    if x.dtype.kind in "iub":
        x = x.astype(float)
    actual = np.asarray(df(x))
    dtype = _dtype(x, np.asarray(f(x)), actual)
    expected, err = numerical(f, x, order, "richardson", step=step, full_output=True)
    return compare(actual, expected, err, f"{what} at x of shape {x.shape}", dtype)
