"""Evaluation order: where products go and in which order, chosen by counting operations at
the actual sizes.

Three decisions, all by the same cost model (a pairwise product costs the product of the sizes
of all indices it touches, an elementwise sum of k arrays of size s costs (k + 1)·s):

* **distributing** a product over a sum, ``(X - U @ V) @ V'`` → ``X @ V' - U @ (V @ V')``, when
  the sum is used only there and the distributed form is cheaper (at n = 1000, r = 10 it halves
  the work; at r ≈ n it would double it, so the product stays);
* **factoring** a shared factor out of a sum, ``A' @ A @ X + B' @ B @ X`` →
  ``(A' @ A + B' @ B) @ X``, the reverse, when the sum's terms are used only there, the factored
  form is cheaper (at n = k = 100 from m = 67 columns of X on; ``A @ X + B @ X`` →
  ``(A + B) @ X`` from m = 3 on; for a vector the distributed form stays) and its inner sum is no
  larger than the sum or the factors it comes from.  Factoring runs first, over the whole
  graph; a factored product is never distributed;
* **contraction order**: every product of three or more factors is split into pairwise products
  in the cheapest order (an opt_einsum-style search: exact dynamic programming over subsets up
  to 8 factors, greedy beyond), never materialising an intermediate larger than both the result
  and the largest factor when an order without one exists.  Distributing a sum of products
  (the MLP Hessian's 4-tensor terms) makes each term one product, so it is contracted as one
  path rather than through the sum's large intermediate.

For a compiler that fuses elementwise loops (XLA; ``Backend.fuses``) a product's number factor
is placed where a loop applies it for free (``_fused_split``) rather than on the smallest
operand, which costs such a compiler a kernel of its own.

``binarize`` rewrites a graph so that each einsum node has at most two operands.  The new
nodes are built raw (``expr.node``), so the canonical constructors do not merge them back, and
they are interned, so equal pairs in the value, gradient and Hessian are computed once.
"""

from __future__ import annotations

from collections import Counter
from functools import cache, lru_cache
from heapq import heapify, heappop, heappush
from itertools import combinations

from ..build import einsum
from ..expr import Expr, node, postorder
from ..ops import Op

DEFAULT_DIM = 100  # assumed size of a symbolic dimension when no binding is given
EXACT_LIMIT = 8
INF = float("inf")
SEARCHES = 4096  # contraction problems whose answers are kept (``_search``)


def _size(labels, sizes):
    out = 1
    for x in labels:
        out *= sizes[x]
    return out


def best_path(groups: list[tuple], out: tuple, sizes: dict):
    """A contraction tree (nested pairs of operand indices) of least total cost (flops)."""
    return search(groups, out, sizes)[1]


def search(groups: list[tuple], out: tuple, sizes: dict):
    """``(cost, tree)``: the cheapest contraction tree whose intermediates are no larger than
    the result and every factor, else than twice or four times that, else any.

    The answer depends only on the pattern of the indices and their sizes, so the problem is
    asked with its indices renamed 0, 1, … in order of appearance and answered once
    (``_search``, a bounded cache): a product met again, under other index names or priced
    again for another factor that ``_factor`` weighs, is not searched again.
    """
    names: dict = {}
    for g in groups:
        for x in g:
            names.setdefault(x, len(names))
    for x in out:
        names.setdefault(x, len(names))
    return _search(
        tuple(tuple(names[x] for x in g) for g in groups),
        tuple(names[x] for x in out),
        tuple(sizes[x] for x in names),
    )


@lru_cache(maxsize=SEARCHES)
def _search(groups: tuple, out: tuple, sizes: tuple):
    """``search`` of a problem whose indices are 0, 1, …, with ``sizes[x]`` the size of x."""
    n = len(groups)
    if n == 1:
        return _size(groups[0], sizes), 0
    if n == 2:
        return _size(set(groups[0]) | set(groups[1]), sizes), (0, 1)
    limit = max([_size(out, sizes)] + [_size(g, sizes) for g in groups])
    if n > EXACT_LIMIT:
        tree = _greedy(groups, out, sizes)
        return _tree_cost(tree, groups, out, sizes), tree
    for cap in (limit, 2 * limit, 4 * limit, INF):  # the smallest intermediates that work
        found = _exact(groups, out, sizes, cap)
        if found[0] < INF:
            return found


