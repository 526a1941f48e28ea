"""JAX-style transformations of ordinary Python functions: grad, value_and_grad, jacobian,
hessian, jvp, vjp, and the formula behind them.

``tc.grad(f)(x, y)`` traces ``f`` once per shape-and-dtype signature with symbolic tensors
named after f's parameters, differentiates the traced expression exactly, compiles value and
derivatives into one NumPy function (the code generator) and caches it; later calls only run
that function.  ``argnums`` follows JAX: an int gives one array, a tuple gives a tuple.

>>> import numpy as np, tensorcalc as tc
>>> def f(w, x, y, z):
...     a, b = (w + x + y + z) ** 2, (w + x - y - z) ** 2
...     u, v = (a + b) ** 2, (a - b) ** 2
...     return (u + v) ** 2
>>> value, grads = tc.value_and_grad(f, argnums=(0, 1, 2, 3))(-1.0, 0.0, -2.0, 1.0)
>>> float(value), [float(g) for g in grads]
(1024.0, [-4096.0, -4096.0, -4096.0, -4096.0])
"""

from __future__ import annotations

import inspect

import numpy as np

from .api import derivative as _derivative
from .build import CAPTURE, var
from .codegen import compile as _compile
from .errors import TracingError
from .expr import Expr


def _names(f, n):
    """Variable names for f's positional arguments: its parameter names where it has them."""
    try:
        params = [
            p.name for p in inspect.signature(f).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]  # fmt: skip
    except (TypeError, ValueError):
        params = []
    names = params[:n] + [f"arg{k}" for k in range(len(params), n)]
    return [name if name.isidentifier() else f"arg{k}" for k, name in enumerate(names)]


def _signature(args):
    return tuple((getattr(a, "shape", None), getattr(a, "dtype", type(a))) for a in args)


def formula(f, *example_args) -> Expr:
    """The traced expression of ``f`` at arguments of these shapes (values are not used).

    >>> import numpy as np, tensorcalc as tc, tensorcalc.numpy as tnp
    >>> print(tc.formula(lambda x, A: x @ A @ x, np.ones(3), np.eye(3)))
    x' @ A @ x
    """
    out, _ = _trace(f, example_args)
    return out


def _trace(f, args, captured=None):
    """Trace ``f`` on symbols shaped like ``args``.  Arrays that ``f`` closes over become the
    variables ``_c0``, ``_c1``, …; their values (fixed at trace time, as in JAX) go to
    ``captured``."""
    names = _names(f, len(args))
    symbols = [var(n, tuple(int(d) for d in np.shape(a))) for n, a in zip(names, args)]
    captured = {} if captured is None else captured

    def capture(array):
        name = f"_c{len(captured)}"
        captured[name] = np.array(array, dtype=float)
        return var(name, array.shape)

    token = CAPTURE.set(capture)
    try:
        out = f(*symbols)
    except TypeError as err:
        raise TracingError(f"tracing {getattr(f, '__name__', 'f')} failed: {err}") from err
    finally:
        CAPTURE.reset(token)
    if isinstance(out, (int, float)):
        raise TracingError("the function returned a constant: it does not depend on its arguments")
    if not isinstance(out, Expr):
        raise TracingError(
            f"the function returned {type(out).__name__}, not a traced value; return one array"
        )
    return out, symbols


class Transformed:
    """A transformed function: call it with arrays; ``.formula(*args)`` gives the Exprs."""

    def __init__(self, f, argnums, order, with_value, name, scalar_only=False):
        self.f = f
        self.scalar_only = scalar_only
        self.argnums = argnums
        self.order = order
        self.with_value = with_value
        self.__name__ = f"{name}({getattr(f, '__name__', 'f')})"
        self._cache = {}

    def _nums(self):
        return (self.argnums,) if isinstance(self.argnums, int) else tuple(self.argnums)

    def _prepare(self, args):
        captured = {}
        out, symbols = _trace(self.f, args, captured)
        nums = self._nums()
        if any(not 0 <= k < len(symbols) for k in nums):
            raise TracingError(f"argnums {self.argnums} out of range for {len(symbols)} arguments")
        if self.scalar_only and out.ndim:
            raise TracingError(
                f"{self.__name__} needs a scalar-valued function; it returned shape {out.shape}: "
                "use tc.jacobian"
            )
        derivs = self._derivatives(out, [symbols[k] for k in nums])
        flat = ([out] if self.with_value else []) + list(_flatten(derivs))
        compiled = _compile(flat)
        names = [s.name for s in symbols]
        inputs = dict(zip(names, args)) | captured
        fn = compiled.function(**inputs)
        position = {n: k for k, n in enumerate(names)}
        consts = {n: v for n, v in captured.items() if n in compiled.names}
        # each generated parameter is either argument k or a captured constant
        slots = [position.get(n, consts.get(n)) for n in compiled.names]
        return fn, slots, derivs

    def _derivatives(self, out, wrt):
        if self.order == 1:
            return [_derivative(out, x) for x in wrt]
        firsts = [_derivative(out, x) for x in wrt]
        return [[_derivative(g, y) for y in wrt] for g in firsts]

    def __call__(self, *args):
        key = _signature(args)
        entry = self._cache.get(key)
        if entry is None:
            entry = self._cache[key] = self._prepare(args)
        fn, slots, derivs = entry
        values = fn(*[args[s] if isinstance(s, int) else s for s in slots])
        value, rest = (values[0], values[1:]) if self.with_value else (None, values)
        result = _unflatten(derivs, rest)
        if isinstance(self.argnums, int):
            result = result[0][0] if self.order == 2 else result[0]
        else:
            result = tuple(tuple(r) for r in result) if self.order == 2 else tuple(result)
        return (value, result) if self.with_value else result

    def formula(self, *args):
        """The derivative formulas as Exprs (same structure as the numbers)."""
        out, symbols = _trace(self.f, args)
        derivs = self._derivatives(out, [symbols[k] for k in self._nums()])
        if isinstance(self.argnums, int):
            return derivs[0][0] if self.order == 2 else derivs[0]
        return tuple(tuple(d) for d in derivs) if self.order == 2 else tuple(derivs)


