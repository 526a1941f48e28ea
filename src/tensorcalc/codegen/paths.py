"""Contraction order: split every product of three or more factors into pairwise products in
the cheapest order for the given dimensions (an opt_einsum-style search: exact dynamic
programming over subsets up to 8 factors, greedy beyond).

``binarize`` rewrites a graph so that each einsum node has at most two operands.  The new
nodes are built raw (``expr.node``), so the canonical constructors do not merge them back, and
they are interned, so equal pairs in the value, gradient and Hessian are computed once.
"""

from __future__ import annotations

from collections import Counter
from itertools import combinations

from ..build import einsum
from ..expr import Expr, node, postorder
from ..ops import Op

DEFAULT_DIM = 100  # assumed size of a symbolic dimension when no binding is given
EXACT_LIMIT = 8


def _size(labels, sizes):
    out = 1
    for x in labels:
        out *= sizes[x]
    return out


def best_path(groups: list[tuple], out: tuple, sizes: dict):
    """A contraction tree (nested pairs of operand indices) of least total cost (flops)."""
    n = len(groups)
    if n <= 2:
        return tuple(range(n)) if n == 2 else 0

    def kept(mask):
        inside = {x for k in range(n) if mask >> k & 1 for x in groups[k]}
        outside = set(out) | {x for k in range(n) if not mask >> k & 1 for x in groups[k]}
        return inside & outside

    if n > EXACT_LIMIT:
        return _greedy(groups, out, sizes)
    best = {1 << k: (0, k) for k in range(n)}
    for size in range(2, n + 1):
        for combo in combinations(range(n), size):
            mask = sum(1 << k for k in combo)
            first = combo[0]
            rest = combo[1:]
            choice = None
            for r in range(0, len(rest)):
                for sub in combinations(rest, r):
                    m1 = (1 << first) | sum(1 << k for k in sub)
                    m2 = mask ^ m1
                    cost = best[m1][0] + best[m2][0] + _size(kept(m1) | kept(m2), sizes)
                    if choice is None or cost < choice[0]:
                        choice = (cost, (best[m1][1], best[m2][1]))
            best[mask] = choice
    return best[(1 << n) - 1][1]


def _greedy(groups, out, sizes):
    items = [(frozenset(g), k) for k, g in enumerate(groups)]
    while len(items) > 1:
        choice = None
        for i, j in combinations(range(len(items)), 2):
            others = set(out).union(*(items[k][0] for k in range(len(items)) if k not in (i, j)))
            res = (items[i][0] | items[j][0]) & others
            cost = _size(items[i][0] | items[j][0], sizes) - _size(res, sizes)
            if choice is None or cost < choice[0]:
                choice = (cost, i, j, res)
        _, i, j, res = choice
        merged = (frozenset(res), (items[i][1], items[j][1]))
        items = [it for k, it in enumerate(items) if k not in (i, j)] + [merged]
    return items[0][1]


def _raw(ops, res):
    names = {}
    for x in res:
        names.setdefault(x, len(names))
    for _, ls in ops:
        for x in ls:
            names.setdefault(x, len(names))
    ins = tuple(tuple(names[x] for x in ls) for _, ls in ops)
    return node(Op.EINSUM, tuple(e for e, _ in ops), (ins, tuple(names[x] for x in res)))


def _split(e: Expr, args, sizes_of):
    ins, out = e.attrs
    if len(args) <= 2:
        return e if tuple(args) == e.args else node(Op.EINSUM, tuple(args), e.attrs)
    sizes = {}
    for a, ls in zip(args, ins):
        for x, d in zip(ls, a.shape):
            sizes[x] = sizes_of(d)
    tree = best_path(list(ins), out, sizes)
    operands = list(zip(args, ins))

    def build(t, top):
        if isinstance(t, int):
            return operands[t]
        (a, la), (b, lb) = build(t[0], False), build(t[1], False)
        if top:
            return _raw([(a, la), (b, lb)], out), out
        leaves = _leaves(t)
        others = set(out) | {x for k, ls in enumerate(ins) if k not in leaves for x in ls}
        res = tuple(dict.fromkeys(x for x in la + lb if x in others))
        return _raw([(a, la), (b, lb)], res), res

    return build(tree, True)[0]


def _leaves(t):
    return {t} if isinstance(t, int) else _leaves(t[0]) | _leaves(t[1])


def _distribute(n: Expr, uses) -> Expr | None:
    """(A + B) @ x → A @ x + B @ x when the sum is used once and the product shrinks it.

    Materialising ``A + A'`` costs a transposed pass over a matrix; two mat-vecs do not.
    """
    if len(n.args) != 2:
        return None
    ins, out = n.attrs
    for k, a in enumerate(n.args):
        if a.op is Op.ADD and uses[a] == 1 and a.ndim >= 2 and n.ndim < a.ndim:
            other, lo = n.args[1 - k], ins[1 - k]
            terms = [einsum([(t, ins[k]), (other, lo)], out) for t in a.args]
            return node(Op.ADD, tuple(terms))
    return None


def binarize(outputs: list[Expr], dims: dict | None = None) -> list[Expr]:
    """The graph of ``outputs`` with every einsum split into pairwise products."""
    dims = dims or {}

    def sizes_of(d):
        return d if isinstance(d, int) else dims.get(d, DEFAULT_DIM)

    order = postorder(outputs)
    uses = Counter(a for n in order for a in n.args)
    memo = {}
    for n in order:
        spread = _distribute(n, uses) if n.op is Op.EINSUM else None
        if spread is not None:
            memo[n] = binarize([spread], dims)[0]
            continue
        args = tuple(memo[a] for a in n.args)
        if n.op is Op.EINSUM:
            memo[n] = _split(n, args, sizes_of)
        elif args == n.args:
            memo[n] = n
        else:
            memo[n] = node(n.op, args, n.attrs)
    return [memo[o] for o in outputs]