def _exact(groups, out, sizes, limit):
    n = len(groups)

    @cache  # each subset's indices once, not once per split it takes part in
    def kept(mask):
        inside = {x for k in range(n) if mask >> k & 1 for x in groups[k]}
        outside = set(out) | {x for k in range(n) if not mask >> k & 1 for x in groups[k]}
        return frozenset(inside & outside)

    best = {1 << k: (0, k) for k in range(n)}
    full = (1 << n) - 1
    for size in range(2, n + 1):
        for combo in combinations(range(n), size):
            mask = sum(1 << k for k in combo)
            if mask != full and _size(kept(mask), sizes) > limit:
                best[mask] = (INF, None)  # too large an intermediate
                continue
            first, rest = combo[0], combo[1:]
            choice = (INF, None)
            for r in range(0, len(rest)):
                for sub in combinations(rest, r):
                    m1 = (1 << first) | sum(1 << k for k in sub)
                    m2 = mask ^ m1
                    cost = best[m1][0] + best[m2][0] + _size(kept(m1) | kept(m2), sizes)
                    if cost < choice[0]:
                        choice = (cost, (best[m1][1], best[m2][1]))
            best[mask] = choice
    return best[full]


def _tree_cost(tree, groups, out, sizes):
    """Total cost of a contraction tree (for the greedy search's result)."""
    n = len(groups)

    def kept(leaves):  # a subtree's result: its indices needed by the result or other operands
        inside = {x for k in leaves for x in groups[k]}
        return inside & (set(out) | {x for k in range(n) if k not in leaves for x in groups[k]})

    def walk(t):  # a pair costs the indices of its two operands (not of the whole subtree)
        if isinstance(t, int):
            return 0, {t}
        (c1, l1), (c2, l2) = walk(t[0]), walk(t[1])
        return c1 + c2 + _size(kept(l1) | kept(l2), sizes), l1 | l2

    return walk(tree)[0] if n > 1 else _size(groups[0], sizes)


def _greedy(groups, out, sizes):
    """opt_einsum's greedy rule: merge the pair that shrinks memory most (result size minus
    both inputs), among pairs sharing an index; outer products only when no pair does.

    Incremental: a merge changes the price of no pair that does not touch the merged operands
    (an index they carry stays on the merged operand while another operand carries it), so
    only the new operand's pairs are priced, and the cheapest pair comes off a heap.  Operands
    are numbered in the order they appear (the merged one last), and ties go to the lowest
    numbers, as a scan over the pairs in order would take them."""
    outs = set(out)
    items = {k: frozenset(g) for k, g in enumerate(groups)}  # operand number -> its indices
    trees = {k: k for k in items}
    held = Counter(x for s in items.values() for x in s)  # how many operands carry each index
    having: dict = {}  # index -> the operands that carry it
    for k, s in items.items():
        for x in s:
            having.setdefault(x, set()).add(k)
    kept = {}  # (i, j) -> the indices the merged pair keeps

    def price(i, j):  # kept: indices of the result or of other operands
        a, b = items[i], items[j]
        res = frozenset(x for x in a | b if x in outs or held[x] > (x in a) + (x in b))
        kept[i, j] = res
        return (not (a & b), _size(res, sizes) - _size(a, sizes) - _size(b, sizes), i, j)

    pairs = {p for ks in having.values() for p in combinations(sorted(ks), 2)}
    heap = [price(i, j) for i, j in pairs]
    heapify(heap)
    outer = False  # no pair shares an index (nor will one): every pair is priced
    while len(items) > 1:
        if not heap:
            outer = True
            heap = [price(i, j) for i, j in combinations(items, 2)]
            heapify(heap)
        _, _, i, j = heappop(heap)
        res = kept.pop((i, j))
        if i not in items or j not in items:
            continue  # a pair of an operand merged before
        for x in items[i] | items[j]:
            having[x] -= {i, j}
        held.subtract(items[i] | items[j])
        held.subtract(items[i] & items[j])
        held.update(res)
        m = len(trees)
        trees[m] = (trees[i], trees[j])
        del items[i], items[j]
        items[m] = res
        others = sorted(items)[:-1] if outer else sorted({k for x in res for k in having[x]})
        for x in res:
            having[x].add(m)
        for k in others:
            heappush(heap, price(k, m))
    return trees[next(iter(items))]


