"""Removable singularities of norms at 0: the form in which expressions are evaluated.

Derivatives of powers of norms are printed as an expert writes them, ``3 * (norm(x) * eye(n) +
x @ x' / norm(x))``, but read literally ``x @ x' / norm(x)`` is 0 · 0 / 0 = NaN at x = 0, where
its limit is the zero matrix.  Write x = ‖x‖ u with the unit tensor u = ``unit(x)`` (``x / ‖x‖``,
defined as 0 at x = 0, as sign(0) = 0 makes ``x / |x|`` total): a product with ‖x‖ to the power
m < 0 and factors x takes one ‖x‖ from each factor x, which becomes u, so that x ⊗ x / ‖x‖ is
‖x‖ u ⊗ u, finite and 0 at 0.  Two factors x summed against each other are
‖x‖² (xᵀx / ‖x‖² is 1 everywhere, not uᵀu).  A sum inside such a product is distributed when
its terms carry the x's.  Every rewrite is an equality away from x = 0, and at 0:

* a product of degree d = m + (number of x's) ≥ 1 is 0, its limit;
* a bounded one of degree 0 is 0, the symmetric choice of sign(0) = 0: the gradient of ‖x‖
  (a subgradient) and the third derivative of ‖x‖³ (odd in x) are 0 at 0;
* one of negative degree keeps its 1 / ‖x‖ and is inf or NaN, as the Hessian of ‖x‖ must be.

So every derivative of ‖x‖ᵖ with a limit at 0 (order k < p) evaluates to it.  ``evaluate`` and
the code generator evaluate ``finite_form(e)``; printing and differentiation never see it.

>>> import tensorcalc as tc
>>> h = tc.hessian("norm(x)^3", "x", shapes={"x": ("n",)})
>>> print(h)
3 * (norm(x) * eye(n) + x @ x' / norm(x))
>>> print(finite_form(h))
3 * norm(x) * (eye(n) + unit(x) @ unit(x)')
>>> print(h.evaluate(x=[0.0, 0.0]))
[[0. 0.]
 [0. 0.]]
"""

from __future__ import annotations

import math
from functools import lru_cache

from ..build import (
    REBUILD,
    add,
    const,
    const_value,
    div,
    einsum,
    factors,
    func,
    ones,
    pow_,
    split_coef,
)
from ..expr import Expr, postorder
from ..ops import Op

MAX_TERMS = 16  # a sum inside a product is distributed only up to this many terms


def finite_form(e: Expr) -> Expr:
    """``e`` with the products of norm powers and their tensors rewritten through the unit
    tensor, so that removable singularities at 0 evaluate to their limit (see the module)."""
    return _finite(e)


@lru_cache(maxsize=4096)
def _finite(e: Expr) -> Expr:
    nodes = postorder([e])
    if not any(n.op in (Op.DIV, Op.POW) for n in nodes):  # no negative power of anything
        return e
    bases = tuple(n.args[0] for n in nodes if n.op is Op.NORM and n.args[0].op is Op.EINSUM)
    memo = {}
    for n in nodes:
        args = tuple(memo[a] for a in n.args)
        new = None
        if n.op is Op.EINSUM:
            new = _product(list(zip(args, n.attrs[0])), n.attrs[1], bases)
        if new is None:
            new = n if args == n.args else REBUILD[n.op](n, args)
        memo[n] = new
    return memo[e]


def norm_power(e: Expr, bases=()):
    """``(x, m, c)`` when ``e`` is c ‖x‖ᵐ (c > 0): norm(x), its powers, xᵀx (m = 2), their
    multiples and reciprocals, or such a scalar broadcast to a shape (as ``x @ x' / norm(x)``
    divides by it).  ``bases`` are products x whose squares ‖x‖² (``x' @ A' @ A @ x`` for
    x = A @ y) are recognised too."""
    if e.op is Op.DIV and const_value(e.args[0]) == 1.0:
        found = norm_power(e.args[1], bases)
        return found and (found[0], -found[1], 1.0 / found[2])
    if e.op is Op.POW and const_value(e.args[1]) is not None:
        found, p = norm_power(e.args[0], bases), const_value(e.args[1])
        return found and (found[0], found[1] * p, found[2] ** p)
    if e.shape:
        return _broadcast_power(e, bases)
    if e.op is Op.NORM:
        return e.args[0], 1.0, 1.0
    c, core = split_coef(e)
    if c > 0 and core.op is Op.EINSUM and len(core.args) == 2 and core.args[0] is core.args[1]:
        ins = core.attrs[0]
        if ins[0] == ins[1] and len(set(ins[0])) == len(ins[0]):
            return core.args[0], 2.0, c
    return _square_of(c, core, bases) if core.op is Op.EINSUM else None


