"""The rewrites, as a table: ``REWRITES[op]`` lists functions from a node to an equal node (or
``None`` when the rewrite does not apply).  Each line has the math in its comment; every rewrite
is tested against its unsimplified form at random values (tests/test_simplify.py).

The nodes come in canonical form (``tensorcalc.build``), so most rewrites are about products
(``EINSUM``): a contraction of a sum distributes, deltas on one index are ones, inverses next to
their matrix cancel, powers of one base merge, and symmetric operands face one way.
"""

from __future__ import annotations

import math
from collections import Counter

from ..build import (
    add,
    broadcast,
    const_value,
    div,
    einsum,
    eye,
    factors,
    func,
    ones,
    pow_,
    scale,
    split_coef,
    transpose,
)
from ..expr import Expr
from ..ops import Op
from .identities import IDENTITIES
from .symmetry import orient

MAX_INNER_RANK = 2  # sums inside a product stay matrices: B X C + B' X C', not X : (B⊗C + …)
MAX_TERMS = 4  # a product of a higher-rank sum of at most this many terms is written term by term


def _ops(e: Expr):
    return list(zip(e.args, e.attrs[0])), e.attrs[1]


def _replace(ops, drop, extra):
    return [o for k, o in enumerate(ops) if k not in drop] + list(extra)


def _count(ops, label):
    return sum(ls.count(label) for _, ls in ops)


# ------------------------------------------------------------------------------ products


def eye_diagonal(e):
    # Σ δᵢᵢ-style diagonal of a delta: diag(I) = 1
    ops, out = _ops(e)
    for k, (a, ls) in enumerate(ops):
        if a.op is Op.EYE and ls[0] == ls[1]:
            return einsum(_replace(ops, {k}, [(ones(a.shape[:1]), ls[:1])]), out)
    return None


ABSORB = {
    (Op.RELU, Op.STEP): lambda f, g: f,  # relu(z) ⊙ step(z) = relu(z)
    (Op.STEP, Op.STEP): lambda f, g: f,  # step(z) ⊙ step(z) = step(z)
    (Op.ABS, Op.SIGN): lambda f, g: f.args[0],  # |z| ⊙ sign(z) = z
}


def absorb(e):
    # f(z) ⊙ g(z) = h(z) for the pairs in ABSORB (same argument, same indices)
    ops, out = _ops(e)
    for i, (f, lf) in enumerate(ops):
        for j, (g, lg) in enumerate(ops):
            rule = ABSORB.get((f.op, g.op))
            if i != j and rule and lf == lg and f.args == g.args:
                return einsum(_replace(ops, {i, j}, [(rule(f, g), lf)]), out)
    return None


def _cancel(ops, out):
    """inv(M)ₚ_q M_qs = δₚₛ and M_rq inv(M)_qs = δ_rs, q summed over those two only."""
    for i, (v, lv) in enumerate(ops):
        if v.op is not Op.INV or v.ndim != 2:  # a stack of inverses: not this rule's labels
            continue
        m = v.args[0]
        for j, (w, lw) in enumerate(ops):
            if j == i or w is not m:
                continue
            for q, inner, pair in ((lv[1], lw[0], (lv[0], lw[1])), (lv[0], lw[1], (lw[0], lv[1]))):
                if q == inner and q not in out and _count(ops, q) == 2 and q not in pair:
                    return _replace(ops, {i, j}, [(eye(m.shape[0]), pair)])
    return None


def cancel_inverse(e):
    # inv(M) @ M = I, M @ inv(M) = I
    ops, out = _ops(e)
    new = _cancel(ops, out)
    return None if new is None else einsum(new, out)


def _as_chain(m: Expr):
    """``(c, [P1, ..., Pk])`` with ``m = c·P1 @ ... @ Pk``, all square, else ``None``."""
    c, core = split_coef(m)
    ops, out = factors(core)
    if core.op is not Op.EINSUM or len(ops) < 2 or len(out) != 2:
        return None
    if any(len(ls) != 2 or a.shape[0] != a.shape[1] or ls[0] == ls[1] for a, ls in ops):
        return None
    chain, label, left = [], out[0], list(ops)
    while left:
        k = next((k for k, (_, ls) in enumerate(left) if label in ls), None)
        if k is None:
            return None
        a, ls = left.pop(k)
        chain.append(a if ls[0] == label else transpose(a))
        label = ls[1] if ls[0] == label else ls[0]
        if left and (label in out or sum(label in lb for _, lb in left) != 1):
            return None
    return (c, chain) if label == out[1] else None


