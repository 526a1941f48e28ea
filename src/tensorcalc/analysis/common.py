"""What the analysis tools share: a scalar objective over named variables.

``Objective`` takes an expression, the variables it is a function of (``wrt``) and values for
any others, and presents it as a function of one flat vector θ ∈ Rⁿ (the variables'
entries one after another) with its exact gradient and Hessian, compiled once to NumPy.
The optimisers and the critical-point search work on θ; ``unpack`` turns θ back into a
``{name: value}`` point.
"""

from __future__ import annotations

import re

import numpy as np

from ..build import add
from ..codegen import compile as compile_exprs
from ..diff.products import inner, new_variable
from ..diff.reverse import derivative, wrt_variable
from ..errors import DifferentiationError, ShapeError, TensorCalcError
from ..expr import Expr, variables
from ..parse import as_expr
from ..shapes import as_shape
from ..simplify import simplify


def fmt_value(v) -> str:
    """A number or an array on one line: ``-0.5``, ``[1, 2.5]``."""
    if np.ndim(v) == 0:
        return f"{float(v):.10g}"
    text = np.array2string(np.asarray(v), precision=6, separator=", ", suppress_small=True)
    return re.sub(r"\s*\n\s*", " ", text)


def point_shapes(point: dict, shapes=None) -> dict:
    """Declared shapes, made concrete by the numeric values in ``point``: ``x`` declared ``n``
    with the value [0, 1] is a 2-vector, and an undeclared ``x`` takes the value's shape.  A
    value that contradicts a declared size keeps the declaration (and fails its check later)."""
    out = {k: as_shape(v) for k, v in (shapes or {}).items()}
    for k, v in point.items():
        k = k.name if isinstance(k, Expr) else k
        if isinstance(v, (str, Expr)):
            continue
        have, declared = np.shape(v), out.get(k)
        if declared is None or (
            len(declared) == len(have)
            and all(isinstance(d, str) or d == h for d, h in zip(declared, have))
        ):
            out[k] = have
    return out


def scalar_expr(f, shapes=None, what="this tool") -> Expr:
    """``f`` as an ``Expr`` (parsing a string), checked to be scalar."""
    e = as_expr(f, shapes)
    if e.ndim:
        raise DifferentiationError(f"{what} needs a scalar expression, got shape {e.shape}")
    return e


def names_of(wrt) -> list:
    """``"x"`` → ``["x"]``; a list or tuple of names stays a list."""
    if isinstance(wrt, (str, Expr)):
        wrt = [wrt]
    return [w.name if isinstance(w, Expr) else w for w in wrt]


def as_point(f: Expr, point: dict, names=None) -> dict:
    """``{name: ndarray}`` for ``point``, checked against the variables' declared shapes."""
    out = {}
    for name, value in point.items():
        x = wrt_variable(f, name)
        try:
            v = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise TensorCalcError(f"the value for {x.name} is not numeric: {value!r}") from None
        if not np.all(np.isfinite(v)):
            raise TensorCalcError(f"the value for {x.name} must be finite, got {fmt_value(v)}")
        declared = x.shape
        if len(declared) != v.ndim or any(
            isinstance(d, int) and d != s for d, s in zip(declared, v.shape)
        ):
            raise ShapeError(
                "point", [declared, v.shape], f"a value for {x.name} has the wrong shape"
            )
        out[x.name] = v
    missing = [n for n in (names or ()) if n not in out]
    if missing:
        raise TensorCalcError(f"no value given for {', '.join(missing)}")
    return out


class Objective:
    """A scalar expression as a function of the flat vector θ of its ``wrt`` variables.

    ``start`` gives a value for every variable: the ``wrt`` ones (their shapes fix θ's layout)
    and the others, which stay fixed.
    """

    def __init__(self, f, wrt, start: dict, shapes=None):
        self.f = scalar_expr(f, point_shapes(start, shapes))
        self.names = names_of(wrt)
        if not self.names:  # `tensorcalc critical 3`: nothing to vary
            raise TensorCalcError("the expression has no variable to vary (it is a constant)")
        self.vars = [wrt_variable(self.f, n) for n in self.names]
        point = as_point(self.f, start, list(variables(self.f)))
        self.fixed = {k: v for k, v in point.items() if k not in self.names}
        self.shapes = [point[n].shape for n in self.names]
        self.sizes = [int(np.prod(s)) for s in self.shapes]
        self.grads = [derivative(self.f, v) for v in self.vars]
        self._fg = compile_exprs([self.f, *self.grads])
        self._h = None
        self._hv = None
        self.start = self.pack(point)

    @property
    def n(self) -> int:
        return sum(self.sizes)

    def pack(self, point: dict) -> np.ndarray:
        return np.concatenate([np.ravel(point[n]) for n in self.names]).astype(np.float64)

    def unpack(self, theta) -> dict:
        out, k = {}, 0
        for name, shape, size in zip(self.names, self.shapes, self.sizes):
            v = np.asarray(theta[k : k + size]).reshape(shape)
            out[name] = float(v) if not shape else v
            k += size
        return out

    def args(self, theta):
        return {**self.fixed, **{k: np.asarray(v) for k, v in self.unpack(theta).items()}}

    def value_and_grad(self, theta):
        value, *grads = self._fg(**self.args(theta))
        return float(value), np.concatenate([np.ravel(g) for g in grads])

    def value(self, theta) -> float:
        return self.value_and_grad(theta)[0]

    def hessian(self, theta) -> np.ndarray:
        if self._h is None:  # the exact blocks ∂²f/∂xᵢ∂xⱼ, compiled on first use
            blocks = [derivative(g, v) for g in self.grads for v in self.vars]
            self._h = compile_exprs(blocks)
        flat = self._h(**self.args(theta))
        m = len(self.vars)
        rows = [
            np.hstack(
                [np.reshape(flat[i * m + j], (self.sizes[i], self.sizes[j])) for j in range(m)]
            )
            for i in range(m)
        ]
        return np.vstack(rows)

    def hvp_at(self, theta):
        """``p ↦ H p`` at θ without forming H: the compiled Hessian-vector product
        ∂⟨∇f, v⟩/∂x (``diff.products``), with what depends on θ alone computed once here
        (``Compiled.partial``) and only the products with p left for each call."""
        if self._hv is None:  # a direction per variable, named apart from f's variables
            dirs, f = [], self.f
            for x in self.vars:
                dirs.append(new_variable(f, x, None, "v"))
                f = add(f, inner(dirs[-1], dirs[-1]))  # taken from now on (f itself unused)
            s = add(*(inner(g, v) for g, v in zip(self.grads, dirs)))
            hv = [simplify(derivative(s, x)) for x in self.vars]
            self._hv = (compile_exprs(hv), [v.name for v in dirs])
        compiled, names = self._hv
        point = self.args(theta)
        op = compiled.partial(**{k: point[k] for k in compiled.names if k in point})
        sizes = dict(zip(names, self.shapes))

        def apply(p):
            k, dirs = 0, {}
            for name, size in zip(names, self.sizes):
                dirs[name] = np.reshape(p[k : k + size], sizes[name])
                k += size
            out = op(**{n: dirs[n] for n in names if n in compiled.names})
            return np.concatenate([np.ravel(o) for o in out])

        return apply
