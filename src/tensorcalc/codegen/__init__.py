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
import math
import re
from collections.abc import Mapping
from functools import lru_cache

import numpy as np

from ..build import is_symmetric_var, substitute, var
from ..errors import EvaluationError, TensorCalcError
from ..expr import NOTES, Expr, postorder, variables
from ..kernels import as_input, check_symmetric
from ..ops import Op
from ..shapes import bind_shape, normal_keys
from .backends import Backend
from .backends.dask import BACKEND as DASK
from .backends.jax import BACKEND as JAX
from .backends.mxnet import BACKEND as MXNET
from .backends.numpy import BACKEND as NUMPY
from .backends.tensorflow import BACKEND as TENSORFLOW
from .backends.torch import BACKEND as TORCH
from .emit import generate
from .paths import binarize
from .place import has_map
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


_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}  # fmt: skip


def memory_bytes(value) -> int | None:
    """``memory_limit`` as a number of bytes: a positive number, or a string with a unit
    (``"512 MB"``, ``"2GiB"``); ``None`` for the default rule (``blocks.bound``).

    >>> memory_bytes("1.5 MB"), memory_bytes(2**20), memory_bytes("2 KiB")
    (1500000, 1048576, 2048)
    >>> memory_bytes(-1)
    Traceback (most recent call last):
    tensorcalc.errors.TensorCalcError: memory_limit must be a positive number of bytes or a string like '512 MB', got -1
    """
    if value is None:
        return None
    number = None
    if isinstance(value, str):
        m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]*)\s*", value)
        if m and m.group(2).lower() in _UNITS:
            number = float(m.group(1)) * _UNITS[m.group(2).lower()]
    elif isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    ):
        number = float(value)
    if number is None or not math.isfinite(number) or number < 1:
        raise TensorCalcError(
            "memory_limit must be a positive number of bytes or a string like '512 MB', "
            f"got {value!r}"
        )
    return int(number)


def codegen(
    exprs,
    backend: str = "numpy",
    dims: dict | None = None,
    name: str = "f",
    script=False,
    *,
    memory_limit=None,
) -> str:
    """Source of a small Python module computing ``exprs`` (an Expr or a list) with ``backend``.

    The module imports only the array library, checks shapes, names common subexpressions
    once (``t0``, ``t1``, …) and has the formulas in its docstring.  ``dims`` (e.g.
    ``{"n": 1000}``) tunes the contraction order for those sizes; the code works for any.
    ``script=True`` adds ``random_inputs()``, ``check_gradient()`` (central differences) and a
    ``__main__`` demo, so that ``python module.py`` checks itself.  ``memory_limit`` (bytes, or
    a string like ``"512 MB"``): as in ``compile``, at 8 bytes a number.

    >>> import tensorcalc as tc
    >>> src = tc.codegen(tc.gradient("x' @ A @ x", "x"))
    >>> "import numpy as np" in src and "def f(A, x):" in src
    True
    """
    _, outs = _outputs(exprs)
    b = BACKENDS[backend] if backend in BACKENDS else _backend(backend)
    src, params = generate(outs, b, dims, name, memory_limit=memory_bytes(memory_limit))
    return add_script(src, outs, b, params, name) if script else src


