"""Elementwise polynomials in one function value, collapsed to their expanded form.

Derivatives of σ, tanh, tan and exp are polynomials in the function's own value
(σ′ = σ(1 − σ), tanh′ = 1 − tanh², …).  Left as the product rule builds them, the k-th
derivative is a nest of factored sums whose size grows exponentially with k; expanded it is
``c₀ + c₁ y + … + c_d yᵈ``, of size O(k).  ``collapse`` finds every subexpression that is an
elementwise polynomial in exactly one elementwise function value ``y`` (of degree ≥ ``MIN_DEGREE``) and
rebuilds it expanded, terms by degree, so that the next derivative starts from a small graph.

What counts as a polynomial is the ``POLY`` table (one line per op): a node's entry maps the node
and its arguments' polynomials to its own polynomial, or ``None``.  A polynomial is ``(y, c)``:
its one leaf (``None`` for a constant) and the coefficient tuple ``c`` (``c[k]`` of ``yᵏ``).
"""

from __future__ import annotations

from .. import build as b
from ..expr import Expr, postorder
from ..ops import KIND, UNARY, Op

MIN_DEGREE = 3  # lower degrees print better factored, as the rules build them
MAX_DEGREE = 64  # beyond it a polynomial is left as built


def _mul(p, q):
    if p is None or q is None or (p[0] is not None and q[0] is not None and p[0] is not q[0]):
        return None
    c = [0.0] * (len(p[1]) + len(q[1]) - 1)
    for i, a in enumerate(p[1]):
        for j, v in enumerate(q[1]):
            c[i + j] += a * v
    return (p[0] if p[0] is not None else q[0], tuple(c)) if len(c) <= MAX_DEGREE + 1 else None


def _add(ps):
    leaf = None
    for p in ps:
        if p is None or (p[0] is not None and leaf is not None and p[0] is not leaf):
            return None
        leaf = p[0] if p[0] is not None else leaf
    c = [0.0] * max(len(p[1]) for p in ps)
    for p in ps:
        for k, v in enumerate(p[1]):
            c[k] += v
    return leaf, tuple(c)


def _einsum(n, ps):
    ins, out = n.attrs
    result = (None, (1.0,))
    for a, p, labels in zip(n.args, ps, ins):
        if labels != out and not (a.op is Op.CONST and not a.shape):
            return None  # a contraction, transpose or broadcast: not elementwise
        result = _mul(result, p)
    return result


def _pow(n, ps):
    k = b.const_value(n.args[1])
    if k is None or k != int(k) or not 0 <= k <= MAX_DEGREE:
        return None
    result = (None, (1.0,))
    for _ in range(int(k)):
        result = _mul(result, ps[0])
    return result


POLY = {
    Op.CONST: lambda n, ps: (None, (n.attrs[0],)),  # a constant fill c = c·y⁰
    Op.ADD: lambda n, ps: _add(ps),  # Σ pᵢ(y): coefficients add
    Op.EINSUM: _einsum,  # Π pᵢ(y) over equal indices (a Hadamard product): coefficients convolve
    Op.POW: _pow,  # p(y)ᵏ for a constant integer 0 ≤ k ≤ MAX_DEGREE
}


def expanded(leaf: Expr, coefs) -> Expr:
    """``c₀ + c₁ y + … + c_d yᵈ`` with terms by degree."""
    terms = [b.scale(c, b.pow_(leaf, float(k))) for k, c in enumerate(coefs) if c != 0.0 and k]
    if coefs[0] != 0.0:
        terms.insert(0, b.const(coefs[0], leaf.shape))
    return b.ordered_sum(*terms)


def _terms(p):
    return sum(c != 0.0 for c in p[1])


def collapse(e: Expr) -> Expr:
    """``e`` with each elementwise polynomial in one function value written expanded."""
    poly, memo = {}, {}
    for n in postorder([e]):
        rule = POLY.get(n.op)
        p = rule(n, [poly[a] for a in n.args]) if rule else None
        if p is not None and p[0] is not None and p[0].shape != n.shape:
            p = None  # broadcast from a scalar leaf: not elementwise in it
        if p is None and KIND[n.op] == UNARY:
            p = (n, (0.0, 1.0))  # a function value is a leaf: y = 0 + 1·y
        poly[n] = p
        args = tuple(memo[a] for a in n.args)
        memo[n] = n if args == n.args else b.REBUILD[n.op](n, args)
        if p is not None and p[0] not in (None, n) and len(p[1]) > MIN_DEGREE and _terms(p) > 1:
            while len(p[1]) > 1 and p[1][-1] == 0.0:
                p = (p[0], p[1][:-1])
            memo[n] = expanded(p[0], p[1])
    return memo[e]