def _inverse(p: Expr) -> Expr:
    """inv(p), as inv(A)' when p = A' (so that it meets A in a product)."""
    t = inverse_of_transpose(func(Op.INV, p))
    return func(Op.INV, p) if t is None else t


def inverse_of_product(e):
    # inv(P1 ... Pk) = inv(Pk) ... inv(P1) (all square), kept when a factor then cancels:
    # inv(P Q) P = inv(Q), A' inv(A X B)' B' = inv(X)'
    ops, out = _ops(e)
    for k, (v, lv) in enumerate(ops):
        if v.op is not Op.INV or (chain := _as_chain(v.args[0])) is None:
            continue
        c, factors_ = chain
        labels = [lv[0]] + [("inv", k, j) for j in range(len(factors_) - 1)] + [lv[1]]
        inverses = [
            (_inverse(p), (labels[j], labels[j + 1])) for j, p in enumerate(reversed(factors_))
        ]
        flat = _flatten(_replace(ops, {k}, inverses), out)
        cancelled = _cancel(*flat)
        if cancelled is not None:
            return einsum(cancelled + [(div(1.0, c) if c != 1.0 else ones(()), ())], out)
    return None


def _flatten(ops, out):
    e = einsum(ops, out)
    if e.op is not Op.EINSUM:
        return [(e, tuple(out))], out
    return _ops(e)


def _power_parts(a: Expr):
    """``(base, exponent)`` with ``a = base^exponent`` for a constant exponent."""
    if a.op is Op.POW and (k := const_value(a.args[1])) is not None:
        return a.args[0], k
    if a.op is Op.DIV and const_value(a.args[0]) == 1.0:
        base, k = _power_parts(a.args[1])
        return base, -k
    return a, 1.0


def merge_powers(e):
    # t^a ⊙ t^b = t^(a+b), with 1 / t^a = t^-a (same indices; one of them a power or quotient)
    ops, out = _ops(e)
    groups = {}
    for k, (a, ls) in enumerate(ops):
        base, p = _power_parts(a)
        groups.setdefault((base, ls), []).append((k, p, a))
    for (base, ls), items in groups.items():
        if len(items) < 2 or all(a is base for _, _, a in items):
            continue
        if base.ndim and ls and any(_count(ops, x) != len(items) for x in ls if x not in out):
            continue
        total = sum(p for _, p, _ in items)
        merged = pow_(base, total) if total > 0 else div(1.0, pow_(base, -total))
        if total == 0:
            merged = ones(base.shape)
        return einsum(_replace(ops, {k for k, _, _ in items}, [(merged, ls)]), out)
    return None


def orient_symmetric(e):
    # S' = S for symmetric S: each symmetric operand faces the way that sorts first
    o = orient(e)
    return None if o is e else o


def distribute(e):
    # Σ (T₁ + T₂) ⊙ F = Σ T₁ ⊙ F + Σ T₂ ⊙ F when the sum T has more indices than a matrix
    ops, out = _ops(e)
    for k, (t, lt) in enumerate(ops):
        if t.op is not Op.ADD or t.ndim <= 2:
            continue
        if len(out) <= 2 or len(ops) == 1 or len(t.args) <= MAX_TERMS:
            terms = [einsum(_replace(ops, {k}, [(u, lt)]), out) for u in t.args]
            return add(*terms, max_inner_rank=MAX_INNER_RANK)
    return None


def integer_factor(e):
    # (20x + 50) · F = 10 (2x + 5) · F: a whole common factor of a sum's terms leaves the sum
    ops, out = _ops(e)
    for k, (t, lt) in enumerate(ops):
        if t.op is not Op.ADD:
            continue
        coefs = [const_value(u) if u.op is Op.CONST else split_coef(u)[0] for u in t.args]
        if not all(c == int(c) and abs(c) < 2**31 for c in coefs):
            continue
        g = math.gcd(*(int(abs(c)) for c in coefs))
        if g > 1:
            inner = add(*(scale(1.0 / g, u) for u in t.args), max_inner_rank=MAX_INNER_RANK)
            return scale(g, einsum(_replace(ops, {k}, [(inner, lt)]), out))
    return None


