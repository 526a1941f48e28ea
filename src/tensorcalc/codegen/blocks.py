"""Results summed in place: plans of terms, blocks of products, and the loops that add them.

A result is summed into one zero array (the accumulator), term by term, when the backend can
write through views (``Backend.view``) and either

- one of its products would make an intermediate larger than a quarter of the result: the
  product is then computed in blocks along some of the result's indices (``_blocks`` halves
  the index that brings the arrays over budget at the least total cost), the loop of blocks
  hoists what an inner loop does not change, and each block is added into its slice; or
- it is a sum with a term that Kronecker deltas place: that term is added onto a writable view
  of the diagonal (``np.einsum("ijil->ijl", acc)``), never as a dense copy.

``plans`` decides which outputs are summed so (``_Term`` per term), and ``accumulate`` writes
the statements.  The products inside a block are ordered by ``paths.binarize`` and printed by
the matrix printer, as everywhere else in the generated code.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
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
    """``(largest, made, cost)`` of contracting ``groups`` in the best order: the size of its
    largest intermediate (0 when there is none), the sizes of every array it makes (the result
    last) and its operation count."""
    cost, tree = search(groups, out, sizes)
    made = []

    def walk(t):
        if isinstance(t, int):
            return {t}
        leaves = walk(t[0]) | walk(t[1])
        inside = {x for k in leaves for x in groups[k]}
        outside = set(out).union(*(groups[k] for k in range(len(groups)) if k not in leaves))
        made.append(_size(inside & outside, sizes))
        return leaves

    walk(tree)
    made = made[:-1] + [_size(out, sizes)]
    return max(made[:-1], default=0), made, cost


PER_BLOCK = 500_000  # the Python and call overhead of one product of one block, in operations


def _blocks(groups: list, out: tuple, sizes: dict, budget: int) -> dict:
    """Block sizes for some output labels such that no array that one block makes is larger
    than ``budget`` (slicing an output index needs no sum across blocks).  Each step halves
    the label that brings the arrays over budget down at the least total cost (operations of
    every block, overhead included: a label that every large array carries costs nothing)."""

    def measure(blocks):
        _, made, cost = _arrays(groups, out, {**sizes, **blocks})
        count = 1
        for x, n in blocks.items():
            count *= -(-sizes[x] // n)
        return sum(max(0, m - budget) for m in made), count * (cost + PER_BLOCK * len(groups))

    blocks: dict = {}
    over = measure(blocks)[0]
    while over > 0:
        trials = []
        for k, x in enumerate(out):
            n = blocks.get(x, sizes[x])
            if n > 1:
                o, c = measure({**blocks, x: (n + 1) // 2})
                if o < over:
                    trials.append((c, o, k))
        if not trials:
            break
        _, over, k = min(trials)
        blocks[out[k]] = (blocks.get(out[k], sizes[out[k]]) + 1) // 2
    return blocks


def plans(outputs: list, backend: Backend, dims) -> dict:
    """For each output to be summed in place: its terms (``_Term``).  An output is, when the
    backend can write through views, if one of its products would make an intermediate larger
    than a quarter of it (it is then computed in blocks), or if it is a sum with a term that
    Kronecker deltas place (added onto the diagonal view instead of a dense copy).

    >>> import tensorcalc as tc
    >>> from tensorcalc.codegen.backends.numpy import BACKEND
    >>> shapes = {"W1": ("h", "d"), "W2": ("o", "h"), "X": ("d", "N")}
    >>> f = tc.parse("norm(W2 @ tanh(W1 @ X) - T)^2", shapes)
    >>> hess = tc.derivative(f, "W1", order=2)
    >>> terms = plans([hess], BACKEND, {"h": 20, "d": 30, "o": 10, "N": 1000})[0]
    >>> [t.blocks for t in terms]  # the second term in blocks of 5 x 15 x 5 x 15
    [{0: 3}, {1: 15, 0: 5, 3: 15, 2: 5}]
    """
    if not backend.view:
        return {}
    plans = {}
    for k, o in enumerate(outputs):
        if o.ndim < 2 or o.op not in (Op.ADD, Op.EINSUM):
            continue
        terms = [_term(t, o, dims or {}) for t in (o.args if o.op is Op.ADD else [o])]
        if any(t.blocks or t.view[0] for t in terms):
            plans[k] = terms
    return plans


def _term(t: Expr, o: Expr, dims: dict) -> _Term:
    c, core = split_coef(t)
    if core.op is not Op.EINSUM or any(a.op is Op.SELECT for a in core.args):
        return _Term(t)  # added whole (a selection is applied as indexing: place.py)
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
        return _Term(t)  # deltas alone: where(mask, 1)
    carried = {x for _, ls in ops for x in ls}
    keep = tuple(x for x in view[1] if x in carried)

    def size(d):
        return d if isinstance(d, int) else dims.get(d, DEFAULT_DIM)

    sizes = {x: size(d) for a, ls in ops for x, d in zip(ls, a.shape)}
    # blocks of at most a quarter of the result: a block's product is made, transposed and
    # added, so two or three of them live at once
    budget = max(_size(range(o.ndim), dict(enumerate(size(d) for d in o.shape))) // 4, MIN_BLOCK)
    groups = [ls for _, ls in ops]
    if len(groups) < 3 or _arrays(groups, keep, sizes)[0] <= budget or _is_gram(ops, keep):
        return _Term(t, ops, keep, c, view)
    return _Term(t, ops, keep, c, view, _blocks(groups, keep, sizes, budget))


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
    ['for i in range(0, d_h, 3):', 'for i in range(0, d_h, 5):', 'for j in range(0, d_d, 15):']
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
    return lines
