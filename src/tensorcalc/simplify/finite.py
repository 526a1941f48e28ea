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

from functools import lru_cache

from ..build import REBUILD, add, const_value, div, einsum, func, ones, pow_
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
    memo = {}
    for n in nodes:
        args = tuple(memo[a] for a in n.args)
        new = _product(list(zip(args, n.attrs[0])), n.attrs[1]) if n.op is Op.EINSUM else None
        if new is None:
            new = n if args == n.args else REBUILD[n.op](n, args)
        memo[n] = new
    return memo[e]


def norm_power(e: Expr):
    """``(x, m)`` when ``e`` is ‖x‖ᵐ: norm(x), its powers, xᵀx (m = 2) and reciprocals, or
    such a scalar broadcast to a shape (as ``x @ x' / norm(x)`` divides by it)."""
    if e.op is Op.DIV and const_value(e.args[0]) == 1.0:
        found = norm_power(e.args[1])
        return found and (found[0], -found[1])
    if e.op is Op.POW and const_value(e.args[1]) is not None:
        found = norm_power(e.args[0])
        return found and (found[0], found[1] * const_value(e.args[1]))
    if e.shape:
        return _broadcast_power(e)
    if e.op is Op.NORM:
        return e.args[0], 1.0
    if e.op is Op.EINSUM and not e.shape and len(e.args) == 2 and e.args[0] is e.args[1]:
        ins = e.attrs[0]
        if ins[0] == ins[1] and len(set(ins[0])) == len(ins[0]):
            return e.args[0], 2.0
    return None


def _broadcast_power(e: Expr):
    """``norm_power`` of the scalar that the product ``e`` broadcasts with a ones factor."""
    if e.op is not Op.EINSUM:
        return None
    ops, out = list(zip(e.args, e.attrs[0])), e.attrs[1]
    fill = [k for k, (a, ls) in enumerate(ops) if const_value(a) == 1.0 and ls == out]
    rest = [o for k, o in enumerate(ops) if k not in fill[:1]]
    if not fill or any(set(ls) & set(out) for _, ls in rest):
        return None
    return norm_power(einsum(rest, ()))


def _power(x: Expr, m: float) -> Expr:
    """‖x‖ᵐ as a node (``None`` for m = 0)."""
    if m == 0:
        return None
    r = pow_(func(Op.NORM, x), abs(m))
    return r if m > 0 else div(1, r)


def _product(ops, out):
    """The product ``ops`` (pairs of node and labels) with each base x of a negative norm power
    taking that power from its factors x (see the module), or ``None`` when there is none."""
    powers = {}  # x -> (net power, whether some factor is a negative power)
    for e, _ in ops:
        found = norm_power(e)
        if found:
            m, neg = powers.get(found[0], (0.0, False))
            powers[found[0]] = (m + found[1], neg or found[1] < 0)
    negative = [(x, m) for x, (m, neg) in powers.items() if neg]
    if not negative:
        return None
    for x, m in negative:
        at = [k for k, (e, _) in enumerate(ops) if (norm_power(e) or (None,))[0] is x]
        ops, m = _take(ops, out, x, m, at)
        if m < 0:
            spread = _distribute(ops, out, x)
            if spread is not None:
                return spread
    return einsum(ops, out)


def _take(ops, out, x, m, at):
    """Move ‖x‖ from factors x into the norm power m: two factors x summed against each other
    alone are ‖x‖², and while m < 0 every other factor x becomes ‖x‖ unit(x)."""
    drop = set(at)
    singles = [k for k, (e, _) in enumerate(ops) if e is x]
    for a, b in _squares(ops, out, singles):
        singles = [c for c in singles if c not in (a, b)]
        drop |= {a, b}
        m += 2
    units = singles if m < 0 else []  # all of them: x ⊗ x / ‖x‖ = ‖x‖ u ⊗ u stays symmetric
    drop |= set(units)
    m += len(units)
    u = func(Op.UNIT, x)
    r = _power(x, m)
    kept = [o for k, o in enumerate(ops) if k not in drop]
    kept += [(ones(ops[k][0].shape), ops[k][1]) for k in at if ops[k][1]]  # broadcast powers
    return kept + [(u, ops[k][1]) for k in units] + ([(r, ())] if r is not None else []), m


def _squares(ops, out, singles):
    """Disjoint pairs of positions of factors x with the same distinct labels that no other
    factor and not the output carry: Σ x ⊙ x = ‖x‖²."""
    pairs, used = [], set()
    for i, a in enumerate(singles):
        la = ops[a][1]
        if a in used or len(set(la)) != len(la) or set(la) & set(out):
            continue
        for b in singles[i + 1 :]:
            others = [ls for k, (_, ls) in enumerate(ops) if k not in (a, b)]
            if b not in used and ops[b][1] == la and not any(set(la) & set(ls) for ls in others):
                pairs.append((a, b))
                used |= {a, b}
                break
    return pairs


def _distribute(ops, out, x):
    """The product written as a sum over the terms of a sum factor that carries x, each term a
    product of its own (so that its factors x meet the norm power), or ``None``."""
    for k, (e, ls) in enumerate(ops):
        if e.op is Op.ADD and len(e.args) <= MAX_TERMS and any(n is x for n in postorder([e])):
            rest = ops[:k] + ops[k + 1 :]
            terms = [einsum(rest + [(t, ls)], out) for t in e.args]
            return add(*(_finite_product(t) for t in terms))
    return None


def _finite_product(e: Expr) -> Expr:
    if e.op is not Op.EINSUM:
        return e
    new = _product(list(zip(e.args, e.attrs[0])), e.attrs[1])
    return e if new is None else new
