"""Layouts are views of one computation (the design's "indices of f, then of x").

| layout | value of an order-k derivative |
|---|---|
| ``"jacobian"`` (default) | ``f.shape + x.shape * k`` |
| ``"numerator"`` | as jacobian, except d(scalar)/d(vector) is a 1×n row and d(scalar)/d(matrix X) is Xᵀ-shaped |
| ``"denominator"`` | the axes of x first: d(scalar)/dx has x's shape, d(vector y)/d(vector x) is n×m, d(vector)/d(scalar) a 1×m row, a scalar's Hessian is Hᵀ |
| ``"vec"`` | Magnus and Neudecker's matrix d vec F / d (vec X)ᵀ, (size of F) × (size of X), with the column-stacking vec (``tc.vec``); a scalar's Hessian (order 2) is the (size of X)² matrix ∂²f / ∂vec X ∂(vec X)ᵀ |

The vec layout ties the row index to F's indices and the column index to X's by reshaped
identities (``build.delta``), which the canonical product turns into Kronecker products where
the derivative has one: d(A X B)/dX is ``kron(B', A)``.  Where it has none the matrix is the
derivative transposed and reshaped; its entries are the same either way.
"""

from __future__ import annotations

import math

from ..build import add, const, delta, einsum, eye, matmul, ones, reshape, split_coef, transpose
from ..errors import DifferentiationError
from ..expr import Expr, postorder
from ..ops import Op

LAYOUTS = ("jacobian", "numerator", "denominator", "vec")


def _row(d: Expr) -> Expr:
    return einsum([(d, ("i",)), (ones((1,)), ("r",))], ("r", "i"))


def apply_layout(d: Expr, f_rank: int, x_rank: int, order: int, layout: str | None) -> Expr:
    """View the jacobian-layout derivative ``d`` in ``layout``."""
    if layout in (None, "jacobian", "default"):
        return d
    if layout == "numerator":
        if order == 1 and f_rank == 0 and x_rank == 1:
            return _row(d)
        if order == 1 and f_rank == 0 and x_rank == 2:
            return transpose(d)
        return d
    if layout == "denominator":
        if order == 1 and f_rank == 1 and x_rank == 0:
            return _row(d)
        axes = list(range(d.ndim))
        x_axes = axes[f_rank:]
        groups = [x_axes[k * x_rank : (k + 1) * x_rank] for k in range(order)]
        perm = [a for g in reversed(groups) for a in g] + axes[:f_rank]
        return d if perm == axes else transpose(d, perm)
    if layout == "vec":
        return _vec_matrix(d, f_rank, x_rank, order)
    raise DifferentiationError(f"unknown layout {layout!r}; use one of {', '.join(LAYOUTS)}")


def _vec_matrix(d: Expr, f_rank: int, x_rank: int, order: int) -> Expr:
    """d vec F / d (vec X)ᵀ (order 1), or a scalar's Hessian ∂²f / ∂vec X ∂(vec X)ᵀ (order 2)."""
    if order == 1:
        rows, cols = tuple(range(f_rank)), tuple(range(f_rank, f_rank + x_rank))
    elif order == 2 and f_rank == 0:
        rows, cols = tuple(range(x_rank)), tuple(range(x_rank, 2 * x_rank))
    else:
        raise DifferentiationError(
            "the vec layout is the Jacobian matrix d vec F / d (vec X)' (order 1) or the "
            f"Hessian matrix of a scalar (order 2), not order {order} of a rank-{f_rank} function"
        )
    sizes = []
    for group in (rows, cols):
        dims = [d.shape[k] for k in group]
        if len(dims) > 1 and not all(isinstance(n, int) for n in dims):
            shown = "×".join(map(str, dims))
            raise DifferentiationError(
                f"the vec layout needs int sizes: vec of a {shown} tensor has {shown} entries, "
                "which is not a size tensorcalc can name (give int sizes)"
            )
        sizes.append(dims[0] if len(dims) == 1 else math.prod(dims))
    terms = d.args if d.op is Op.ADD else (d,)
    tied = _common_right(add(*(_tied(t, rows, cols, sizes) for t in terms)))
    if not any(n.op is Op.RESHAPE and n.args[0].op is Op.EYE for n in postorder([tied])):
        return tied  # Kronecker products, or reshapes of the derivative
    flat = transpose(d, rows[::-1] + cols[::-1])  # vec reads an array's axes last first
    return reshape(flat, tuple(sizes))


def _common_right(m: Expr) -> Expr:
    """c P + K @ P = (c I + K) @ P for a Kronecker product P and a commutation matrix K:
    d vec(X'X) = (I + K)(I ⊗ X') d vec X, as Magnus and Neudecker write it."""
    if m.op is not Op.ADD:
        return m
    groups: dict = {}
    for t in m.args:
        c, core = split_coef(t)
        if core.op is Op.KRON:
            left = const(c) if c != 1.0 else None
        elif core.op is Op.EINSUM and len(core.args) == 2 and dict(zip((a.op for a in core.args), core.attrs[0])) == {
            Op.COMMUTATION: (0, 2), Op.KRON: (2, 1)
        } and core.attrs[1] == (0, 1):  # fmt: skip
            k, p = sorted(core.args, key=lambda a: a.op is Op.KRON)
            left, core = einsum([(const(c), ()), (k, (0, 1))], (0, 1)), p
        else:
            left, core = t, None
        groups.setdefault(core, []).append(left)
    if all(len(ls) == 1 for p, ls in groups.items() if p is not None):
        return m
    out = []
    for p, lefts in groups.items():
        if p is None:
            out += lefts
        elif len(lefts) == 1:
            x = lefts[0]
            out.append(p if x is None else matmul(x, p) if x.ndim else
                       einsum([(x, ()), (p, (0, 1))], (0, 1)))  # fmt: skip
        else:
            size = p.shape[0]
            ident = [eye(size) if x is None else x for x in lefts]
            out.append(matmul(add(*(einsum([(x, ()), (eye(size), (0, 1))], (0, 1))
                                    if x.ndim == 0 else x for x in ident)), p))  # fmt: skip
    return add(*out)


def _tied(d: Expr, rows: tuple, cols: tuple, sizes: list) -> Expr:
    """Σ D[r, rows reversed] D[c, cols reversed] d[rows, cols]: the matrix with each index tied
    to its group of d's indices by a reshaped identity (a vector's own index; 1 for none)."""
    ops = [(d, tuple(range(d.ndim)))]
    for label, group, size in (("r", rows, sizes[0]), ("c", cols, sizes[1])):
        if not group:
            ops.append((ones((1,)), (label,)))
        else:
            shape = tuple(d.shape[k] for k in reversed(group))
            ops.append((delta((size,), shape), (label,) + tuple(reversed(group))))
    return einsum(ops, ("r", "c"))
