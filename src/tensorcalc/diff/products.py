"""Matrix-free products with derivatives: Jacobian-vector, vector-Jacobian, Hessian-vector.

Each is an expression in f's variables and one new variable (the direction, or cotangent),
never a formed Jacobian or Hessian:

- ``jvp_expr(f, x)``: J v = Σ ∂f/∂x ⊙ v over x's indices, shape ``f.shape`` (the contraction
  of the Jacobian with v, simplified: its deltas are contracted and the products reordered,
  so that d(σ(X w)) v is σ'(X w) ⊙ (X v), never an N × D array);
- ``vjp_expr(f, x)``: uᵀ J = ∂⟨u, f⟩/∂x, shape ``x.shape`` (one reverse sweep of a scalar);
- ``hvp(f, x)``: H v = ∂⟨∇f, v⟩/∂x, shape ``x.shape``: the gradient's inner product with a
  direction that does not depend on x, differentiated once more (reverse over reverse).  For
  the logistic loss it is Xᵀ(d ⊙ (X v)): two products with X, O(ND) work and memory, where
  the Hessian is D × D.

The new variable is named ``v`` (``u`` for a cotangent) unless f has a variable of that name:
then ``v1``, ``v2``, … ; it has x's shape (a symmetric matrix variable gets a symmetric
direction, and the products are those of the gradient on symmetric matrices).

>>> import tensorcalc as tc
>>> from tensorcalc.expr import variables
>>> f = tc.parse("sum(log(1 + exp(-y * (X @ w))))", {"X": ("N", "D")})
>>> print(hvp(f, variables(f)["w"]))
X' @ (u * (X @ v * (1 - u)) * y^2) where u = sigmoid(-y * (X @ w))
"""

from __future__ import annotations

from ..build import einsum, is_symmetric_var, var
from ..errors import DifferentiationError
from ..expr import Expr, variables
from ..simplify import simplify
from .order import one_order


def new_variable(f: Expr, x: Expr, name: str | None, default: str, shape=None) -> Expr:
    """The direction (or cotangent) variable: ``name``, or ``default`` (then ``default1``, …)
    when ``name`` is None and f has a variable so named; of ``shape`` (x's by default)."""
    taken = set(variables(f))
    if name is None:
        name, k = default, 0
        while name in taken:
            k += 1
            name = f"{default}{k}"
    if not isinstance(name, str) or not name.isidentifier():
        raise DifferentiationError(f"the direction's name must be an identifier, got {name!r}")
    if name in taken:
        raise DifferentiationError(
            f"{name!r} is already a variable of the expression; name the direction otherwise"
        )
    if shape is None:
        return var(name, x.shape, symmetric=is_symmetric_var(x))
    return var(name, shape)


def inner(a: Expr, b: Expr) -> Expr:
    """⟨a, b⟩ = Σ a ⊙ b over all their indices (a scalar)."""
    labels = tuple(range(a.ndim))
    return einsum([(a, labels), (b, labels)], ())


def jvp_expr(f: Expr, x: Expr, direction: str | None = None) -> Expr:
    """J v: the derivative of ``f`` along a direction v of x's shape (``f.shape``).

    >>> from tensorcalc import parse
    >>> from tensorcalc.expr import variables
    >>> f = parse("tanh(A @ x)", {"A": ("m", "n")})
    >>> print(jvp_expr(f, variables(f)["x"]))
    A @ v * (1 - tanh(A @ x)^2)
    """
    v = new_variable(f, x, direction, "v")
    jac = one_order(f, x).result
    labels = tuple(range(f.ndim, f.ndim + x.ndim))
    out = tuple(range(f.ndim))
    return simplify(einsum([(jac, out + labels), (v, labels)], out))


def vjp_expr(f: Expr, x: Expr, cotangent: str | None = None) -> Expr:
    """uᵀ J: the gradient of ⟨u, f⟩ for a cotangent u of f's shape (``x.shape``).

    >>> from tensorcalc import parse
    >>> from tensorcalc.expr import variables
    >>> f = parse("tanh(A @ x)", {"A": ("m", "n")})
    >>> print(vjp_expr(f, variables(f)["x"]))
    A' @ (u * (1 - tanh(A @ x)^2))
    """
    u = new_variable(f, x, cotangent, "u", shape=f.shape)
    return one_order(inner(u, f), x).result


def hvp(f: Expr, x: Expr, direction: str | None = None) -> Expr:
    """H v for a scalar ``f``: the gradient's inner product with v, differentiated again."""
    if f.ndim:
        raise DifferentiationError(
            f"hvp needs a scalar expression, got shape {f.shape}; use jvp_expr of a gradient"
        )
    v = new_variable(f, x, direction, "v")
    return one_order(inner(one_order(f, x).result, v), x).result
