"""Results summed in place: plans of terms, blocks of products, and the loops that add them.

A result is summed into one zero array (the accumulator), term by term, when the backend can
write through views (``Backend.view``) and either

- one of its products would make an intermediate larger than a quarter of the result: the
  product is then computed in blocks along one or two of the result's indices (``_blocks``:
  the cheapest blocks whose arrays, as ``_live`` counts them, fit in what the result and its
  factors leave of ``bound``: by default the result plus the larger of the result and the
  largest input, or the user's ``memory_limit``), the loop of blocks hoists what an inner loop does not
  change (deleted after the term), and each block is added into its slice; or
- it is a sum with a term that Kronecker deltas place: that term is added onto a writable view
  of the diagonal (``np.einsum("ijil->ijl", acc)``), never as a dense copy.

``plans`` decides which outputs are summed so (``_Term`` per term), and ``accumulate`` writes
the statements.  The products inside a block are ordered by ``paths.binarize`` and printed by
the matrix printer, as everywhere else in the generated code.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import combinations, product
from string import ascii_letters

from ..build import split_coef
from ..expr import Expr, node, postorder, variables
from ..ops import Op
from ..printing.matrix import P, node_tree
from .backends import Backend
from .names import safe_name
from .paths import DEFAULT_DIM, _size, binarize, search
from .place import delta_product

MIN_BLOCK = 1 << 16  # numbers in an intermediate below which a loop of blocks is never worth it


@dataclass
class _Term:
    """One term of a result that is summed in place (``accumulate``).

    ``product``: an einsum of ``ops`` (its factors, deltas taken out) into its labels ``keep``,
    times ``coef``, added to ``view`` (``(spec, labels)``: the accumulator itself when spec is
    empty, else the einsum view that the deltas pick, e.g. ``"ijil->ijl"``), in blocks of
    ``blocks[label]`` along the labels in ``blocks``.  ``dense``: any other term, added whole.
    """

    expr: Expr
    ops: list = field(default_factory=list)
    keep: tuple = ()
    coef: float = 1.0
    view: tuple = ("", ())
    blocks: dict = field(default_factory=dict)

    @property
    def needs(self) -> list:
        """The arrays computed before the term's statement (its factors, or itself)."""
        return [a for a, _ in self.ops] if self.ops else [self.expr]


def _arrays(groups: list, out: tuple, sizes: dict) -> tuple:
    """``(largest, made, cost)`` of contracting ``groups`` in the best order (``search``): the
    size of its largest intermediate (0 when there is none), the arrays it makes (``_walk``)
    and its operation count."""
    cost, tree = search(groups, out, sizes)
    made = _walk(tree, groups, out, sizes)[0]
    return max((m[0] for m in made[:-1]), default=0), made, cost


def _walk(tree, groups: list, out: tuple, sizes: dict) -> tuple:
    """``(made, cost)`` of contracting ``groups`` along ``tree``: ``(size, labels, parts,
    sums)`` of every array it makes, in the order made (the result last; ``parts``: the
    positions in ``made`` of the two arrays it is made of, None for an operand; ``sums``:
    whether making it sums over an index), and its operation count (a pair costs the indices
    of its two operands, as ``search`` counts)."""
    steps = _steps(tree, tuple(groups), tuple(out))
    made = [(_size(labels, sizes), labels, parts, pair > labels) for labels, pair, parts in steps]
    return made, sum(_size(pair, sizes) for _, pair, _ in steps)


@lru_cache(maxsize=4096)
def _steps(tree, groups: tuple, out: tuple) -> tuple:
    """The arrays that contracting ``groups`` along ``tree`` makes: ``(labels, pair, parts)``
    each (``pair``: the indices of its two operands, what making it costs)."""
    if len(groups) == 1:
        return ((frozenset(out), frozenset(groups[0]), (None, None)),)
    steps = []

    def kept(leaves):  # a subtree's result: its indices needed by the result or other operands
        inside = {x for k in leaves for x in groups[k]}
        others = (groups[k] for k in range(len(groups)) if k not in leaves)
        return frozenset(inside & set(out).union(*others))

    def walk(t):
        if isinstance(t, int):
            return {t}, None
        (l1, k1), (l2, k2) = walk(t[0]), walk(t[1])
        steps.append((kept(l1 | l2), kept(l1) | kept(l2), (k1, k2)))
        return l1 | l2, len(steps) - 1

    walk(tree)
    return tuple(steps)