def _raw(ops, res):
    names = {}
    for x in res:
        names.setdefault(x, len(names))
    for _, ls in ops:
        for x in ls:
            names.setdefault(x, len(names))
    ins = tuple(tuple(names[x] for x in ls) for _, ls in ops)
    return node(Op.EINSUM, tuple(e for e, _ in ops), (ins, tuple(names[x] for x in res)))


def _label_sizes(e: Expr, sizes_of) -> dict:
    ins, _ = e.attrs
    return {x: sizes_of(d) for a, ls in zip(e.args, ins) for x, d in zip(ls, a.shape)}


def cost(e: Expr, sizes_of) -> float:
    """Operations to compute node ``e`` from its arguments (products in their best order)."""
    if e.op is Op.EINSUM:
        ins, out = e.attrs
        return search(list(ins), out, _label_sizes(e, sizes_of))[0]
    size = _size(e.shape, {d: sizes_of(d) for d in e.shape})
    return (len(e.args) + 1) * size if e.op is Op.ADD else size


class _Priced:
    """The sizes of the dimensions for one ``binarize`` (call it as ``sizes_of``) with the cost
    of each node priced once (``cost``): ``_factor`` weighs the same terms for every factor
    they might share, and ``_distribute`` the same sums for every product over them."""

    __slots__ = ("sizes_of", "known")

    def __init__(self, sizes_of):
        self.sizes_of, self.known = sizes_of, {}

    def __call__(self, d):
        return self.sizes_of(d)

    def cost(self, e: Expr) -> float:
        found = self.known.get(e)
        if found is None:
            found = self.known[e] = cost(e, self.sizes_of)
        return found


def _priced(sizes_of) -> _Priced:
    return sizes_of if isinstance(sizes_of, _Priced) else _Priced(sizes_of)


def _split(e: Expr, args, sizes_of):
    ins, out = e.attrs
    if len(args) <= 2:
        return e if tuple(args) == e.args else node(Op.EINSUM, tuple(args), e.attrs)
    for k, (a, labels) in enumerate(zip(args, ins)):
        if a.op is Op.SELECT and labels[1] not in out and labels[0] != labels[1]:
            if (gathered := _split_gather(e, args, k, sizes_of)) is not None:
                return gathered
    for k, (a, labels) in enumerate(zip(args, ins)):
        if not _is_map(a, labels) or labels[1] not in out or labels[0] == labels[1]:
            continue
        if (placed := _split_map(e, args, k, sizes_of)) is not None:
            return placed
    tree = best_path(list(ins), out, _label_sizes(e, sizes_of))
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


def _is_map(a: Expr, labels) -> bool:
    return a.op in (Op.EYE, Op.SELECT) and len(labels) == 2


def _taken(e: Expr, args, k):
    """The factors of einsum ``e`` other than its map ``S[p, q] = args[k]``, each read at
    ``q = idx[p]``: a delta renames q to p, a selection gathers (``a[.., idx[p], ..]``).
    None where a factor reads both a selection's p and q (left to the pairwise order)."""
    ins, _ = e.attrs
    m, (p, q) = args[k], ins[k]
    rest = []
    for j, (a, ls) in enumerate(zip(args, ins)):
        if j == k:
            continue
        if q not in ls:
            rest.append((a, ls))
            continue
        if m.op is not Op.EYE and p in ls:
            return None
        taken = tuple(p if x == q else x for x in ls)
        if m.op is not Op.EYE:
            taken = tuple(dict.fromkeys(taken))
            a = _raw([(m, (p, q)), (a, ls)], taken)
        rest.append((a, taken))
    return rest


