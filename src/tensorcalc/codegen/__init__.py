"""Code generation: readable modules and compiled callables for NumPy, JAX, PyTorch, Dask,
TensorFlow and (source only) MXNet.

>>> import numpy as np, tensorcalc as tc
>>> f = tc.parse("x' @ A @ x", {"x": ("n",), "A": ("n", "n")})
>>> fg = tc.compile([f, tc.derivative(f, "x")])
>>> value, grad = fg(x=np.ones(2), A=np.eye(2))
>>> float(value), grad.tolist()
(2.0, [2.0, 2.0])
"""

from __future__ import annotations

import builtins
import importlib
from collections.abc import Mapping
from functools import lru_cache

import numpy as np

from ..errors import EvaluationError, TensorCalcError
from ..expr import NOTES, Expr, variables
from ..kernels import as_input
from ..shapes import bind_shape, normal_keys
from .backends import Backend
from .backends.dask import BACKEND as DASK
from .backends.jax import BACKEND as JAX
from .backends.mxnet import BACKEND as MXNET
from .backends.numpy import BACKEND as NUMPY
from .backends.tensorflow import BACKEND as TENSORFLOW
from .backends.torch import BACKEND as TORCH
from .emit import generate
from .script import script as add_script

BACKENDS: dict[str, Backend] = {b.name: b for b in (NUMPY, JAX, TORCH, DASK, TENSORFLOW, MXNET)}


def _backend(name: str) -> Backend:
    if name not in BACKENDS:
        raise TensorCalcError(f"unknown backend {name!r}; use one of {', '.join(BACKENDS)}")
    b = BACKENDS[name]
    try:
        importlib.import_module(b.module)
    except ImportError:
        hint = b.install or f"pip install 'tensorcalc[{name}]'"
        raise TensorCalcError(f"the {name} backend needs {b.module}: {hint}") from None
    return b


def _outputs(exprs):
    single = isinstance(exprs, Expr)
    outs = [exprs] if single else list(exprs)
    if not outs or not all(isinstance(o, Expr) for o in outs):
        raise TensorCalcError("expected an Expr or a non-empty list of Exprs")
    return single, outs


def codegen(
    exprs, backend: str = "numpy", dims: dict | None = None, name: str = "f", script=False
) -> str:
    """Source of a small Python module computing ``exprs`` (an Expr or a list) with ``backend``.

    The module imports only the array library, checks shapes, names common subexpressions
    once (``t0``, ``t1``, …) and has the formulas in its docstring.  ``dims`` (e.g.
    ``{"n": 1000}``) tunes the contraction order for those sizes; the code works for any.
    ``script=True`` adds ``random_inputs()``, ``check_gradient()`` (central differences) and a
    ``__main__`` demo, so that ``python module.py`` checks itself.
    """
    _, outs = _outputs(exprs)
    b = BACKENDS[backend] if backend in BACKENDS else _backend(backend)
    src, params = generate(outs, b, dims, name)
    return add_script(src, outs, b, params, name) if script else src