def _square_of(c, core, bases):
    """``(x, 2, c / cₓ²)`` when the scalar product c · core is c ‖x‖² for a product x."""
    ops = list(zip(core.args, core.attrs[0]))
    for x in bases:
        cx, found = _occurrences(ops, (), x)
        if len(found) == 2 and len(found[0][0]) + len(found[1][0]) == len(ops):
            if _squares(ops, (), found) and c > 0:
                return x, 2.0, c / (cx * cx)
    return None


def _broadcast_power(e: Expr, bases):
    """``norm_power`` of the scalar that the product ``e`` broadcasts with a ones factor."""
    if e.op is not Op.EINSUM:
        return None
    ops, out = list(zip(e.args, e.attrs[0])), e.attrs[1]
    fill = [k for k, (a, ls) in enumerate(ops) if const_value(a) == 1.0 and ls == out]
    rest = [o for k, o in enumerate(ops) if k not in fill[:1]]
    if not fill or any(set(ls) & set(out) for _, ls in rest):
        return None
    return norm_power(einsum(rest, ()), bases)


def _power(x: Expr, m: float) -> Expr:
    """‖x‖ᵐ as a node (``None`` for m = 0)."""
    if m == 0:
        return None
    r = pow_(func(Op.NORM, x), abs(m))
    return r if m > 0 else div(1, r)


def _product(ops, out, bases=()):
    """The product ``ops`` (pairs of node and labels) with each base x of a negative norm power
    taking that power from its factors x (see the module), or ``None`` when there is none."""
    powers = {}  # x -> whether some factor is a negative power of ‖x‖, in order of x's first
    for e, _ in ops:
        found = norm_power(e, bases)
        if found and _varies(found[0]):  # ‖1‖ = √n is never 0, and its ones are not an x
            powers[found[0]] = powers.get(found[0], False) or found[1] < 0
    negative = [x for x, neg in powers.items() if neg]
    if not negative:
        return None
    for x in negative:
        # x's powers as the factors now are: a take for another base (a copy of
        # v = 0.5 y² / ‖y‖ takes a 1 / ‖y‖ with it) may have used some of them
        found = [(k, norm_power(e, bases)) for k, (e, _) in enumerate(ops)]
        found = [(k, p) for k, p in found if p and p[0] is x]
        if not any(p[1] < 0 for _, p in found):
            continue
        at = [k for k, _ in found]
        m, c = sum(p[1] for _, p in found), math.prod(p[2] for _, p in found)
        ops, m = _take(ops, out, x, m, at, c)
        if m < 0:
            spread = _distribute(ops, out, x, bases)
            if spread is not None:
                return spread
    return einsum(ops, out)


def _take(ops, out, x, m, at, scale):
    """Move ‖x‖ from factors x into the norm power m: two factors x summed against each other
    alone are ‖x‖², and while m < 0 every other factor x becomes ‖x‖ unit(x).  A product x =
    c · Π Aₖ (``A @ y``, ``2 * y``) is found among the factors as its own factors."""
    ops = _strip_ones(
        [(ones(e.shape), ls) if k in at else (e, ls) for k, (e, ls) in enumerate(ops)]
    )
    c, found = _occurrences(ops, out, x)
    drop = {k for k in at if not ops[k][1]}  # broadcast powers stay as ones with their labels
    singles = list(found)
    for a, b in _squares(ops, out, found):
        singles = [o for o in singles if o not in (a, b)]
        drop |= set(a[0]) | set(b[0])
        m, scale = m + 2, scale / (c * c)
    units = singles if m < 0 else []  # all of them: x ⊗ x / ‖x‖ = ‖x‖ u ⊗ u stays symmetric
    for at_k, _ in units:
        drop |= set(at_k)
    m, scale = m + len(units), scale / c ** len(units)
    u = func(Op.UNIT, x)
    r = _power(x, m)
    kept = [o for k, o in enumerate(ops) if k not in drop]
    kept += [(u, labels) for _, labels in units] + ([(r, ())] if r is not None else [])
    return kept + ([(const(scale), ())] if scale != 1.0 else []), m