def _live(made: list, loops: list) -> int:
    """The most numbers that one block's arrays hold at once, its loops running over
    ``loops`` (outermost first).  An array that an inner loop does not change is hoisted: it
    stays bound, and its next value is made while the last is still bound.  The others are
    temporaries of the block's statement, each freed once the array made of it is made (in
    either order of the two parts).  A part that is itself made of an intermediate may come
    out of einsum in an order that tensordot copies before it sums: counted once more there.
    (Within 0.03 of the result of tracemalloc's peaks on the MLP Hessian's block shapes.)"""
    level = {x: k + 1 for k, x in enumerate(loops)}
    hoisted = [
        k for k, (_, labels, *_) in enumerate(made[:-1])
        if max((level[x] for x in labels if x in level), default=0) < len(loops)
    ]  # fmt: skip

    def temp(k):  # (size, peak) of array k as a temporary of the statement that uses it
        if k is None or k in hoisted:
            return 0, 0
        return made[k][0], peak(k)

    def peak(k):  # the most held while array k is made, its parts as temporaries
        (s1, p1), (s2, p2) = (temp(j) for j in made[k][2])
        mixed = [made[j][0] for j in made[k][2] if j is not None and made[j][2] != (None, None)]
        copy = max(mixed, default=0) if made[k][3] else 0
        return max(p1 + s2, p2 + s1, s1 + s2 + copy + made[k][0])

    bound = sum(made[k][0] for k in hoisted)
    return bound + max(peak(k) for k in [*hoisted, len(made) - 1])


