"""Selections and Kronecker deltas placed, never multiplied.

A selection ``S`` (``SELECT``: ``S[p, q] = 1`` where ``q = start + step·p``, from ``x[::-1]``)
and a Kronecker delta (``EYE``, the selection with ``start = 0``, ``step = 1``) are index maps.
A dense 0/1 matrix in a product would cost memory (50,000² entries for ``x[::-1]`` at 50,000)
and turn an inf or NaN into NaN wherever it meets a 0 (``inf · 0``).  So the code generator
applies them as the reference evaluator does (``numeric.evaluate._select_einsum``), one map at
a time, in operand order:

* summed over its column ``q``: the other operands' ``q`` axes are indexed, ``x[4::-1]``
  (a gather; for a delta, a relabelling);
* summed over its row ``p``: the rest of the product is computed with ``p`` in ``q``'s place,
  then written into zeros at the selected positions, ``_scatter(x, axis, n, start, step)``;
* both in the result: the rest is placed where ``q = start + step·p``, zeros elsewhere:
  ``_place(x, p_axis, q_axis, n, start, step)`` (NumPy writes through a strided view of zeros,
  PyTorch scatters, the others take ``where`` of a mask), or ``diag(x)`` for a delta in a
  matrix (``s · I`` is ``diag(s · ones)``);
* only in this operand: a row sum of ``S`` is 1 (``ones``), a column sum the indicator of the
  selected columns (a scatter of ones).

``product_tree`` returns the print tree of such a product; what is left once the maps are
applied is an ordinary product, printed by the matrix printer.  Products of deltas of rank 3
and more are also written by ``delta_product`` (one ``where`` with all the deltas' masks, or
an addition onto a diagonal view), which the code generator prefers where the backend has it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from itertools import count

from ..expr import Expr, node, postorder
from ..ops import Op
from ..printing.matrix import P, call, node_tree


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

    >>> from collections import Counter
    >>> import tensorcalc as tc
    >>> d = tc.derivative(tc.parse("A @ X", {"A": (3, 4), "X": (4, 2)}), "A")  # δ_ik X_lj
    >>> core, rep = delta_product(d, Counter())
    >>> [(a.name, labels) for a, labels in core], rep
    ([('X', (3, 1))], {0: 0, 1: 1, 2: 0, 3: 3})
    """
    if not _has_delta(e) or e.ndim < 3 or any(a.op is Op.SELECT for a in e.args):
        return None
    ins, out = e.attrs
    todo, ops = list(zip(e.args, ins)), []
    fresh = count(1 + max(x for ls in ins for x in ls))
    while todo:
        a, ls = todo.pop()
        if uses[a] != 1 or not _has_delta(a) or any(b.op is Op.SELECT for b in a.args):
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


def has_map(e: Expr) -> bool:
    """Whether einsum ``e`` has an operand to apply as indexing: a selection or a delta.

    >>> import tensorcalc as tc
    >>> has_map(tc.derivative(tc.parse("tr(A)^2", {"A": (2, 2)}), "A"))  # 2 tr(A) I
    True
    """
    return e.op is Op.EINSUM and any(
        a.op is Op.SELECT or _is_delta(a, ls) for a, ls in zip(e.args, e.attrs[0])
    )


@dataclass(frozen=True)
class _Map:
    """``S[p, q] = 1`` where ``q = start + step·p`` (``p < m``, ``q < n``): a selection, or the
    identity (``EYE``, ``m = n`` possibly symbolic)."""

    m: object
    n: object
    start: int = 0
    step: int = 1
    identity: bool = False

    @staticmethod
    def of(a: Expr) -> _Map:
        if a.op is Op.EYE:
            return _Map(a.shape[0], a.shape[0], identity=True)
        return _Map(*a.attrs)

    def items(self) -> str:
        """The slice that gathers the selected entries of an axis: ``"4::-1"``, ``"1:4"``."""
        stop = self.start + self.m * self.step
        text = f"{self.start}:{stop if stop >= 0 else ''}"
        return text + (f":{self.step}" if self.step != 1 else "")

    def then(self, other: _Map) -> _Map:
        """The rows of ``other`` at this map's columns (``Σ_q S[p, q] T[q, r]``)."""
        if other.identity:
            return self
        return _Map(self.m, other.n, other.start + other.step * self.start, other.step * self.step)

    def dense(self) -> P:
        """The 0/1 matrix itself, for the products no rule above covers (``S[p, p]``)."""
        if self.identity:
            return call("eye", _dim(self.n), rank=2)
        return call("select", *(_dim(v) for v in (self.m, self.n, self.start, self.step)), rank=2)


def _dim(v) -> P:
    return P("dim", (), v)


def _ones(m) -> P:
    return call("ones", _dim(m), rank=1)