def _split_gather(e: Expr, args, k, sizes_of):
    """Σ_q S[p, q] F(.., q, ..) = F(.., idx[p], ..): a selection summed over its column is
    applied first, as a slice of every factor that reads q, so the pairwise order never
    scatters another factor into zeros that meet an inf ((1 / A)[:, 1::2] @ z was
    1 / A @ scatter(z), 0 · inf = nan). None where a factor reads both p and q, or none reads q."""
    q = e.attrs[0][k][1]
    rest = _taken(e, args, k)
    if rest is None or not any(q in ls for j, ls in enumerate(e.attrs[0]) if j != k):
        return None
    inner = _raw(rest, e.attrs[1])
    return _split(inner, list(inner.args), sizes_of)


def _split_map(e: Expr, args, k, sizes_of):
    """A selection or delta S[p, q] that writes the result's axis q (a scatter over a summed p,
    or a placement where p is in the result too) is applied last: the other factors are
    multiplied at q = idx[p] only (``_taken``), so the zeros S writes never meet them in a
    pairwise product, where 0 · inf would be nan and evaluate gives 0: δ_pq F(p, q) =
    δ_pq F(p, p), and diag(x) * (1 / diag(x)) is not 0/0."""
    ins, out = e.attrs
    m, (p, q) = args[k], ins[k]
    rest = _taken(e, args, k)
    if rest is None:
        return None
    carried = {x for _, ls in rest for x in ls}
    inner_out = tuple(x for x in dict.fromkeys(p if x == q else x for x in out) if x in carried)
    inner = _raw(rest, inner_out)
    return _raw([(_split(inner, list(inner.args), sizes_of), inner_out), (m, (p, q))], out)


def _fused_split(e: Expr, args, sizes_of):
    """``_split`` for compilers that fuse elementwise work into loops (XLA): a product's number
    factor goes onto an operand that is a sum, ``(-2 (y - Φθ)) @ Φ``, or onto the result when
    that is no larger than twice the smallest operand, ``-(Φ @ θ)``, where the loop that makes
    the sum or consumes the result applies it for free; scaling the smallest operand instead
    (the flop count's choice, best for NumPy) costs XLA a separate kernel."""
    ins, out = e.attrs
    k = next((j for j, a in enumerate(args) if a.op is Op.CONST and not a.ndim), None)
    rest = [(a, ls) for j, (a, ls) in enumerate(zip(args, ins)) if j != k]
    if k is None or len(rest) < 2:
        return _split(e, args, sizes_of)
    scale = args[k]
    sums = [j for j, (a, ls) in enumerate(rest) if a.op is Op.ADD and len(set(ls)) == len(ls)]
    if sums:
        a, ls = rest[sums[0]]
        rest[sums[0]] = (_raw([(scale, ()), (a, ls)], ls), ls)
    elif _numel(e, sizes_of) > 2 * min(_numel(a, sizes_of) for a, _ in rest):
        return _split(e, args, sizes_of)
    inner = _raw(rest, out)
    product = _split(inner, list(inner.args), sizes_of)
    return product if sums else _raw([(scale, ()), (product, out)], out)


def _leaves(t):
    return {t} if isinstance(t, int) else _leaves(t[0]) | _leaves(t[1])


