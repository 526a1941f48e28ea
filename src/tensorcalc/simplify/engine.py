"""The rewrite engine: children first, then the node's rewrites from ``REWRITES`` until none
applies.  It knows no op: what to rewrite is all in ``rules``; rebuilding goes through the
canonical constructors (``build.REBUILD``, with the rules' own ``RECANONICAL`` entries: sums keep
the matrix-sized factoring of ``MAX_INNER_RANK``).  Shared subexpressions are simplified once (a
memo by node)."""

from __future__ import annotations

from ..build import REBUILD
from ..expr import Expr, postorder
from .rules import RECANONICAL, REWRITES

DEPTH = 40  # rewrites of rewrites; a guard, not a tuning knob
PASSES = 4

_REBUILD = REBUILD | RECANONICAL


class _Simplifier:
    def __init__(self):
        self.memo: dict = {}

    def run(self, e: Expr, depth: int = 0) -> Expr:
        for n in postorder([e]):
            if n in self.memo:
                continue
            args = tuple(self.memo[a] for a in n.args)
            m = n if args == n.args else _REBUILD[n.op](n, args)
            self.memo[n] = self.rewrite(m, depth)
        return self.memo[e]

    def rewrite(self, m: Expr, depth: int) -> Expr:
        if m in self.memo:
            return self.memo[m]
        self.memo[m] = m  # provisional: a rewrite that leads back here stops
        if depth < DEPTH:
            for rule in REWRITES.get(m.op, ()):
                new = rule(m)
                if new is not None and new is not m:
                    self.memo[m] = out = self.run(new, depth + 1)
                    return out
        return m


def simplify(e: Expr) -> Expr:
    """An equal expression in the form an expert would write (see ``tensorcalc.simplify``).

    >>> import tensorcalc as tc
    >>> X = tc.matrix("X", "n", "n")
    >>> print(simplify(tc.inv(X @ X) @ X))
    inv(X)
    """
    for _ in range(PASSES):  # a rewrite may expose another above a node already done
        out = _Simplifier().run(e)
        if out is e:
            break
        e = out
    return e
