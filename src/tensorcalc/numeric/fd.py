"""Finite differences for any callable on arrays, with automatic steps and error estimates.

Methods (``method=``):

* ``"forward"`` / ``"backward"``: one-sided quotients, step ≈ √ε·max(|x|, 1);
* ``"central"``: symmetric quotients, step ≈ ε^(1/3)·max(|x|, 1), error estimated by halving;
* ``"complex"``: the complex step Im f(x + ih)/h, exact to rounding where f accepts complex input;
* ``"richardson"`` (default for checks): central quotients at h, h/2, h/4, h/8 extrapolated
  in h²; the error estimate is the change of the last extrapolation plus the rounding bound.

The layout matches ``tc.derivative``: the result has shape ``f(x).shape + x.shape * order``.
Higher orders nest the first-order rule; the rounding bound of each level starts from the
error estimate of the level inside it (its values are that noisy, not ε-accurate), so an
exact 0 at order 3 is not a failure against a quotient of 4e-11.  ε is the machine epsilon of the float type of x and
f(x), so float32 problems get float32-sized steps and error estimates.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ..errors import TensorCalcError

METHODS = ("forward", "backward", "central", "complex", "richardson")
MAX_EVALUATIONS = 10**6  # the most function calls one (nested) finite difference may make
_CALLS = {"forward": 1, "backward": 1, "central": 2, "complex": 1, "richardson": 8}  # per entry


def _eps(*arrays) -> float:
    types = [
        a.dtype
        for a in arrays
        if np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.complexfloating)
    ]
    dt = np.result_type(*types) if types else np.float64
    return float(np.finfo(dt).eps)


def _call(f, x):
    return np.asarray(f(x))


def _one(f, x, idx, h, method):
    """Derivative of f along coordinate ``idx`` with step ``h`` (and a rounding scale)."""
    if method == "complex":
        xc = x.astype(complex)
        xc[idx] += 1j * h
        return np.imag(_call(f, xc)) / h
    xp, xm = x.copy(), x.copy()
    xp[idx] += h
    xm[idx] -= h
    if method == "forward":
        return (_call(f, xp) - _call(f, x)) / h
    if method == "backward":
        return (_call(f, x) - _call(f, xm)) / h
    return (_call(f, xp) - _call(f, xm)) / (2 * h)


def _richardson(f, x, idx, h, levels=4):
    """Central differences at h/2^k, extrapolated; returns (value, error estimate)."""
    table = [_one(f, x, idx, h / 2**k, "central") for k in range(levels)]
    prev = None
    for j in range(1, levels):
        prev = table[-1]
        table = [table[k] + (table[k] - table[k - 1]) / (4**j - 1) for k in range(1, len(table))]
    best = table[-1]
    return best, np.abs(best - prev)


def _steps(x, method, step, total_order, eps):
    """Absolute steps per coordinate, fixed once for all nesting levels."""
    scale = np.maximum(np.abs(np.real(x)), 1.0)
    if step is not None:
        return step * scale
    if method == "richardson":
        return 0.1 * scale
    if method == "complex":
        return 1e-20 * scale
    # nested quotients amplify rounding by 1/h per level: balance it against truncation
    power = 1.0 / ({"forward": 1, "backward": 1, "central": 2}[method] + total_order)
    return eps**power * scale


def _first(f, x, method, hs, with_error, noise=0.0):
    """First derivative (and error estimate) of ``f``, whose values carry absolute error
    ``noise`` on top of rounding."""
    f0 = _call(f, x)
    eps = _eps(x, f0)
    dtype = float if method == "complex" else np.result_type(f0.dtype, x.dtype, np.float64)
    out = np.zeros(f0.shape + x.shape, dtype=dtype)
    err = np.zeros(out.shape)
    fscale = float(np.max(np.abs(f0))) if f0.size else 1.0
    for idx in np.ndindex(*x.shape):
        sel = (Ellipsis, *idx)
        h = float(hs[idx])
        if method == "richardson":
            out[sel], e = _richardson(f, x, idx, h)
            err[sel] = e + (32 * eps * max(fscale, 1e-300) + 2 * noise) / (h / 8)
            continue
        out[sel] = _one(f, x, idx, h, method)
        if with_error and method == "complex":
            err[sel] = eps * np.abs(out[sel])
        elif with_error:
            half = _one(f, x, idx, h / 2, method)
            gain = 3.0 if method == "central" else 1.0  # error ∝ h² or h
            err[sel] = np.abs(out[sel] - half) / gain + (4 * eps * fscale + 2 * noise) / h
    return out, err


def derivative(f, x, order: int = 1, method: str = "central", step=None, full_output: bool = False):
    """Numerical derivative of ``f`` at ``x``: shape ``f(x).shape + x.shape * order``.

    With ``full_output=True`` returns ``(value, error_estimate)``, the estimate having the
    value's shape.

    >>> import numpy as np
    >>> from tensorcalc import numeric
    >>> g = numeric.derivative(lambda v: np.sum(v**3), np.array([1.0, 2.0]), method="richardson")
    >>> np.allclose(g, [3.0, 12.0])
    True
    """
    if method not in METHODS:
        raise TensorCalcError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    if not isinstance(order, int) or order < 1:
        raise TensorCalcError(f"order must be a positive integer, got {order!r}")
    if method == "complex" and order > 1:
        raise TensorCalcError(
            "the complex step gives first derivatives only; use 'central' or 'richardson'"
        )
    x = np.asarray(
        x,
        dtype=np.result_type(np.asarray(x), np.float64)
        if np.asarray(x).dtype.kind in "iub"
        else None,
    )
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.complexfloating)):
        x = x.astype(float)
    calls = (_CALLS[method] * max(x.size, 1)) ** order
    if calls > MAX_EVALUATIONS:
        raise TensorCalcError(
            f"order {order} by {method} differences over {x.size} entries needs about {calls:.3g} "
            f"function calls, above the limit of {MAX_EVALUATIONS:.0e}"
        )
    hs = _steps(x, method, step, order, _eps(x, _call(f, x)))
    return _nested(f, x, order, method, hs, full_output)


def _nested(f, x, order, method, hs, full_output):
    if order == 1:
        val, err = _first(f, x, method, hs, full_output)
        return (val, err) if full_output else val
    inner = lambda v: _nested(f, v, order - 1, method, hs, False)  # noqa: E731
    noise = 0.0
    if full_output:  # the inner level's values are only this accurate
        inner_err = _nested(f, x, order - 1, method, hs, True)[1]
        noise = float(np.max(inner_err)) if inner_err.size else 0.0
    val, err = _first(inner, x, method, hs, full_output, noise)
    return (val, err) if full_output else val


def gradient(f, x, **kw):
    """Gradient of a scalar function (shape of x)."""
    return derivative(f, x, 1, **kw)


def jacobian(f, x, **kw):
    """Jacobian, shape ``f(x).shape + x.shape``."""
    return derivative(f, x, 1, **kw)


def hessian(f, x, **kw):
    """Hessian of a scalar function, shape ``x.shape * 2``."""
    return derivative(f, x, 2, **kw)


def difference_quotient(f, x, eps, kind: str = "forward"):
    """The textbook difference quotient of a scalar function.

    ``forward``: (f(x+ε) − f(x))/ε, ``backward``: (f(x) − f(x−ε))/ε, ``central``:
    (f(x+ε) − f(x−ε))/(2ε).  Evaluated exactly (with fractions) when f accepts them, so the
    seed's example gives exactly 4.1 and 4.01:

    >>> from tensorcalc.numeric import difference_quotient
    >>> difference_quotient(lambda x: x**2, 2, 0.1), difference_quotient(lambda x: x**2, 2, 0.01)
    (4.1, 4.01)
    """
    if kind not in ("forward", "backward", "central"):
        raise TensorCalcError(f"unknown kind {kind!r}; use forward, backward or central")
    if eps == 0:
        raise TensorCalcError("eps must be nonzero")
    try:
        xs, es = Fraction(x), Fraction(eps)
        vals = {d: f(xs + d * es) for d in (-1, 0, 1)}
        if all(isinstance(v, (Fraction, int)) for v in vals.values()):
            return float(_quotient(vals, es, kind))
    except (TypeError, ValueError):
        pass
    vals = {d: f(x + d * eps) for d in (-1, 0, 1)}
    return float(_quotient(vals, eps, kind))


def _quotient(vals, eps, kind):
    if kind == "forward":
        return (vals[1] - vals[0]) / eps
    if kind == "backward":
        return (vals[0] - vals[-1]) / eps
    return (vals[1] - vals[-1]) / (2 * eps)