class Compiled:
    """A compiled function of expressions: call it with arrays by keyword.

    Code is generated and cached per shape-and-dtype signature, so the contraction order is
    chosen for the actual sizes.  A later call with arrays of the same types, shapes and dtypes
    that need no conversion (float or complex arrays, no ``dims``) goes straight to the cached
    function, so the wrapper adds about a microsecond to a jitted JAX call.

    >>> import numpy as np
    >>> import tensorcalc as tc
    >>> f = tc.parse("x' @ A @ x", shapes={"x": ("n",), "A": ("n", "n")})
    >>> fn = tc.compile([f, tc.derivative(f, "x")])
    >>> value, grad = fn(x=np.ones(2), A=np.eye(2))
    >>> float(value), grad
    (2.0, array([2., 2.]))
    """

    def __init__(self, outs, single, backend, memory_limit=None):
        self.outputs = outs
        self.single = single
        self.backend = backend
        self.memory_limit = memory_bytes(memory_limit)
        self._vars = {}
        for o in outs:
            self._vars.update(variables(o))
        self.names = sorted(self._vars)
        self._named = frozenset(self.names)
        # positions of the variables declared symmetric: checked on every call (_symmetric_args)
        self._symmetric = tuple(
            i for i, n in enumerate(self.names) if is_symmetric_var(self._vars[n])
        )
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
                self._symmetric_args(args)  # concrete here; the traced entry symmetrizes
                return self._entry(*args)  # the library's dispatch checks the signature
            try:  # a signature seen before whose arrays need no conversion
                if self._symmetric:
                    raise KeyError  # their values are checked on the checked call
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
        args = self._symmetric_args(args)
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

    def _symmetric_args(self, args):
        """``args`` with each value of a variable declared symmetric checked as ``evaluate``
        checks it (an ``EvaluationError`` naming the variable), or, where it is traced
        (``jax.jit``, a ``tf.function`` graph) and cannot be read, replaced by (S + Sᵀ)/2, so
        that the outputs, closed forms for symmetric S, are those of f((S + Sᵀ)/2)."""
        if not self._symmetric:
            return args
        args = list(args)
        for i in self._symmetric:
            value = _concrete(args[i])
            if value is None:
                args[i] = _symmetrized(args[i])
            else:
                check_symmetric(self.names[i], value)
        return args

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
        src, params = generate(
            self.outputs, self.backend, self._dims(key), doc=False,
            memory_limit=self.memory_limit, itemsize=_itemsize(key),
        )  # fmt: skip
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

    def partial(self, **fixed):
        """A function of the other variables (by keyword), with the work that depends on the
        ``fixed`` ones only done once, here: each largest part of the outputs that reads no
        other variable is computed now and read by every later call (``jax.linearize``'s
        idea, for any compiled expressions).  For a Hessian-vector product at one point,
        the weights d of Xᵀ(d ⊙ (X v)) are computed once and each product costs two
        matrix-vector products with X.

        >>> import numpy as np, tensorcalc as tc
        >>> f = tc.parse("sum(log(1 + exp(-y * (X @ w))))", {"X": ("N", "D")})
        >>> hv = tc.compile(tc.hvp(f, "w")).partial(X=np.eye(3), y=np.ones(3), w=np.zeros(3))
        >>> hv(v=np.array([4.0, 0.0, 8.0])).tolist()
        [1.0, 0.0, 2.0]
        """
        fixed = normal_keys(fixed)
        unknown = [k for k in fixed if k not in self._vars]
        if unknown:
            raise EvaluationError(
                f"{unknown[0]!r} is not a variable of the compiled expressions "
                f"(they have {', '.join(self.names)})"
            )
        args = {n: as_input(n, a) for n, a in fixed.items()}
        dims: dict = {}
        for n, a in args.items():
            bind_shape(n, self._vars[n].shape, np.shape(a), dims)
        outs = binarize(self.outputs, dims, self.backend.fuses)
        moving = {self._vars[n] for n in self.names if n not in fixed}
        order = postorder(outs)
        dep = set()
        for n in order:
            if n in moving or any(a in dep for a in n.args):
                dep.add(n)
        hoist: dict = {}

        def take(a):  # an array made of fixed variables only, not a delta to be placed
            if a in dep or a in hoist or a.op in (Op.VAR, Op.CONST) or has_map(a):
                return
            k = len(hoist)
            while f"c{k}_" in self._vars:
                k += 1
            hoist[a] = var(f"c{k}_", a.shape)

        for n in order:
            for a in n.args if n in dep else ():
                take(a)
        for o in outs:
            take(o)
        post = [substitute(o, hoist) for o in outs]
        values = {}
        if hoist:
            pre = Compiled(list(hoist), False, self.backend, self.memory_limit)
            needed = {k: args[k] for k in pre.names}
            values = dict(zip((h.name for h in hoist.values()), pre(dims=dims, **needed)))
        after = Compiled(post, self.single, self.backend, self.memory_limit)
        keep = {k: args[k] for k in after.names if k in args}
        keep.update({k: v for k, v in values.items() if k in after._vars})
        carried = {d for v in after._vars.values() for d in v.shape}
        free = {d: dims[d] for n in postorder(post) for d in n.shape if d in dims}
        free = {d: k for d, k in free.items() if d not in carried} or None

        def call(**arrays):
            return after(dims=free, **keep, **arrays)

        return call

    def source(self, **dims) -> str:
        """The generated module (for the given dimension sizes, if any)."""
        dims = normal_keys(dims) or None
        return generate(self.outputs, self.backend, dims, memory_limit=self.memory_limit)[0]