class Compiled:
    """A compiled function of expressions: call it with arrays by keyword.

    Code is generated and cached per shape-and-dtype signature, so the contraction order is
    chosen for the actual sizes.  A later call with arrays of the same types, shapes and dtypes
    that need no conversion (float or complex arrays, no ``dims``) goes straight to the cached
    function, so the wrapper adds about a microsecond to a jitted JAX call.
    """

    def __init__(self, outs, single, backend):
        self.outputs = outs
        self.single = single
        self.backend = backend
        self._vars = {}
        for o in outs:
            self._vars.update(variables(o))
        self.names = sorted(self._vars)
        self._named = frozenset(self.names)
        self._cache = {}
        self._free = {}  # signature -> {dimension: keyword} of the dimensions the caller passes
        self._inputs = {k: v for o in outs for k, v in NOTES.get(o, {}).get("inputs", {}).items()}
        # (type, shape, dtype) of every argument -> function, for calls that need no work
        self._fast = {}
        self._native = backend.native() if backend.native and backend.jit else None
        if self._native is not None:  # one compiled entry point: its tracing is the checked call
            names = self.names

            def entry(*args):
                return self._evaluate(dict(zip(names, args)), None, remember=False)

            self._entry = backend.jit(entry)

    def __call__(self, /, dims: dict | None = None, **arrays):
        """Evaluate; ``dims`` gives sizes of dimensions that no variable carries.

        Inputs are converted as ``evaluate`` converts them (``kernels.as_input``); variables may
        be named ``self`` or ``dims`` (pass ``dims`` then as a mapping positionally).
        """
        if dims is None and arrays.keys() == self._named:  # exactly the variables
            args = [arrays[n] for n in self.names]
            if self._native is not None and all([type(a) is self._native for a in args]):
                return self._entry(*args)  # the library's dispatch checks the signature
            try:  # a signature seen before whose arrays need no conversion
                fn = self._fast[_arrays_key(args)]
            except (KeyError, AttributeError, TypeError):
                pass
            else:
                return self._finish(fn, args, {})
        return self._evaluate(arrays, dims, remember=True)

    def _evaluate(self, arrays, dims, remember):
        """The checked call: convert, look up or build the signature's function, bind dims."""
        if dims is not None and not isinstance(dims, Mapping):
            arrays["dims"], dims = dims, None  # the value of a variable named dims
        arrays, dims = normal_keys(arrays), dims and normal_keys(dims, "dims")  # fn(ｘ=...) is x
        try:
            args = [as_input(n, arrays[n]) for n in self.names]
        except KeyError:
            missing = [n for n in self.names if n not in arrays]
            raise EvaluationError(f"missing values for {', '.join(missing)}") from None
        fn = self._lookup(args)
        free = self._free[self._key(args)]
        if remember and not free and dims is None and len(arrays) == len(self.names):
            self._remember(arrays, args, fn)
        dims = self._input_dims(arrays, dims, free) or {}
        missing = [d for d in free if d not in dims]
        if missing:
            raise EvaluationError(
                f"dimension {missing[0]!r} is not bound by any variable of the expression; "
                f"pass dims={{{missing[0]!r}: ...}}"
            )
        return self._finish(fn, args, {free[d]: dims[d] for d in free})

    def _remember(self, arrays, args, fn):
        """Let later calls with arrays of these types, shapes and dtypes skip the conversions,
        the dimension binding and the signature lookup, when none of them changed anything."""
        given = [arrays[n] for n in self.names]
        if all(a is b for a, b in zip(given, args)):
            try:
                self._fast[_arrays_key(given)] = fn
            except (AttributeError, TypeError):  # no shape or dtype, or an unhashable shape
                pass

    def _finish(self, fn, args, kwargs):
        """Call the generated function; a singular matrix is an ``EvaluationError``."""
        try:
            out = fn(*args, **kwargs)
        except Exception as err:
            if not type(err).__name__.endswith("LinAlgError"):  # numpy's, torch's _LinAlgError
                raise
            raise EvaluationError(
                f"a matrix function failed: {err} (the matrix is singular)"
            ) from None
        if self.single:
            return out
        return [out] if len(self.outputs) == 1 else list(out)

    def _input_dims(self, arrays, dims, free=()):
        """Sizes from values of the variables a derivative no longer contains (its function's
        inputs, ``NOTES[e]["inputs"]``), added to the ``dims`` given; a value of the wrong shape
        is an error where it would have bound one of the sizes ``free`` that the call needs."""
        extra = {k: arrays[k] for k in self._inputs if k in arrays and k not in self._vars}
        if not extra:
            return dims
        bound, given = {}, dims or {}
        for name, a in extra.items():
            shape = self._inputs[name].shape
            err = bind_shape(name, shape, np.shape(a), bound, strict=False)
            if err and any(d in free and d not in given for d in shape):
                raise err  # a size this call needs, from a value of the wrong shape
        return {**bound, **given}

    @staticmethod
    def _key(args):
        return tuple((np.shape(a), getattr(a, "dtype", None)) for a in args)

    def _lookup(self, args):
        """The generated function for these arguments' shapes and dtypes (built once)."""
        key = self._key(args)
        fn = self._cache.get(key)
        if fn is None:
            fn = self._cache[key] = self._build(key)
        return fn

    def _dims(self, key):
        dims = {}
        for name, (shape, _) in zip(self.names, key):
            declared = self._vars[name].shape
            if len(declared) != len(shape):
                raise EvaluationError(f"{name!r} should have shape {declared}, got {shape}")
            for d, k in zip(declared, shape):
                bound = d if isinstance(d, int) else dims.setdefault(d, k)
                if bound != k:
                    raise EvaluationError(
                        f"{name!r} has shape {shape} but its declared shape {declared} needs {d} = {bound}"
                    )
        return dims

    def _build(self, key):
        src, params = generate(self.outputs, self.backend, self._dims(key), doc=False)
        self._free[key] = {k[1]: p for k, p in params.items() if not isinstance(k, str)}
        namespace: dict = {}
        code = builtins.compile(src, f"<tensorcalc:{self.backend.name}>", "exec")
        exec(code, namespace)  # generated from our own IR only, never from user text
        fn = namespace["f"]
        return self.backend.jit(fn) if self.backend.jit else fn

    def function(self, **arrays):
        """The generated function for these arrays' shapes: positional arguments in the order
        of ``self.names``, outputs always as a tuple (the fastest way to call it repeatedly).
        It takes the arrays as given, so pass them converted (``kernels.as_input``)."""
        arrays = normal_keys(arrays)
        fn = self._lookup([as_input(n, arrays[n]) for n in self.names])
        return fn if len(self.outputs) > 1 else (lambda *a: (fn(*a),))

    def source(self, **dims) -> str:
        """The generated module (for the given dimension sizes, if any)."""
        return generate(self.outputs, self.backend, normal_keys(dims) or None)[0]


def _arrays_key(args) -> tuple:
    """The fast path's key: each array's type, shape and dtype (AttributeError without them)."""
    return tuple([(type(a), a.shape, a.dtype) for a in args])


@lru_cache(maxsize=256)
def _compiled(outs: tuple, single: bool, backend: str) -> Compiled:
    return Compiled(list(outs), single, _backend(backend))


def compile(exprs, backend: str = "numpy") -> Compiled:  # noqa: A001 - the public name
    """Compile an Expr or a list of Exprs (e.g. value, gradient, Hessian) into one function.

    ``backend`` is ``"numpy"``, ``"jax"`` (compiled with ``jax.jit``), ``"torch"`` (CUDA
    tensors stay on the GPU), ``"dask"`` (chunked arrays larger than memory), ``"tensorflow"``
    (compiled with ``tf.function``) or ``"mxnet"`` (source only: ``codegen``; MXNet needs its
    own Python 3.11 venv).
    """
    single, outs = _outputs(exprs)
    return _compiled(tuple(outs), single, backend)
