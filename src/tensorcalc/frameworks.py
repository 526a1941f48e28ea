"""Framework functions: an expression as a JAX, PyTorch or TensorFlow function whose derivatives
are tensorcalc's closed forms, so that it can sit inside a training step.

``to_jax`` gives a ``jax.custom_vjp`` function, ``to_torch`` a ``torch.autograd.Function``
(behind a plain callable), ``to_tensorflow`` a ``tf.custom_gradient`` function.  Each takes its
variables positionally, in the order ``args`` names them (by default the order in which they
first appear in the expression's text).

The backward pass is a vector-Jacobian product built symbolically and compiled for the
framework's backend: for outputs f₁, …, fₖ and cotangents g₁, …, gₖ (new variables of the
outputs' shapes), the gradient for input x is d/dx Σᵢ sum(gᵢ ⊙ fᵢ).  That is the gradient of a
scalar, so it stays matrix-free for non-scalar outputs too (``A @ x`` pulls back ``g`` as
``A' @ g``, never forming the Jacobian).  For a scalar loss it is ``g * ∇f``.

Higher orders.  ``order=2`` makes the backward pass itself a function with closed-form
derivatives:

- PyTorch: the backward is again an ``autograd.Function`` (the same construction one level up:
  the VJP of the VJP), used when the backward is being recorded (``create_graph=True``,
  ``torch.autograd.gradgradcheck``).
- JAX: the backward is a ``jax.custom_jvp`` function whose tangent rule is the closed-form
  Hessian-vector product: with F = Σᵢ sum(gᵢ ⊙ fᵢ) and the VJP outputs ∂F/∂xᵢ, the tangent of
  ∂F/∂xᵢ along (t_x, t_g) is ∂/∂xᵢ [Σⱼ sum(∂F/∂xⱼ ⊙ t_xⱼ) + Σₖ sum(fₖ ⊙ t_gₖ)] (the Hessian
  of F is symmetric).  JAX transposes that linear rule, so ``jax.hessian`` (forward over
  reverse), ``jax.grad(jax.grad(·))`` and ``jax.jacrev(jax.grad(·))`` all use it.

With ``order=1`` (the default) a second derivative, where one is asked for, is the framework's
own autodiff of the compiled closed-form gradient code: correct, but not a closed form.
Derivatives beyond ``order`` are likewise the framework's autodiff of the compiled code.
TensorFlow supports ``order=1`` only.

Variables declared symmetric (shape ``("n", "n", "symmetric")``) are read as (S + Sᵀ)/2: the
closed forms hold on symmetric matrices only (d(x' S x)/dx = 2 S x), so a function of a
non-symmetric S is f((S + Sᵀ)/2), value and gradient alike, and the gradient in S is the one on
symmetric matrices, (G + Gᵀ)/2, which differs from autodiff of the unconstrained function where
G is not symmetric.

>>> import numpy as np, tensorcalc as tc
>>> f = tc.to_torch("norm(y - Phi @ theta)^2", shapes={"Phi": ("N", "D")})
>>> f.args
('y', 'Phi', 'theta')
"""

from __future__ import annotations

import importlib
from functools import cache

import numpy as np

from . import build as b
from .api import derivative
from .codegen import compile as tc_compile
from .errors import TensorCalcError
from .expr import Expr, variables
from .parse import as_expr, resolve_syntax
from .parse.lexer import tokenize
from .printing.text import to_text
from .simplify import simplify
from .sugar import sum as tc_sum

MAX_FRAMEWORK_ORDER = 2  # closed forms are compiled up to this order (see the module docstring)


