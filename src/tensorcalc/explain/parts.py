"""Named parts: which subexpressions an explanation names (``let E = X - U @ V``).

A student names the inner functions of a composition (seed 000: u = x⁴, v = sin(u)) and the
argument of a norm or determinant (E = X − UV), but not the sums and products that the sum and
product rules take apart in place.  On the IR that is: the root; every nonlinear node (an
elementwise function, a power, a matrix function) that is an operand of another node; every
node used twice; and, in the chain-rule styles, the compound argument of a nonlinear
function (in the backprop style only of a matrix function, so that seed 002's
a = (w + x + y + z)² is one node of its graph).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ..build import substitute, var
from ..expr import Expr, postorder, variables
from ..ops import BINARY, KIND, LEAF, STRUCT, UNARY, Op
from ..printing.where import fresh_name

SCALAR_NAMES = "uvwpqrstghkabcm"
VECTOR_NAMES = "erstuvwzpqgh"
MATRIX_NAMES = "EFGHKMNPQRSTWZ"


def nonlinear(op: Op) -> bool:
    kind = KIND[op]
    return kind in (UNARY, BINARY) or (kind == STRUCT and op not in (Op.EINSUM, Op.ADD))


@dataclass(eq=False)
class Part:
    node: Expr  # the subexpression, in the user's variables
    name: str
    var: Expr  # a variable of the same shape standing for it
    subs: list = field(default_factory=list)  # the named parts directly below
    local: Expr | None = None  # node with its direct sub-parts replaced by their variables


def depends(f: Expr, xs) -> set:
    dep = set()
    for n in postorder([f]):
        if n in xs or any(a in dep for a in n.args):
            dep.add(n)
    return dep


def choose(
    f: Expr,
    xs,
    backprop=False,
    root_name="f",
    index=False,
    pool=None,
    key=None,
    avoid=(),
    given=None,
) -> list:
    """The named parts of ``f`` (children first, the root last) for variables ``xs``.

    ``index=True`` names every compound factor, so that f reads as sums of products of
    named tensors (the products inside a sum are written out).  ``given`` maps nodes to the
    names the user gave them (``... where a = ...``): those are parts, with those names.
    """
    given = {n: name for n, name in (given or {}).items() if n is not f}
    dep = depends(f, xs)
    order = postorder([f])
    uses = Counter(a for n in order for a in n.args)
    chosen = {f}
    for n in order:
        if index and n in dep:
            inline = n.op is Op.ADD
            chosen.update(
                a for a in n.args
                if a in dep and KIND[a.op] != LEAF and not (inline and a.op is Op.EINSUM)
            )  # fmt: skip
            continue
        if n not in dep or KIND[n.op] == LEAF:
            continue
        if uses[n] >= 2 or (nonlinear(n.op) and uses[n] and n.op is not Op.DIV):
            chosen.add(n)
        if nonlinear(n.op) and (not backprop or KIND[n.op] == STRUCT or n.op is Op.DIV):
            chosen.update(a for a in n.args if a in dep and KIND[a.op] != LEAF)
    chosen |= {n for n in given if n in dep and KIND[n.op] != LEAF}
    taken = set(variables(f)) | set(given.values())
    root_name = root_name if root_name not in taken else root_name + "_"
    taken |= {root_name} | set(avoid)
    parts = {}
    for n in topo([n for n in order if n in chosen], key or (lambda n: 0)):
        name = root_name if n is f else given.get(n) or _fresh(n, taken, pool)
        taken.add(name)
        parts[n] = Part(n, name, var(name, n.shape))
    for p in parts.values():
        p.subs = _direct(p.node, parts)
        p.local = substitute(p.node, {s.node: s.var for s in p.subs}) if p.subs else p.node
    return list(parts.values())


def topo(nodes: list, key, reverse: bool = False) -> list:
    """``nodes`` with every node after the nodes below it (before, with ``reverse``); ties go
    to the smaller ``key`` (the input's reading order)."""
    inside = set(nodes)
    below = {n: {m for m in postorder([n]) if m in inside and m is not n} for n in nodes}
    if reverse:
        below = {n: {m for m in nodes if n in below[m]} for n in nodes}
    done, out = set(), []
    while len(out) < len(nodes):
        ready = [n for n in nodes if n not in done and below[n] <= done]
        n = min(ready, key=lambda n: (key(n), nodes.index(n)))
        done.add(n)
        out.append(n)
    return out


def _fresh(n: Expr, taken, scalars=None) -> str:
    pool = {0: scalars or SCALAR_NAMES, 1: VECTOR_NAMES}.get(n.ndim, MATRIX_NAMES)
    return fresh_name(pool, taken, pool[0])


def _direct(node: Expr, parts: dict) -> list:
    out, seen, stack = [], set(), list(node.args)
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        if n in parts:
            out.append(parts[n])
        else:
            stack.extend(n.args)
    order = {n: k for k, n in enumerate(parts)}
    return sorted(out, key=lambda p: order[p.node])