def product_tree(e: Expr, sub) -> P:
    """The print tree of einsum ``e`` with its selections and deltas applied as indexing,
    scatters and placements (see the module docstring); ``sub(arg, bcast_ok)`` gives the trees
    of its other operands, as for ``printing.matrix.node_tree``.

    >>> import tensorcalc as tc
    >>> from tensorcalc.printing.matrix import to_tree
    >>> from tensorcalc.printing.text import to_text
    >>> d = tc.derivative(tc.parse("sum(x[::2] * y)", {"x": (5,), "y": (3,)}), "x")
    >>> to_text(d), product_tree(d, to_tree).value[0]
    ("select(3, 5, 0, 2)' @ y", 'scatter')
    """
    ins, out = e.attrs
    sizes, ops = {}, []
    for a, ls in zip(e.args, ins):
        sizes.update(zip(ls, a.shape))
        ops.append((_Map.of(a) if a.op is Op.SELECT or _is_delta(a, ls) else a, tuple(ls)))
    return _Placer(sub, sizes).product(ops, tuple(out))


class _Placer:
    """``product`` of operands that are expressions, print trees or index maps (``_Map``)."""

    def __init__(self, sub, sizes: dict):
        self.sub = sub
        self.sizes = sizes  # label -> length

    def product(self, ops: list, out: tuple) -> P:
        k = next((k for k, (x, _) in enumerate(ops) if isinstance(x, _Map)), None)
        if k is None:
            return self.plain(ops, out)
        sel, (p, q) = ops[k]
        others = ops[:k] + ops[k + 1 :]
        carried = {x for _, ls in others for x in ls}
        rank = len(out)
        if p == q:  # the diagonal of S: rare, the 0/1 matrix
            return self.product(others + [(sel.dense(), (p, q))], out)
        if q not in out and q not in carried:  # Σ_q S[p, q] = 1
            return self.product(others + [(_ones(sel.m), (p,))], out)
        if q not in out:  # Σ_q S[p, q] A[.., q, ..] = A[.., idx[p], ..]
            return self.product(self.take(others, sel, p, q, out), out)
        if p not in out and p not in carried:  # Σ_p S[p, q]: the selected columns
            ones = call(
                "scatter", _ones(sel.m), *map(_dim, (0, sel.n, sel.start, sel.step)), rank=1
            )
            return self.product(others + [(ones, (q,))], out)
        if p not in out:  # Σ_p S[p, q] g[.., p, ..]: g written at q = idx[p]
            if sel.identity:
                return self.product([(x, _rename(ls, p, q)) for x, ls in others], out)
            part = self.product(self.take(others, sel, p, q, out), _rename(out, q, p))
            where = (out.index(q), sel.n, sel.start, sel.step)
            return call("scatter", part, *map(_dim, where), rank=rank)
        # S[p, q] rest[.., p, ..] with both in the result: rest placed where q = idx[p]
        others = self.take(others, sel, p, q, out)
        if p not in {x for _, ls in others for x in ls}:
            others.append((_ones(sel.m), (p,)))
        inner = tuple(x for x in out if x != q)
        part = self.product(others, inner)
        if sel.identity and rank == 2:  # a delta in a matrix: diag(v) places v
            return call("diag", part, rank=2)
        where = (inner.index(p), out.index(q), sel.n, sel.start, sel.step)
        return call("place", part, *map(_dim, where), rank=rank)

    def take(self, ops: list, sel: _Map, p, q, out: tuple) -> list:
        """The operands at ``q = idx[p]``: their ``q`` axes indexed and named ``p`` (an axis of
        length 1 that nothing else reads is indexed away: ``x[0]``)."""
        readers = Counter(y for _, ls in ops for y in set(_rename(ls, q, p)))
        taken = []
        for x, ls in ops:
            if q not in ls or sel.identity:
                taken.append((x, _rename(ls, q, p)))
                continue
            if isinstance(x, _Map) and ls[0] == q != ls[1]:
                taken.append((sel.then(x), _rename(ls, q, p)))
                continue
            tree = (
                x.dense() if isinstance(x, _Map) else x if isinstance(x, P) else self.sub(x, False)
            )
            drop = sel.m == 1 and p not in out and readers[p] == 1 and ls.count(q) == 1
            items = [(str(sel.start) if drop else sel.items()) if y == q else ":" for y in ls]
            while items[-1] == ":":
                items.pop()
            labels = tuple(y for y in ls if y != q) if drop else _rename(ls, q, p)
            taken.append((P("index", (tree,), tuple(items), len(labels)), labels))
        return taken

    def plain(self, ops: list, out: tuple) -> P:
        """An ordinary product, printed by the matrix printer with trees as leaves."""
        if len(ops) == 1 and ops[0][1] == out:
            x = ops[0][0]
            return x if isinstance(x, P) else self.sub(x, False)
        trees, args = {}, []
        for k, (x, ls) in enumerate(ops):
            if isinstance(x, P):
                shape = tuple(self.sizes[y] for y in ls)
                x = node(Op.VAR, (), (f"<placed {k}>", shape))
                trees[x] = ops[k][0]
            args.append(x)
        e = node(Op.EINSUM, tuple(args), (tuple(ls for _, ls in ops), out))

        def sub(a, ok):
            if a in trees:
                return trees[a]
            if any(n in trees for n in postorder([a])):  # a scaled product's core, say
                return node_tree(a, ok, sub)
            return self.sub(a, ok)

        return node_tree(e, False, sub)


def _rename(labels: tuple, old, new) -> tuple:
    return tuple(new if x == old else x for x in labels)
