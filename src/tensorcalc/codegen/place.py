"""Kronecker deltas placed, never multiplied: which products of ``eye`` operands the code
generator writes as ``where(mask, core)`` (or adds onto a diagonal view) instead of multiplying
a dense identity, so that an inf or NaN in the other factors stays on the diagonal, as in the
reference evaluator.
"""

from __future__ import annotations

from itertools import count

from ..expr import Expr
from ..ops import Op


def _is_delta(a: Expr, labels) -> bool:
    return a.op is Op.EYE and labels[0] != labels[1]


def _has_delta(e: Expr) -> bool:
    return e.op is Op.EINSUM and any(_is_delta(a, ls) for a, ls in zip(e.args, e.attrs[0]))


def delta_product(e: Expr, uses) -> tuple | None:
    """``(core, rep)`` when einsum ``e`` places its other factors with Kronecker deltas
    (``eye`` operands, e.g. d(A @ X)/dA = δ_ik X_lj), else None.

    Products with deltas that the contraction order split off and that are used only here are
    merged back in.  ``core`` lists the other factors with every index renamed to its group's
    representative (``rep``: output index → the first output index the deltas tie it to).
    Matrices (``eye(n)``, ``diag(v)``) print without a multiplication and are left alone.
    """
    if not _has_delta(e) or e.ndim < 3:
        return None
    ins, out = e.attrs
    todo, ops = list(zip(e.args, ins)), []
    fresh = count(1 + max(x for ls in ins for x in ls))
    while todo:
        a, ls = todo.pop()
        if uses[a] != 1 or not _has_delta(a):
            ops.append((a, ls))
            continue
        rename = dict(zip(a.attrs[1], ls))  # the inner product's indices, in ours
        for b, lb in zip(a.args, a.attrs[0]):
            todo.append((b, tuple(rename.setdefault(x, next(fresh)) for x in lb)))
    pairs = [ls for a, ls in ops if _is_delta(a, ls)]
    if any(x not in out for ls in pairs for x in ls):
        return None  # a delta summed over (the simplifier contracts these): not a placement
    rep = {x: x for x in out}

    def find(x):
        while rep[x] != x:
            x = rep[x]
        return x

    for p, q in pairs:
        p, q = sorted((find(p), find(q)), key=out.index)
        rep[q] = p
    core = [(a, tuple(find(x) if x in rep else x for x in ls)) for a, ls in ops
            if not _is_delta(a, ls)]  # fmt: skip
    return core, {x: find(x) for x in out}