def _concrete(a):
    """``a`` as a NumPy array, or None where it is traced and has no value yet."""
    try:
        if hasattr(a, "detach"):  # torch: one needing grad, or on a GPU, is read as it is
            a = a.detach().cpu()
        return np.asarray(a)
    except Exception:  # a jax tracer, a symbolic TensorFlow tensor: each library its own error
        return None


def _symmetrized(a):
    """(a + aᵀ)/2 over the last two axes, in ``a``'s own library."""
    if hasattr(a, "swapaxes"):  # NumPy, JAX, PyTorch, Dask
        return (a + a.swapaxes(-1, -2)) / 2
    tf = importlib.import_module("tensorflow")  # already imported: ``a`` is its tensor
    return (a + tf.linalg.matrix_transpose(a)) / 2


def _itemsize(key) -> int:
    """Bytes a number of the result takes: the widest float or complex input (the generated
    code reads bool and integer inputs as float64)."""
    sizes = []
    for _, dt in key:
        try:
            d = np.dtype(dt)
        except TypeError:  # another library's dtype: its own limit applies where it blocks
            continue
        sizes.append(d.itemsize if d.kind in "fc" else 8)
    return max(sizes, default=8)


def _arrays_key(args) -> tuple:
    """The fast path's key: each array's type, shape and dtype (AttributeError without them)."""
    return tuple([(type(a), a.shape, a.dtype) for a in args])


@lru_cache(maxsize=256)
def _compiled(outs: tuple, single: bool, backend: str, memory_limit) -> Compiled:
    return Compiled(list(outs), single, _backend(backend), memory_limit)


def compile(exprs, backend: str = "numpy", *, memory_limit=None) -> Compiled:  # noqa: A001
    """Compile an Expr or a list of Exprs (e.g. value, gradient, Hessian) into one function.

    ``backend`` is ``"numpy"``, ``"jax"`` (compiled with ``jax.jit``), ``"torch"`` (CUDA
    tensors stay on the GPU), ``"dask"`` (chunked arrays larger than memory), ``"tensorflow"``
    (compiled with ``tf.function``) or ``"mxnet"`` (source only: ``codegen``; MXNet needs its
    own Python 3.11 venv).

    A value of a variable declared symmetric is checked as ``evaluate`` checks it (an
    ``EvaluationError`` if it is not symmetric); where it is traced (``jax.jit``, a
    ``tf.function`` graph) and cannot be checked, it is read as (S + Sᵀ)/2.

    Memory: a result may hold at once, itself included, as much as the result plus the larger
    of the result and the largest input (a temporary the size of an input is allowed: one
    scaled copy of X for X' diag(d) X).  Past that, or past ``memory_limit`` (bytes, or a
    string like ``"512 MB"``), large products are computed in blocks that fit, the fastest
    blocks under the bound; a limit below the result itself is an error.  The limit binds
    the NumPy backend, whose arrays can be written in place; the others ignore it.

    >>> import numpy as np, tensorcalc as tc
    >>> f = tc.parse("sum(log(1 + exp(-y * (X @ w))))", {"X": ("N", "D")})
    >>> h = tc.compile(tc.hessian(f, "w"), memory_limit="1 MB")
    >>> X, y = np.ones((4000, 100)), np.ones(4000)
    >>> np.allclose(h(w=np.zeros(100), X=X, y=y), X.T @ X / 4)
    True
    >>> g = tc.compile(tc.gradient("sum(log(1 + exp(-y * (X @ w))))", "w"))
    >>> g(X=np.eye(2), y=np.ones(2), w=np.zeros(2))
    array([-0.5, -0.5])
    """
    single, outs = _outputs(exprs)
    return _compiled(tuple(outs), single, backend, memory_bytes(memory_limit))
