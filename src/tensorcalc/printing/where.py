"""Name a large subexpression that occurs more than once: ``... where M = X' @ C @ X``.

Like matrixcalculus.org's common-subexpression switch, ``name_shared(tree)`` works on the print
tree (so it names what the reader would otherwise read twice): it repeatedly takes the largest
subtree of at least ``MIN_SIZE`` nodes that occurs three times, or twice and applies a function
(``inv(X' @ C @ X)``, ``sigmoid(-y * (X @ w))``; a short polynomial stays as it is), replaces every occurrence by
a fresh name, and returns the body and the definitions, each definition using only names
defined before it.  Names follow the usual letters by rank (scalars ``s, r, q``, vectors
``u, v, z``, matrices ``M, N, K``) and never clash with the expression's own variables or
dimensions.  The text and LaTeX renderers print the result as ``body where NAME = ..., ...``;
the parser reads that back.
"""

from __future__ import annotations

from .matrix import P

MIN_SIZE = 5  # print nodes; `X' @ C @ X` has 5, `A + A'` has 4 and stays inline
MAX_NAMES = 12
SKIP = ("var", "defs", "T", "neg")  # name A, then write A' and -A, not a second name

POOLS = {0: "srqabcdg", 1: "uvzwhpe", 2: "MNKGHQRT"}


def _walk(tree):
    """Distinct subtrees, parents before children, and how often each occurs in the tree."""
    order, seen = [], set()
    stack = [(tree, False)]
    while stack:
        p, done = stack.pop()
        if done:
            order.append(p)
            continue
        if p in seen:
            continue
        seen.add(p)
        stack.append((p, True))
        stack.extend((c, False) for c in p.children)
    order.reverse()  # parents first
    count = {tree: 1}
    for p in order:
        for c in p.children:
            count[c] = count.get(c, 0) + count[p]
    return order, count


def _size(p, memo):
    if p not in memo:
        memo[p] = (p.kind != "dim") + sum(_size(c, memo) for c in p.children)
    return memo[p]


def _calls(p, memo):
    """Whether ``p`` applies a function (``inv``, ``sigmoid``, ...; not ``eye``/``ones``)."""
    if p not in memo:
        own = p.kind == "call" and p.value[0] not in ("eye", "ones", "zeros")
        memo[p] = own or any(_calls(c, memo) for c in p.children)
    return memo[p]


def _names_in(tree, order):
    return {p.value for p in order if p.kind == "var"} | {
        str(p.value) for p in order if p.kind == "dim"
    }


def fresh_name(pool, taken, stem: str) -> str:
    """The first name of ``pool`` not ``taken``, else ``stem`` numbered: stem1, stem2, …

    >>> fresh_name("uv", {"u", "v", "t1"}, "t")
    't2'
    """
    for name in pool:
        if name not in taken:
            return name
    k = 1
    while f"{stem}{k}" in taken:
        k += 1
    return f"{stem}{k}"


def _replace(p, old, new, memo):
    if p == old:
        return new
    if p not in memo:
        kids = tuple(_replace(c, old, new, memo) for c in p.children)
        memo[p] = p if kids == p.children else P(p.kind, kids, p.value, p.rank)
    return memo[p]


def name_shared(tree: P, taken=()):
    """``(body, [(name, definition), ...])`` with repeated large subtrees named once."""
    defs = []
    order, _ = _walk(tree)
    taken = set(taken) | _names_in(tree, order)
    sizes: dict = {}
    calls: dict = {}
    for _ in range(MAX_NAMES):
        roots = [tree] + [d for _, d in defs]
        whole = P("defs", tuple(roots), None, 0)
        order, count = _walk(whole)
        shared = [
            p
            for p in order
            if count[p] > 1
            and p.kind not in SKIP
            and _size(p, sizes) >= MIN_SIZE
            and (count[p] > 2 or _calls(p, calls))
        ]
        if not shared:
            break
        best = max(shared, key=lambda p: _size(p, sizes))
        name = fresh_name(POOLS.get(best.rank, "TSUVW"), taken, "t")
        taken.add(name)
        ref = P("var", (), name, best.rank)
        memo: dict = {}
        tree = _replace(tree, best, ref, memo)
        defs = [(n, _replace(d, best, ref, memo)) for n, d in defs] + [(name, best)]
    return tree, defs[::-1]  # a definition uses only the names defined before it