def _distribute(n: Expr, uses, sizes_of) -> Expr | None:
    """(A + B) @ x → A @ x + B @ x when the sum is used only here and that costs less.

    The sum's own products are counted on both sides: distributed, each becomes one product
    with the other factors, contracted in its best order (``U @ (V @ V')``).
    """
    ins, out = n.attrs
    price = _priced(sizes_of).cost
    for k, a in enumerate(n.args):
        if a.op is not Op.ADD or uses[a] != 1:
            continue
        rest = [(b, ls) for j, (b, ls) in enumerate(zip(n.args, ins)) if j != k]
        terms = [einsum([(t, ins[k])] + rest, out) for t in a.args]
        before = sum(price(t) for t in a.args if t.op is Op.EINSUM) + price(a) + price(n)
        after = sum(price(t) for t in terms if t.op is Op.EINSUM)
        after += price(node(Op.ADD, tuple(terms)))
        if after < before:
            return node(Op.ADD, tuple(terms))
    return None


def _factor(n: Expr, once, sizes_of):
    """A @ X + B @ X → (A + B) @ X (and X @ A + X @ B, and any shared factor of a sum of
    products, up to where its indices go) when the terms are used only here (``once[k]`` for
    ``n.args[k]``) and that costs less: ``(the factored product, its inner sum, the terms
    kept as they were)``, or None.

    Each term is written with its output indices named by position and the factor's indices by
    their place in the factor; terms whose factor sits alike and whose other factors meet it
    and the output at the same indices share it: Σᵢ F·Rᵢ = F·(Σᵢ Rᵢ).  The best saving wins.
    """
    price = _priced(sizes_of).cost
    groups: dict = {}
    for t, single in zip(n.args, once):
        if t.op is not Op.EINSUM or not single:
            continue
        for key, k in _shared_forms(t):
            groups.setdefault(key, []).append((t, k))
    best = None
    for (factor, pattern, face), members in groups.items():
        if len({id(t) for t, _ in members}) < 2:
            continue
        last = dict((id(t), (t, k)) for t, k in members).values()  # a term's last such factor
        terms = [(t, _rest(t, k)) for t, k in last]
        face = tuple(dict.fromkeys(x for _, la in terms[0][1] for x in la if x in face))
        inner = [einsum(rest, face) for _, rest in terms]  # in the first's order: A, not A''
        if any(i.shape != inner[0].shape for i in inner):
            continue
        limit = max([_numel(n, sizes_of)] + [_numel(a, sizes_of) for t, _ in terms for a in t.args])
        if _numel(inner[0], sizes_of) > limit:
            continue  # the inner sum would be the largest array of all
        total = node(Op.ADD, tuple(inner))
        out = tuple(("o", j) for j in range(n.ndim))
        factored = einsum([(factor, pattern), (total, face)], out)
        if factored.op is not Op.EINSUM or all(a is not total for a in factored.args):
            continue  # the canonical product took the factor apart (a constant)
        kept = [t for t in n.args if all(t is not u for u, _ in terms)]
        result = node(Op.ADD, (factored, *kept)) if kept else factored
        before = price(n) + sum(price(t) for t, _ in terms)
        after = sum(price(i) for i in inner if i.op is Op.EINSUM) + price(total)
        after += price(factored) + (price(result) if kept else 0)
        if after < before and (best is None or after - before < best[0]):
            best = (after - before, (factored, total, kept))
    return None if best is None else best[1]


def _shared_forms(t: Expr):
    """``((factor, its indices, the others' shared indices), k)`` for each operand k of rank
    ≥ 1 of the product ``t``, its indices renamed as ``_factor`` needs (``_rest`` writes the
    other factors so, for the forms that some other term shares)."""
    ins, out = t.attrs
    if len(t.args) < 2:
        return
    carriers = Counter(x for ls in ins for x in set(ls))  # how many operands carry each index
    for k, (f, lf) in enumerate(zip(t.args, ins)):
        if not f.ndim:
            continue
        name = _names(out, lf)
        pattern = tuple(name[x] for x in lf)
        face = frozenset(name[x] for x in name if carriers[x] > (x in lf))  # on another operand
        yield (f, pattern, face), k


def _names(out, lf) -> dict:
    name = {x: ("o", j) for j, x in enumerate(out)}
    for x in lf:
        name.setdefault(x, ("f", lf.index(x)))
    return name