# ---------------------------------------------------------------------- dimension counts


def _is_ones(a: Expr) -> bool:
    return a.op is Op.CONST and a.ndim > 0 and const_value(a) == 1.0


def _count_dims(a: Expr):
    """The dimensions whose product ``a`` is, when ``a`` is a count Σ 1 (``sum(ones(N))`` is N):
    a scalar product of ones factors whose every index is summed and appears once; else ``None``."""
    if a.op is not Op.EINSUM or a.ndim:
        return None
    ops, _ = _ops(a)
    labels = [x for _, ls in ops for x in ls]
    if not all(_is_ones(x) for x, _ in ops) or len(set(labels)) != len(labels):
        return None
    return Counter(d for x, _ in ops for d in x.shape)


def _dimension(d) -> Expr:
    return einsum([(ones((d,)), ("count",))], ())


def cancel_counts(e):
    # (Σᵢ 1)ᵃ / (Σᵢ 1)ᵇ = nᵃ / nᵇ = nᵃ⁻ᵇ: a ones factor summed on its own is its dimension, and
    # cancels the dimension's powers in the other factors (mean(ones(N) @ m', 0) = m)
    ops, out = _ops(e)
    seen = Counter(x for _, ls in ops for x in ls)
    up, down, used = Counter(), Counter(), set()
    for k, (a, ls) in enumerate(ops):
        if _is_ones(a) and len(set(ls)) == len(ls) and all(x not in out for x in ls):
            if all(seen[x] == 1 for x in ls):
                up.update(a.shape)
                used.add(k)
            continue
        base, p = _power_parts(a)
        if not ls and p == int(p) and (dims := _count_dims(base)) is not None:
            for d, m in dims.items():
                (up if p > 0 else down)[d] += m * abs(int(p))
            used.add(k)
    if not set(up) & set(down):
        return None
    kept = [o for k, o in enumerate(ops) if k not in used]
    extra = []
    for d, m in (up - down).items():
        extra.append((pow_(_dimension(d), m) if m > 1 else _dimension(d), ()))
    for d, m in (down - up).items():
        extra.append((div(1.0, pow_(_dimension(d), m) if m > 1 else _dimension(d)), ()))
    return einsum(kept + extra, out)


def sum_of_constant_term(e):
    # Σᵢ (xᵢ + c·1ᵢ) = Σᵢ xᵢ + c·n: a sum over an axis along which a term is constant
    # distributes over that term, whose sum is a count (Σᵢ (xᵢ − mean(x)) = 0)
    ops, out = _ops(e)
    seen = Counter(x for _, ls in ops for x in ls)
    for k, (t, lt) in enumerate(ops):
        if t.op is not Op.ADD:
            continue
        axes = [a for a, x in enumerate(lt) if x not in out and seen[x] == 1]
        const = [u for u in t.args if any(_constant_along(u, a) for a in axes)]
        if not const:
            continue
        rest = [u for u in t.args if u not in const]
        parts = const + ([add(*rest, max_inner_rank=MAX_INNER_RANK)] if rest else [])
        terms = [einsum(_replace(ops, {k}, [(u, lt)]), out) for u in parts]
        return add(*terms, max_inner_rank=MAX_INNER_RANK)
    return None


def _constant_along(u: Expr, axis: int) -> bool:
    """Whether ``u`` is constant along ``axis``: a constant fill, or a product whose index on
    that axis is carried by constant fills alone."""
    if u.op is Op.CONST:
        return True
    if u.op is not Op.EINSUM:
        return False
    ops, out = _ops(u)
    lab = out[axis]
    return all(a.op is Op.CONST for a, ls in ops if lab in ls)


# ---------------------------------------------------------------------------------- sums


def flat_sum(e):
    # a + c·(b + d) = a + c·b + c·d for scalars: -2 - (1 - 2x²) is 2x² - 3
    if e.ndim:
        return None
    for k, t in enumerate(e.args):
        c, core = split_coef(t)
        if core.op is Op.ADD:
            rest = [u for j, u in enumerate(e.args) if j != k]
            return add(*rest, *(scale(c, u) for u in core.args), max_inner_rank=MAX_INNER_RANK)
    return None