def _lengths(n: int) -> list:
    """The block lengths tried for an index of length n (n itself first): n split into 1, 2,
    3, 4, 6, 8, 12, 16, ... nearly equal blocks (each length once), and 1."""
    out, count = [], 1
    while count <= n:
        length = -(-n // count)
        if not out or length < out[-1]:
            out.append(length)
        count = count + 1 if count < 4 else count * 3 // 2 if count % 4 == 0 else count * 4 // 3
    return out + [1] if out[-1] > 1 else out


MARGIN = 0.1  # the share of the result kept free of what one block's arrays hold at once
PER_BLOCK = 500_000  # the Python and call overhead of one product of one block, in operations
PER_NUMBER = 8  # what writing one number of an array costs, in operations (memory, not BLAS)
PER_RUN = 1000  # what a block's short runs cost, in operations per run (measured on the MLP)
MAX_LOOPS = 2  # output labels blocked at once, unless no shape over fewer fits the budget
CHECKED = 12  # block shapes whose contraction order is searched, at most


def _blocks(groups: list, out: tuple, sizes: dict, budget: int) -> dict:
    """Block lengths for some output labels (slicing an output index needs no sum across
    blocks) such that the arrays that one block holds at once (``_live``) stay within
    ``budget``, at the least total cost: the operations of every block, the numbers its arrays
    write, the overhead of its calls and of short runs in the result.  Block lengths from
    ``_lengths``; shapes over at most ``MAX_LOOPS`` labels (more if none fits) are ranked along
    the contraction orders that ``search`` picks for a few of them, then checked in that
    order with their own; when none fits, the shape that holds the least."""
    labels = [x for x in out if sizes[x] > 1]

    def count(blocks):
        c = 1
        for x, n in blocks.items():
            c *= -(-sizes[x] // n)
        return c

    def measure(blocks, made, cost):
        run = 1  # the numbers that a block adds to the result in one contiguous run
        for x in reversed(out):
            run *= blocks.get(x, sizes[x])
            if x in blocks:
                break
        written = PER_NUMBER * sum(m[0] for m in made)
        total = count(blocks) * (cost + written + overhead) + PER_RUN * _size(out, sizes) // run
        return _live(made, [x for x in out if x in blocks]), total

    overhead = PER_BLOCK * len(groups)
    trees = {search(groups, out, sizes)[1]}  # the orders of the whole and of a few shapes
    for chosen in (c for k in range(1, MAX_LOOPS + 1) for c in combinations(labels, k)):
        probe = {x: _lengths(sizes[x])[len(_lengths(sizes[x])) // 2] for x in chosen}
        trees.add(search(groups, out, {**sizes, **probe})[1])
    best, least = None, None
    for loops in range(len(labels) + 1):
        if best is not None and loops > MAX_LOOPS:
            break
        ranked = []
        for chosen in combinations(labels, loops):
            for lengths in product(*(_lengths(sizes[x])[1:] for x in chosen)):
                blocks = dict(zip(chosen, lengths))
                shape = {**sizes, **blocks}
                live, total = min(measure(blocks, *_walk(t, groups, out, shape)) for t in trees)
                ranked.append((live > budget, total if live <= budget else live, blocks))
        ranked.sort(key=lambda r: r[:2])
        for over, guess, blocks in ranked[:CHECKED]:
            if over and (best is not None or loops < len(labels)):
                break  # none fits along the orders known: more labels
            if best is not None and not over and guess >= best[0]:
                break
            live, total = measure(blocks, *_arrays(groups, out, {**sizes, **blocks})[1:])
            if live <= budget and (best is None or total < best[0]):
                best = (total, blocks)
            least = min(least or (live, total, blocks), (live, total, blocks), key=lambda r: r[:2])
    return best[1] if best is not None else least[2] if least is not None else {}


def bound(o: Expr, dims, limit=None) -> int:
    """The numbers that computing ``o`` may hold at once, the result included: ``limit`` when
    the user sets one (``memory_limit``), else the result plus the larger of the result and
    the largest input (a temporary the size of an input costs nothing a user would notice;
    blocks that save one cost time).

    >>> import tensorcalc as tc
    >>> bound(tc.parse("X' @ X", {"X": (2000, 200)}), {})  # 200 x 200 + 2000 x 200
    440000
    >>> bound(tc.parse("X' @ X", {"X": (2000, 200)}), {}, limit=100_000)
    100000
    """
    if limit is not None:
        return limit
    result = numel(o, dims)
    return result + max([result, *(numel(v, dims) for v in variables(o).values())])


def plans(outputs: list, backend: Backend, dims, limit=None) -> dict:
    """For each output to be summed in place: its terms (``_Term``).  An output is, when the
    backend can write through views, if one of its products would make an intermediate larger
    than a quarter of it, or than ``bound`` leaves (it is then computed in blocks), or if it
    is a sum with a term that Kronecker deltas place (added onto the diagonal view instead of
    a dense copy).  ``limit``: the numbers a result may hold at once (``memory_limit``).

    >>> import tensorcalc as tc
    >>> from tensorcalc.codegen.backends.numpy import BACKEND
    >>> shapes = {"W1": ("h", "d"), "W2": ("o", "h"), "X": ("d", "N")}
    >>> f = tc.parse("norm(W2 @ tanh(W1 @ X) - T)^2", shapes)
    >>> hess = tc.derivative(f, "W1", order=2)
    >>> terms = plans([hess], BACKEND, {"h": 20, "d": 30, "o": 10, "N": 1000})[0]
    >>> [t.blocks for t in terms]  # the second term in 4 x 6 blocks of 5 x 5 x 20 x 30
    [{0: 4}, {0: 5, 1: 5}]
    """
    if not backend.view:
        return {}
    plans = {}
    for k, o in enumerate(outputs):
        if o.ndim < 2 or o.op not in (Op.ADD, Op.EINSUM):
            continue
        found = [_term(t, dims or {}) for t in (o.args if o.op is Op.ADD else [o])]
        terms = [t for t, _ in found]
        result = numel(o, dims)
        # what the factors computed before the terms hold: the blocks get the rest of the
        # bound, never less than two arrays of MIN_BLOCK (smaller blocks cost more than they
        # save), and as much as the factors hold when that alone is out of reach; a bound the
        # user sets is kept to, with the smallest blocks when none fits
        held = {a for t in terms for a, _ in t.ops if a.op not in (Op.VAR, Op.CONST)}
        held = sum(numel(a, dims) for a in held)
        free = int(bound(o, dims, limit) - result * (1 + MARGIN)) - held
        if limit is None:
            budget = max(free, held if free < 0 else 0, result // 4, 2 * MIN_BLOCK)
            over = max(result // 4, MIN_BLOCK)
        else:
            budget = over = max(free, 1)
        for t, sizes in found:  # the terms whose intermediates would outgrow a quarter of o
            groups = [ls for _, ls in t.ops]
            if sizes and _arrays(groups, t.keep, sizes)[0] > over:
                t.blocks = _blocks(groups, t.keep, sizes, budget)
        if any(t.blocks or t.view[0] for t in terms):
            plans[k] = terms
    return plans


def _term(t: Expr, dims: dict) -> tuple:
    """The term ``t`` (``_Term``, no blocks yet) and, when its product might be computed in
    blocks, the sizes of its labels (else None)."""
    c, core = split_coef(t)
    if core.op is not Op.EINSUM or any(a.op is Op.SELECT for a in core.args):
        return _Term(t), None  # added whole (a selection is applied as indexing: place.py)
    ins, out = core.attrs
    ops = list(zip(core.args, ins))
    view = ("", out)
    placed = delta_product(core, Counter())
    if placed is not None:
        ops, rep = placed
        first = tuple(dict.fromkeys(rep[x] for x in out))  # the view's labels
        letter = {x: ascii_letters[k] for k, x in enumerate(dict.fromkeys(out))}
        view = ("".join(letter[rep[x]] for x in out) + "->" + "".join(letter[x] for x in first),
                first)  # fmt: skip
    for a, ls in [(a, ls) for a, ls in ops if a.op is Op.CONST and not ls]:
        c *= a.attrs[0]
        ops.remove((a, ls))
    if not ops:
        return _Term(t), None  # deltas alone: where(mask, 1)
    carried = {x for _, ls in ops for x in ls}
    keep = tuple(x for x in view[1] if x in carried)
    sizes = _known({x: d for a, ls in ops for x, d in zip(ls, a.shape)}, dims)
    term = _Term(t, ops, keep, c, view)
    if len(ops) < 3 or _is_gram(ops, keep):
        return term, None
    return term, sizes


def numel(a: Expr, dims) -> int:
    """The numbers in ``a`` (symbolic dimensions at their bound or assumed sizes).

    >>> import tensorcalc as tc
    >>> numel(tc.parse("A", {"A": ("n", 3)}), {"n": 5}), numel(tc.parse("x", {"x": ("n",)}), {})
    (15, 100)
    """
    return _size(range(a.ndim), _known(dict(enumerate(a.shape)), dims))


def _known(sizes: dict, dims) -> dict:
    """``sizes`` with symbolic dimensions replaced by their bound (or assumed) sizes."""
    return {
        x: d if isinstance(d, int) else (dims or {}).get(d, DEFAULT_DIM) for x, d in sizes.items()
    }


def _is_gram(ops, keep) -> bool:
    """X' diag(d) X, d a product of vectors (its own helper, a symmetric product that works in
    blocks of rows)."""
    mats = [(a, ls) for a, ls in ops if a.ndim == 2]
    if len(keep) != 2 or len(mats) != 2 or mats[0][0] is not mats[1][0]:
        return False
    (_, la), (_, lb) = mats
    vectors = [ls for a, ls in ops if a.ndim == 1]
    return (
        la[0] == lb[0]
        and {la[1], lb[1]} == set(keep)
        and len(vectors) == len(ops) - 2
        and all(ls == (la[0],) for ls in vectors)
    )


def accumulate(acc, o, terms, renderer, built, sub, dims, taken, params) -> list:
    """Statements that sum ``o``'s terms into one zero array ``acc``, in place: each product
    block by block (``for i in range(0, d_h, 4): acc[i:i + 4] += ...``), each term that deltas
    place through a writable view of the diagonal, and the others whole.

    >>> import tensorcalc as tc
    >>> shapes = {"W1": ("h", "d"), "W2": ("o", "h"), "X": ("d", "N")}
    >>> f = tc.parse("norm(W2 @ tanh(W1 @ X) - T)^2", shapes)
    >>> dims = {"h": 20, "d": 30, "o": 10, "N": 1000}
    >>> src = tc.codegen(tc.derivative(f, "W1", order=2), dims=dims)
    >>> [line.strip() for line in src.splitlines() if line.strip().startswith("for ")][:3]
    ['for i in range(0, d_h, 4):', 'for i in range(0, d_h, 5):', 'for j in range(0, d_d, 5):']
    """
    b = renderer.b
    shape = ", ".join(renderer.r_dim(P("dim", (), d)) for d in o.shape)
    inputs = ", ".join(params[v] for v in sorted(variables(o)))
    lines = [f"    {acc} = " + b.accumulator.format(f"({shape})", inputs)]
    names: dict = {"b": []}  # loop variables by axis, and the blocks' hoisted products
    for t in terms:
        if not t.ops:
            lines.append(f"    {acc} += {renderer.render(sub(built[t.expr], False))}")
            continue
        letters = "ijkmnpqr"  # no l (ruff's E741)
        loop = {x: names.setdefault(k, safe_name(letters[k % 8], taken, internal=True))
                for k, x in enumerate(t.view[1]) if x in t.blocks}  # fmt: skip
        length = {x: d for a, ls in t.ops for x, d in zip(ls, a.shape)}
        headers, bdims = [], dict(dims or {})
        for x, v in loop.items():
            n = renderer.r_dim(P("dim", (), length[x]))
            headers.append(f"for {v} in range(0, {n}, {t.blocks[x]}):")
            bdims[f"<{v}>"] = t.blocks[x]  # a block's length (no dimension name has brackets)
            renderer.dims[f"<{v}>"] = f"min({t.blocks[x]}, {n} - {v})"
        level = {x: k + 1 for k, x in enumerate(loop)}  # the loop that slices each label

        def items(labels):
            out = [f"{loop[x]}:{loop[x]} + {t.blocks[x]}" if x in loop else ":" for x in labels]
            while out and out[-1] == ":":
                out.pop()
            return "[" + ", ".join(out) + "]" if out else ""

        factors, depth = [], {}
        sizes = {x: t.blocks.get(x, d) for a, ls in t.ops for x, d in zip(ls, a.shape)}
        smallest = min(range(len(t.ops)), key=lambda k: _size(t.ops[k][1], _known(sizes, dims)))
        for k, (a, ls) in enumerate(t.ops):
            text = renderer.render(sub(built[a], False))
            text = text if text.isidentifier() else f"({text})"  # a scalar sum too: (1 - t) * x
            text += items(ls)
            if k == smallest and t.coef != 1.0:  # the coefficient scales the smallest factor
                text = f"({float(t.coef)!r} * {text})"
            shape = tuple(f"<{loop[x]}>" if x in loop else d for x, d in zip(ls, a.shape))
            factors.append(node(Op.VAR, (), (text, shape)))
            depth[factors[-1]] = max([level[x] for x in ls if x in level], default=0)
        if len(t.ops) == 1 and t.ops[0][1] == t.keep:
            block = factors[0]
        else:
            block = node(Op.EINSUM, tuple(factors), (tuple(ls for _, ls in t.ops), t.keep))
            block = binarize([block], bdims)[0]
        hoisted, inner = {}, [[] for _ in range(len(loop) + 1)]

        def plain(a, ok):
            if a.op is Op.VAR or a in hoisted:
                return P("var", (), a.attrs[0] if a.op is Op.VAR else hoisted[a], a.ndim)
            return node_tree(a, ok, plain)

        for n in postorder([block]):
            depth.setdefault(n, max(depth[a] for a in n.args) if n.args else 0)
        for n in postorder([block]):  # a product that an inner loop does not change: hoisted
            if n is not block and n.op is not Op.VAR and n.args and depth[n] < depth[block]:
                code = renderer.render(node_tree(n, False, plain))
                hoisted[n] = safe_name(f"b{len(names['b'])}", taken, internal=True)
                names["b"].append(hoisted[n])
                inner[depth[n]].append(f"{hoisted[n]} = {code}")
        inside = [hoisted[n] for n in hoisted if depth[n] > 0]
        if inside:  # bound before the loops, so that del works when a loop runs zero times
            inner[0].insert(0, " = ".join(inside) + " = None")
        indent = "    "
        for k, header in enumerate(headers + [None]):
            lines += [indent + x for x in inner[k]]
            if header is not None:
                lines.append(indent + header)
                indent += "    "
        p = node_tree(block, False, plain)
        index = [":" if x in t.keep else "None" for x in t.view[1]]
        while index and index[0] == "None":
            index.pop(0)
        code = renderer.render(p) if "None" not in index else (
            renderer.wrap(p, 51) + "[" + ", ".join(index) + "]")  # fmt: skip
        target = b.view.format(acc, spec=repr(t.view[0])) if t.view[0] else acc
        target += items(t.view[1]) or ("[...]" if t.view[0] else "")
        lines.append(f"{indent}{target} += {code}")
        if hoisted:  # freed before the next term's blocks
            lines.append("    del " + ", ".join(hoisted.values()))
    return lines