def _rest(t: Expr, k: int) -> list:
    """The operands of the product ``t`` but its k-th, indices renamed as ``_shared_forms``
    renames them for that factor."""
    ins, out = t.attrs
    name = _names(out, ins[k])
    return [(a, tuple(name.get(x, ("r", x)) for x in la))
            for j, (a, la) in enumerate(zip(t.args, ins)) if j != k]  # fmt: skip


def _numel(e: Expr, sizes_of) -> int:
    return _size(e.shape, {d: sizes_of(d) for d in e.shape})


def factor_sums(outputs: list[Expr], sizes_of, fixed: set, memo=None) -> list[Expr]:
    """The graph of ``outputs`` with shared factors taken out of sums where that is cheaper
    (``_factor``), bottom-up; each factored product goes into ``fixed``.  A sum may give up
    several factors (``A @ X + B @ X + C @ Y + D @ Y``), and each inner sum may factor again
    (only its new nodes are visited: ``memo`` holds every node already done)."""
    memo = {} if memo is None else memo
    sizes_of = _priced(sizes_of)
    order = _unvisited(outputs, memo)
    uses = Counter(a for n in order for a in n.args)
    for n in order:
        args = tuple(memo[a] for a in n.args)
        new = n if args == n.args else node(n.op, args, n.attrs)
        once = [uses[a] == 1 for a in n.args]
        while new.op is Op.ADD:
            found = _factor(new, once, sizes_of)
            if found is None:
                break
            product, total, kept = found
            inner = factor_sums([total], sizes_of, fixed, memo)[0]
            product = node(Op.EINSUM, tuple(inner if a is total else a for a in product.args),
                           product.attrs)  # fmt: skip
            fixed.add(product)
            once = [False] + [s for a, s in zip(new.args, once) if any(a is k for k in kept)]
            new = node(Op.ADD, (product, *kept)) if kept else product
        memo[n] = memo[new] = new
    return [memo[o] for o in outputs]


def _unvisited(roots, memo) -> list:
    """The nodes below ``roots`` not in ``memo``, children before parents (``postorder`` that
    stops at nodes already done)."""
    order, seen = [], set()
    stack = [(r, False) for r in reversed(list(roots))]
    while stack:
        n, done = stack.pop()
        if done:
            order.append(n)
        elif n not in memo and id(n) not in seen:
            seen.add(id(n))
            stack.append((n, True))
            stack.extend((a, False) for a in reversed(n.args))
    return order


def binarize(outputs: list[Expr], dims: dict | None = None, fuses=False) -> list[Expr]:
    """The graph of ``outputs`` with shared factors taken out of sums and products distributed
    over sums where cheaper, and every einsum split into pairwise products (``fuses``: for a
    compiler that fuses elementwise loops, number factors placed by ``_fused_split``)."""
    dims = dims or {}

    @_Priced
    def sizes_of(d):
        return d if isinstance(d, int) else dims.get(d, DEFAULT_DIM)

    fixed: set = set()  # factored products, never distributed back
    split = _fused_split if fuses else _split
    return _binarize(factor_sums(outputs, sizes_of, fixed), sizes_of, Counter(), {}, fixed, split)


def _binarize(outputs, sizes_of, outer_uses, memo, fixed, split=_split):
    order = postorder(outputs)
    uses = Counter(a for n in order for a in n.args) + outer_uses
    for n in order:
        if n in memo:
            continue
        spread = None
        if n.op is Op.EINSUM and n not in fixed:
            spread = _distribute(n, uses, sizes_of)
        if spread is not None:
            memo[n] = _binarize([spread], sizes_of, uses, memo, fixed, split)[0]
            continue
        args = tuple(memo[a] for a in n.args)
        if n.op is Op.EINSUM:
            memo[n] = split(n, args, sizes_of)
        elif args == n.args:
            memo[n] = n
        else:
            memo[n] = node(n.op, args, n.attrs)
    return [memo[o] for o in outputs]