def common_coefficient(e):
    # c·A + c·B = c·(A + B)
    coefs = [split_coef(t)[0] for t in e.args]
    c = coefs[0]
    if c == 1.0 or any(x != c for x in coefs):
        return None
    inner = add(*(split_coef(t)[1] for t in e.args), max_inner_rank=MAX_INNER_RANK)
    return scale(c, inner)


# ----------------------------------------------------------------- quotients and powers


def _broadcast_scalar(a: Expr):
    """``s`` when ``a`` is a scalar ``s`` broadcast to a tensor, else ``None``.

    Only the *output* indices of a ones factor broadcast: an index it sums over is a count,
    Σᵢ 1 = n, and stays in ``s`` (``sum(ones(n)) * norm(x) * ones(m)`` is n‖x‖ broadcast)."""
    if a.op is not Op.EINSUM or not a.ndim:
        return None
    ops, out = _ops(a)
    if any(ls and (x.op is not Op.CONST or const_value(x) != 1.0) for x, ls in ops):
        return None
    # 1_{I,J} = 1_I 1_J: dropping a ones factor's output indices keeps its summed ones
    return einsum(
        [(x, ()) if not ls else (ones(_dims(x, ls, out)), _summed(ls, out)) for x, ls in ops], ()
    )


def _summed(ls, out):
    return tuple(x for x in ls if x not in out)


def _dims(x, ls, out):
    return tuple(d for d, lab in zip(x.shape, ls) if lab not in out)


def reciprocal_of_product(e):
    # 1 / (a ⊙ b) = (1 / a) ⊙ (1 / b) for an elementwise product (no summed index)
    if const_value(e.args[0]) != 1.0:
        return None
    d = e.args[1]
    if d.op is Op.DIV and const_value(d.args[0]) == 1.0:
        return d.args[1]  # 1 / (1 / t) = t
    if d.op is not Op.EINSUM:
        return None
    ops, out = _ops(d)
    if any(len(set(ls)) != len(ls) or not set(ls) <= set(out) for _, ls in ops):
        return None
    return einsum(
        [(div(1.0, a) if a.ndim == 0 else div(ones(a.shape), a), ls) for a, ls in ops], out
    )


def power_of_scalar(e):
    # (s·1)^k = s^k·1 and (1 / t)^k = 1 / t^k
    a, k = e.args
    s = _broadcast_scalar(a)
    if s is not None and (kv := const_value(k)) is not None:
        return broadcast(pow_(s, kv), a.shape)
    if a.op is Op.DIV and const_value(a.args[0]) == 1.0:
        return (
            div(1.0, pow_(a.args[1], k)) if not a.ndim else div(ones(a.shape), pow_(a.args[1], k))
        )
    return None


def sqrt_of_square_sum(e):
    # sqrt(Σ xᵢ²) = norm(x)
    (a,) = e.args
    if a.op is Op.EINSUM and len(a.args) == 2 and a.args[0] is a.args[1] and not a.attrs[1]:
        ins = a.attrs[0]
        if ins[0] == ins[1] and len(set(ins[0])) == len(ins[0]):
            return func(Op.NORM, a.args[0])
    return None


def inverse_of_transpose(e):
    # inv(A') = inv(A)'
    (a,) = e.args
    if a.ndim != 2:
        return None  # a stack: inv acts on the last two axes, not through a reversal of all
    if a.op is Op.EINSUM and len(a.args) == 1 and a.attrs[0][0] == a.attrs[1][::-1]:
        return transpose(func(Op.INV, a.args[0]))
    return None


RECANONICAL = {  # how the engine rebuilds a node whose arguments were simplified, where not as build's
    Op.ADD: lambda n, args: add(*args, max_inner_rank=MAX_INNER_RANK),  # no 4-tensor sums inside
}

REWRITES = {
    Op.EINSUM: [
        eye_diagonal,
        absorb,
        cancel_inverse,
        inverse_of_product,
        merge_powers,
        cancel_counts,
        sum_of_constant_term,
        distribute,
        integer_factor,
        orient_symmetric,
    ],
    Op.ADD: [flat_sum, common_coefficient],
    Op.DIV: [reciprocal_of_product],
    Op.POW: [power_of_scalar],
    Op.INV: [inverse_of_transpose],
    Op.SQRT: [sqrt_of_square_sum],
}
for _op, _rules in IDENTITIES.items():  # the functions' identities (issue 23), one table
    REWRITES[_op] = REWRITES.get(_op, []) + _rules