def _flatten(derivs):
    for d in derivs:
        if isinstance(d, list):
            yield from d
        else:
            yield d


def _unflatten(derivs, values):
    it = iter(values)
    return [[next(it) for _ in d] if isinstance(d, list) else next(it) for d in derivs]


def grad(f, argnums=0) -> Transformed:
    """Gradient of a scalar-valued Python function (JAX's conventions for ``argnums``).

    >>> import numpy as np
    >>> import tensorcalc as tc
    >>> import tensorcalc.numpy as tnp
    >>> tc.grad(lambda w: tnp.sum(w ** 2))(np.array([1.0, 2.0]))
    array([2., 4.])
    >>> print(tc.grad(lambda w: tnp.sum(w ** 2)).formula(np.array([1.0, 2.0])))
    2 * w
    """
    return Transformed(f, argnums, 1, False, "grad", scalar_only=True)


def value_and_grad(f, argnums=0) -> Transformed:
    """``(f(*args), grad(f)(*args))`` from one fused computation.

    >>> import numpy as np
    >>> import tensorcalc as tc
    >>> import tensorcalc.numpy as tnp
    >>> value, g = tc.value_and_grad(lambda w: tnp.sum(w ** 2))(np.array([1.0, 2.0]))
    >>> float(value), g
    (5.0, array([2., 4.]))
    """
    return Transformed(f, argnums, 1, True, "value_and_grad", scalar_only=True)


def jacobian(f, argnums=0) -> Transformed:
    """Jacobian of a Python function: shape ``f(x).shape + x.shape``."""
    return Transformed(f, argnums, 1, False, "jacobian")


def hessian(f, argnums=0) -> Transformed:
    """Hessian of a scalar-valued Python function; a tuple of tuples for tuple ``argnums``."""
    return Transformed(f, argnums, 2, False, "hessian", scalar_only=True)


def jvp(f, primals, tangents):
    """``(f(*primals), J · tangents)`` at one point (JAX's ``jvp``).

    >>> import numpy as np
    >>> import tensorcalc as tc
    >>> tc.jvp(lambda w: w ** 2, (np.array([1.0, 2.0]),), (np.array([1.0, 0.0]),))
    (array([1., 4.]), array([2., 0.]))
    """
    primals, tangents = tuple(primals), tuple(tangents)
    value, jacs = value_and_grad_any(f, primals)
    out = sum(np.tensordot(j, np.asarray(t), axes=np.ndim(t)) for j, t in zip(jacs, tangents))
    return value, out


def vjp(f, *primals):
    """``(f(*primals), vjp_fn)`` with ``vjp_fn(cotangent)`` = cotangent · J per argument.

    >>> import numpy as np
    >>> import tensorcalc as tc
    >>> y, vjp_fn = tc.vjp(lambda w: w ** 2, np.array([1.0, 2.0]))
    >>> y, vjp_fn(np.array([1.0, 1.0]))
    (array([1., 4.]), (array([2., 4.]),))
    """
    value, jacs = value_and_grad_any(f, primals)

    def vjp_fn(cotangent):
        ct = np.asarray(cotangent)
        return tuple(np.tensordot(ct, j, axes=ct.ndim) for j in jacs)

    return value, vjp_fn


def value_and_grad_any(f, primals):
    """Value and Jacobians with respect to every argument (any output shape)."""
    t = Transformed(f, tuple(range(len(primals))), 1, True, "jacobian")
    value, jacs = t(*primals)
    return value, jacs