def _strip_ones(ops):
    """The same product with each ones factor carrying only the indices no other factor
    carries (1_{I,J} = 1_I 1_J, and 1_I is redundant where another factor carries I): what is
    left on a ones factor is a broadcast (an output index) or a count (Σᵢ 1 = n, summed), never
    an index that a factor x taken into ‖x‖ or unit(x) below also carried, which would be
    summed once more (Σᵢ 1ᵢ xᵢ xᵢ / ‖x‖ is ‖x‖, not n‖x‖).  Positions are kept."""
    carried = {lab for e, ls in ops if not _ones(e) for lab in ls}
    new = []
    for e, ls in ops:
        if _ones(e) and set(ls) & carried:
            keep = {lab: d for lab, d in zip(ls, e.shape) if lab not in carried}
            e, ls = ones(tuple(keep.values())), tuple(keep)
        new.append((e, ls))
    return new


def _occurrences(ops, out, x):
    """``(c, [(positions, labels), ...])``: disjoint groups of factors that are x, or, for a
    product x = c · core, whose factors make one copy of core with its summed indices private
    (``labels`` are the indices of that copy)."""
    if x.op is not Op.EINSUM:
        return 1.0, [((k,), ls) for k, (e, ls) in enumerate(ops) if e is x]
    c, core = split_coef(x)
    mine, own_out = factors(core)
    inner = {lab for _, ls in mine for lab in ls} - set(own_out)
    found, used = [], set()
    while True:
        match = _match(ops, out, mine, own_out, inner, used)
        if match is None:
            return c, found
        found.append(match)
        used |= set(match[0])


def _match(ops, out, mine, own_out, inner, used, i=0, at=(), labels=None):
    """One copy of the factors ``mine`` among ``ops`` (positions not in ``used``)."""
    labels = labels or {}
    if i == len(mine):
        if len(set(labels.values())) != len(labels):
            return None  # a diagonal of x, not x
        # x's summed indices are its own: no other factor carries them, a ones factor neither
        # (after _strip_ones a ones factor keeps only indices no other kind of factor carries,
        # so one left on x's index is a second count: Σᵢ 1ᵢ1ᵢ = n once, not a count for each
        # of two copies of x)
        private = {labels[lab] for lab in inner}
        if private & set(out) or any(
            private & set(ls) for k, (f, ls) in enumerate(ops) if k not in at
        ):
            return None
        return at, tuple(labels[lab] for lab in own_out)
    e, ls = mine[i]
    for k, (f, lf) in enumerate(ops):
        if k in used or k in at or f is not e:
            continue
        new = dict(labels)
        if all(new.setdefault(a, b) == b for a, b in zip(ls, lf)):
            found = _match(ops, out, mine, own_out, inner, used, i + 1, at + (k,), new)
            if found is not None:
                return found
    return None


def _varies(x: Expr) -> bool:
    """Whether ``x`` has a variable (a constant's norm has no singularity to remove)."""
    return any(n.op is Op.VAR for n in postorder([x]))


def _ones(e: Expr) -> bool:
    return const_value(e) == 1.0


def _squares(ops, out, found):
    """Disjoint pairs of occurrences of x with the same distinct labels that no other factor
    and not the output carry: Σ x ⊙ x = ‖x‖²."""
    pairs, used = [], set()
    for i, a in enumerate(found):
        la = a[1]
        if a in used or len(set(la)) != len(la) or set(la) & set(out):
            continue
        for b in found[i + 1 :]:
            both = set(a[0]) | set(b[0])
            others = [ls for k, (f, ls) in enumerate(ops) if k not in both and not _ones(f)]
            if b not in used and b[1] == la and not any(set(la) & set(ls) for ls in others):
                pairs.append((a, b))
                used |= {a, b}
                break
    return pairs


def _distribute(ops, out, x, bases):
    """The product written as a sum over the terms of a sum factor that carries x, each term a
    product of its own (so that its factors x meet the norm power), or ``None``."""
    for k, (e, ls) in enumerate(ops):
        if e.op is Op.ADD and len(e.args) <= MAX_TERMS and _parts(x) & set(postorder([e])):
            rest = ops[:k] + ops[k + 1 :]
            terms = [einsum(rest + [(t, ls)], out) for t in e.args]
            return add(*(_finite_product(t, bases) for t in terms))
    return None


def _parts(x: Expr) -> set:
    """The nodes whose presence shows x: x, or the factors of a product x."""
    return {f for f, _ in factors(split_coef(x)[1])[0]} if x.op is Op.EINSUM else {x}


def _finite_product(e: Expr, bases) -> Expr:
    if e.op is not Op.EINSUM:
        return e
    new = _product(list(zip(e.args, e.attrs[0])), e.attrs[1], bases)
    return e if new is None else new