def _import(module: str, extra: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        raise TensorCalcError(f"this needs {module}: pip install 'tensorcalc[{extra}]'") from None


def _first_appearance(f: Expr, text: str | None) -> tuple:
    """The variables of ``f`` in the order they first appear in ``text`` (the string given, or
    the printed expression: for LaTeX, whose spelling the lexer does not read), then any the
    text does not show."""
    found = variables(f)
    order = []
    if text is None or resolve_syntax(text, "auto") != "text":
        text = to_text(f)
    for tok in tokenize(text):
        if tok.kind == "NAME" and tok.text in found and tok.text not in order:
            order.append(tok.text)
    return tuple(order) + tuple(n for n in found if n not in order)


def _arguments(f, args, shapes) -> tuple[Expr, tuple]:
    """``f`` as an Expr and its positional argument names, checked."""
    if not isinstance(f, (str, Expr)):
        raise TensorCalcError(f"expected an Expr or an expression string, got {type(f).__name__}")
    expr = as_expr(f, shapes)
    found = variables(expr)
    if args is None:
        return expr, _first_appearance(expr, f if isinstance(f, str) else None)
    if isinstance(args, str):
        args = tuple(a.strip() for a in args.split(",")) if "," in args else (args,)
    args = tuple(a.name if isinstance(a, Expr) and a.name else a for a in args)
    unknown = [a for a in args if a not in found]
    if unknown:
        raise TensorCalcError(
            f"args names {unknown[0]!r}, which is not a variable of {to_text(expr)}; "
            f"its variables are {', '.join(sorted(found))}"
        )
    if len(set(args)) != len(args):
        twice = next(a for a in args if args.count(a) > 1)
        raise TensorCalcError(f"args names {twice!r} twice")
    missing = [n for n in found if n not in args]
    if missing:
        raise TensorCalcError(
            f"args must name every variable of the expression once; missing {', '.join(missing)}"
        )
    return expr, args


def _fresh(base: str, taken: set) -> str:
    name, k = base, 0
    while name in taken:
        k += 1
        name = f"{base}{k}"
    taken.add(name)
    return name


def _pairing(vars_, exprs):
    """Σᵢ sum(vᵢ ⊙ eᵢ): the scalar whose gradient in the variables of the eᵢ is the VJP."""
    total = None
    for v, e in zip(vars_, exprs):
        term = v * e if not e.ndim else tc_sum(v * e)
        total = term if total is None else total + term
    return total


class Level:
    """Outputs ``outs`` (Exprs) as functions of the variables ``names``, with their compiled
    value and vector-Jacobian products for ``backend``; the next level (the VJP's own VJP) is
    built on demand while ``order`` > 1."""

    def __init__(self, outs, names, backend, order):
        # simplified: a parsed ``A / s`` is A * (ones / (s * ones)), two formed matrices
        self.outs = [simplify(o) for o in outs]
        self.names, self.backend, self.order = tuple(names), backend, order
        # one scalar output: its gradients can be computed with its value, sharing the work,
        # and the backward pass is then the cotangent times the saved gradients
        self.fusable = len(self.outs) == 1 and not self.outs[0].ndim
        taken = set(names)
        for o in outs:
            taken.update(variables(o))
        self.cots = tuple(b.var(_fresh("g", taken), o.shape) for o in outs)
        self.taken = taken
        self._value = None
        self._vjp_exprs = None
        self._vjps = {}
        self._next = None
        self._jvp = None
        self._jax_jvp = None
        self._grads = None  # the scalar output's gradients (value_and_grads)
        self._fused = {}
        self._jvp_compiled = None

    def value(self, xs):
        """The outputs at ``xs`` (a tuple when there are several)."""
        if self._value is None:
            self._value = tc_compile(self.outs, self.backend)
        out = self._value(**dict(zip(self.names, xs)))
        return tuple(out) if len(self.outs) > 1 else out[0]

    def value_and_grads(self, xs, needed=None):
        """(the scalar output, its gradients in the inputs ``needed``: None elsewhere), in one
        compiled function.  Only for ``fusable`` levels (one scalar output)."""
        needed = tuple(range(len(self.names))) if needed is None else tuple(needed)
        if self._grads is None:
            inside = variables(self.outs[0])
            self._grads = [derivative(self.outs[0], n) if n in inside else None for n in self.names]
        wanted = tuple(i for i in needed if self._grads[i] is not None)
        c = self._fused.get(wanted)
        if c is None:
            exprs = [self.outs[0]] + [self._grads[i] for i in wanted]
            c = self._fused[wanted] = tc_compile(exprs, self.backend)
        value, *values = c(**dict(zip(self.names, xs)))
        grads = [None] * len(self.names)
        for i, v in zip(wanted, values):
            grads[i] = v
        return value, grads

    @property
    def pairing(self) -> Expr:
        return _pairing(self.cots, self.outs)

    def vjp_exprs(self) -> list:
        """d/dx Σᵢ sum(gᵢ ⊙ fᵢ) for every input x (None where it is structurally zero)."""
        if self._vjp_exprs is None:
            F = self.pairing
            inside = variables(F)
            self._vjp_exprs = [derivative(F, n) if n in inside else None for n in self.names]
        return self._vjp_exprs

    def vjp(self, xs, cts, needed=None) -> list:
        """The VJP's value for the inputs ``needed`` (indices; all by default), None elsewhere:
        zero or not asked for."""
        exprs = self.vjp_exprs()
        needed = tuple(range(len(self.names))) if needed is None else tuple(needed)
        wanted = tuple(i for i in needed if exprs[i] is not None)
        out = [None] * len(self.names)
        if not wanted:
            return out
        c = self._vjps.get(wanted)
        if c is None:
            c = self._vjps[wanted] = tc_compile([exprs[i] for i in wanted], self.backend)
        values = c(**dict(zip(self.names + tuple(v.name for v in self.cots), xs + tuple(cts))))
        for i, v in zip(wanted, values):
            out[i] = v
        return out

    def next(self) -> Level:
        """The VJP as a level of its own: outputs the nonzero VJPs, inputs ``names`` + the
        cotangents."""
        if self.order <= 1:
            raise TensorCalcError("no closed form compiled past this order")
        if self._next is None:
            outs = [e for e in self.vjp_exprs() if e is not None]
            names = self.names + tuple(v.name for v in self.cots)
            self._next = Level(outs, names, self.backend, self.order - 1)
        return self._next

    def jvp_exprs(self) -> tuple:
        """For ``next()``'s outputs ∂F/∂xᵢ (F = the pairing), their tangents along new variables
        tᵢ (one per input and cotangent): ∂/∂xᵢ [Σⱼ sum(∂F/∂zⱼ ⊙ tⱼ)] by the symmetry of F's
        Hessian, with ∂F/∂gₖ = fₖ.  Returns (tangent variables, expressions)."""
        if self._jvp is None:
            taken = set(self.taken)
            exprs = self.vjp_exprs()
            grads = [e for e in exprs] + list(self.outs)  # ∂F/∂x for x in names, then ∂F/∂g = f
            zs = [b.var(n, v.shape) for n, v in self._shapes().items()]
            ts = tuple(b.var(_fresh("t", taken), z.shape) for z in zs)
            pairs = [(t, g) for t, g in zip(ts, grads) if g is not None]
            G = _pairing([t for t, _ in pairs], [g for _, g in pairs])
            inside = variables(G)
            out = [derivative(G, n) if n in inside else None for n, e in zip(self.names, exprs)]
            self._jvp = (ts, [o for o, e in zip(out, exprs) if e is not None])
        return self._jvp

    def _shapes(self) -> dict:
        """Every input and cotangent variable, by name, in order."""
        found = {}
        for o in self.outs:
            found.update(variables(o))
        return {n: found[n] for n in self.names} | {v.name: v for v in self.cots}


def _check_count(xs, names, where):
    if len(xs) != len(names):
        raise TensorCalcError(
            f"{where} takes {len(names)} arguments ({', '.join(names)}), got {len(xs)}"
        )


def _order(order, most, where):
    if not isinstance(order, int) or not 1 <= order <= most:
        allowed = "1" if most == 1 else f"1 to {most}"
        raise TensorCalcError(f"{where} compiles order {allowed}, got order={order!r}")
    return order


def _symmetric(expr, names) -> tuple:
    """Positions of the arguments declared symmetric, which the functions read as (S + Sᵀ)/2."""
    found = variables(expr)
    return tuple(i for i, n in enumerate(names) if b.is_symmetric_var(found[n]))


def _symmetrize(xs, where, transpose) -> tuple:
    """``xs`` with the arguments at ``where`` replaced by (S + Sᵀ)/2, recorded by the
    framework's autodiff (exactly symmetric: floating-point addition commutes)."""
    return tuple((x + transpose(x)) / 2 if i in where else x for i, x in enumerate(xs))


def _wrap(call, expr, names, kind):
    call.expr, call.args = expr, names
    call.__name__ = f"tensorcalc_{kind}"
    call.__doc__ = f"{to_text(expr)} as a {kind} function of ({', '.join(names)})."
    return call


# --- JAX ---------------------------------------------------------------------------------------


def to_jax(f, args=None, *, shapes=None, order: int = 1):
    """``f`` as a ``jax.custom_vjp`` function of ``args`` whose gradient is the closed form.

    It composes with ``jax.jit``, ``jax.grad``, ``jax.vmap`` and optax loops; ``order=2`` also
    compiles the second derivative (``jax.hessian``, ``jax.grad(jax.grad(·))``).  A variable
    declared symmetric is read as (S + Sᵀ)/2, so value and gradient are those of f((S + Sᵀ)/2).

    >>> import jax, jax.numpy as jnp, tensorcalc as tc
    >>> f = tc.to_jax("x' @ A @ x", args=("x", "A"), shapes={"A": ("n", "n")})
    >>> A = jnp.array([[1.0, 2.0], [0.0, 3.0]])
    >>> jax.grad(f)(jnp.array([1.0, 1.0]), A).tolist()  # (A + A') x
    [4.0, 8.0]
    """
    jax = _import("jax", "jax")
    expr, names = _arguments(f, args, shapes)
    level = Level([expr], names, "jax", _order(order, MAX_FRAMEWORK_ORDER, "to_jax"))
    fn = _jax_function(jax, level)
    sym = _symmetric(expr, names)

    def call(*xs):
        _check_count(xs, names, "this function")
        return fn(*_symmetrize(xs, sym, lambda x: jax.numpy.swapaxes(x, -1, -2)))

    return _wrap(call, expr, names, "jax")


def _jax_zeros(jax, x):
    return jax.numpy.zeros_like(x)


def _jax_function(jax, level: Level):
    def primal(*xs):
        return level.value(xs)

    fn = jax.custom_vjp(primal)

    fuse = level.fusable and level.order == 1

    def fwd(*xs):
        if fuse:  # the gradients with the value, sharing work; the backward scales them
            value, grads = level.value_and_grads(xs)
            return value, (xs, grads)
        return primal(*xs), (xs, None)

    def bwd(res, ct):
        xs, saved = res
        cts = tuple(ct) if len(level.outs) > 1 else (ct,)
        if saved is not None:
            grads = [None if g is None else ct * g for g in saved]
        elif level.order > 1:
            nonzero = _jax_jvp_function(jax, level)(*xs, *cts)
            it = iter(nonzero)
            grads = [None if e is None else next(it) for e in level.vjp_exprs()]
        else:
            grads = level.vjp(xs, cts)
        return tuple(_jax_zeros(jax, x) if g is None else g for g, x in zip(grads, xs))

    fn.defvjp(fwd, bwd)
    return fn


def _jax_jvp_function(jax, level: Level):
    """The VJP outputs of ``level`` as a ``jax.custom_jvp`` function of (inputs, cotangents)
    whose tangent rule is the closed form (``Level.jvp_exprs``)."""
    if level._jax_jvp is not None:
        return level._jax_jvp
    nxt = level.next()

    @jax.custom_jvp
    def vjps(*zs):
        out = nxt.value(zs)
        return out if len(nxt.outs) > 1 else (out,)

    def rule(primals, tangents):
        ts, exprs = level.jvp_exprs()
        c = _cached_compile(level, "_jvp_compiled", exprs, "jax")
        names = nxt.names + tuple(t.name for t in ts)
        given = dict(zip(names, tuple(primals) + tuple(tangents)))
        tans = _present(c, exprs, given)
        out = nxt.value(primals)
        out = out if len(nxt.outs) > 1 else (out,)
        return out, tuple(jax.numpy.zeros_like(p) if t is None else t for t, p in zip(tans, out))

    vjps.defjvp(rule)
    level._jax_jvp = vjps
    return vjps


def _cached_compile(owner, attr, exprs, backend):
    c = getattr(owner, attr, None)
    if c is None:
        present = [e for e in exprs if e is not None]
        c = tc_compile(present, backend) if present else ()
        setattr(owner, attr, c)
    return c


def _present(c, exprs, given):
    """The compiled values of the non-None ``exprs``, in place, None where an expr is None."""
    values = iter(c(**given) if c != () else ())
    return [None if e is None else next(values) for e in exprs]


# --- PyTorch -----------------------------------------------------------------------------------


def to_torch(f, args=None, *, shapes=None, order: int = 1):
    """``f`` as a function of torch tensors whose backward is the closed form (a
    ``torch.autograd.Function``); it works in an ``nn.Module``, under ``torch.optim``, with
    ``gradcheck`` and on CUDA tensors.  ``order=2`` compiles double backward too.  A variable
    declared symmetric is read as (S + Sᵀ)/2, so value and gradient are those of f((S + Sᵀ)/2).

    >>> import torch, tensorcalc as tc
    >>> f = tc.to_torch("x' @ A @ x", args=("x", "A"), shapes={"A": ("n", "n")})
    >>> x = torch.ones(2, dtype=torch.float64, requires_grad=True)
    >>> f(x, torch.tensor([[1.0, 2.0], [0.0, 3.0]], dtype=torch.float64)).backward()
    >>> x.grad.tolist()
    [4.0, 8.0]
    """
    torch = _import("torch", "torch")
    expr, names = _arguments(f, args, shapes)
    level = Level([expr], names, "torch", _order(order, MAX_FRAMEWORK_ORDER, "to_torch"))
    Fn = _torch_function(torch)
    sym = _symmetric(expr, names)

    def call(*xs):
        _check_count(xs, names, "this function")
        xs = _symmetrize(xs, sym, lambda x: torch.as_tensor(x).transpose(-1, -2))
        return Fn.apply(level, torch.is_grad_enabled(), *xs)

    return _wrap(call, expr, names, "torch")


@cache
def _torch_function(torch):
    """One ``autograd.Function`` class for every level (the level is its first argument)."""

    class ClosedForm(torch.autograd.Function):
        @staticmethod
        def forward(ctx, level, fuse, *xs):
            ctx.level = level
            ctx.save_for_backward(*[x for x in xs if torch.is_tensor(x)])
            ctx.others = [None if torch.is_tensor(x) else x for x in xs]  # Python numbers
            ctx.grads = None
            needed = [i for i, need in enumerate(ctx.needs_input_grad[2:]) if need]
            if fuse and needed and level.fusable:  # the gradients with the value, sharing work
                out, ctx.grads = level.value_and_grads(xs, needed)
                return out
            return level.value(xs)

        @staticmethod
        def backward(ctx, *cts):
            level = ctx.level
            saved = iter(ctx.saved_tensors)
            xs = tuple(next(saved) if x is None else x for x in ctx.others)
            needed = [i for i, need in enumerate(ctx.needs_input_grad[2:]) if need]
            if torch.is_grad_enabled() and level.order > 1:  # the backward is recorded
                nxt = level.next()
                outs = ClosedForm.apply(nxt, False, *xs, *cts)
                outs = outs if isinstance(outs, tuple) else (outs,)
                it = iter(outs)
                grads = [None if e is None else next(it) for e in level.vjp_exprs()]
                grads = [g if i in needed else None for i, g in enumerate(grads)]
            elif ctx.grads is not None and not torch.is_grad_enabled():
                grads = [None if g is None else cts[0] * g for g in ctx.grads]
            else:  # recorded with order 1: torch differentiates the compiled VJP code
                grads = level.vjp(xs, cts, needed)
            full = [
                torch.zeros_like(torch.as_tensor(x)) if g is None and i in needed else g
                for i, (g, x) in enumerate(zip(grads, xs))
            ]
            return (None, None, *full)

    return ClosedForm


# --- TensorFlow --------------------------------------------------------------------------------


def to_tensorflow(f, args=None, *, shapes=None, order: int = 1):
    """``f`` as a ``tf.custom_gradient`` function of ``args`` whose gradient is the closed
    form, usable in ``tf.function``, under ``tf.GradientTape`` and in Keras.  Only the first
    order is compiled (``order=1``); a second derivative is TensorFlow's autodiff of that code.
    A variable declared symmetric is read as (S + Sᵀ)/2, so value and gradient are those of
    f((S + Sᵀ)/2).

    >>> import tensorflow as tf, tensorcalc as tc
    >>> f = tc.to_tensorflow("x' @ A @ x", args=("x", "A"), shapes={"A": ("n", "n")})
    >>> x = tf.Variable([1.0, 1.0], dtype=tf.float64)
    >>> with tf.GradientTape() as tape:
    ...     y = f(x, tf.constant([[1.0, 2.0], [0.0, 3.0]], dtype=tf.float64))
    >>> tape.gradient(y, x).numpy().tolist()
    [4.0, 8.0]
    """
    tf = _import("tensorflow", "tensorflow")
    expr, names = _arguments(f, args, shapes)
    level = Level([expr], names, "tensorflow", _order(order, 1, "to_tensorflow"))

    @tf.custom_gradient
    def fn(*xs):
        if level.fusable and not tf.executing_eagerly():  # in a graph, unused outputs are pruned
            out, saved = level.value_and_grads(xs)

            def grad(upstream):
                return [tf.zeros_like(x) if g is None else upstream * g for g, x in zip(saved, xs)]

            return out, grad
        out = level.value(xs)

        def grad(*upstream):
            grads = level.vjp(xs, upstream)
            return [tf.zeros_like(x) if g is None else g for g, x in zip(grads, xs)]

        return out, grad

    sym = _symmetric(expr, names)

    def call(*xs):
        _check_count(xs, names, "this function")
        return fn(*_symmetrize(_tf_inputs(tf, xs), sym, tf.linalg.matrix_transpose))

    return _wrap(call, expr, names, "tensorflow")


def _tf_inputs(tf, xs) -> list:
    """The inputs as tensors (variables are read, not captured); Python numbers and lists take
    the dtype of the floating tensors given (TensorFlow would make 2.0 a float32 beside float64
    tensors and refuse the product), as ``to_torch`` keeps them apart."""
    arrays = (tf.Tensor, tf.Variable, np.ndarray, np.generic)
    floats = [x.dtype for x in xs if isinstance(x, arrays) and tf.as_dtype(x.dtype).is_floating]
    dtype = tf.as_dtype(floats[0]) if floats else None
    return [
        tf.convert_to_tensor(x) if isinstance(x, arrays) else tf.convert_to_tensor(x, dtype=dtype)
        for x in xs
    ]
