"""Identities of the functions, as rewrite rules (issue 23's notation cases), merged into
``rules.REWRITES``; each line has the math in its comment and is tested against its unsimplified
form at random values (tests/test_simplify.py).

* a softmax summed over its own axes is 1 (every row of ``softmax(Y, 1)`` sums to 1), so the
  Hessian of ``sum(softmax(Y, 1))`` is exactly 0;
* ``log(sum(exp(x)))`` is ``logsumexp(x)`` (along axes too), so it gets logsumexp's stable value
  and its Hessian diag(s) − s sᵀ;
* ``exp(x) / sum(exp(x))`` is ``softmax(x)`` (along axes too): the gradient of
  ``log(sum(exp(x)))``, whose Hessian is then diag(s) − s sᵀ;
* an elementwise function of a constant tensor is the function's value broadcast
  (``softplus(ones(N))`` is ``softplus(1) * ones(N)``, constant along its axis);
* a reshaped identity whose two halves have one shape is a product of identities, one per
  axis (``reshape(eye(6), (2, 3, 2, 3))`` is δ_ij δ_kl);
* an outer product reshaped along its own split is the outer product of the reshapes;
* the norm of zeros is 0 (a centred mean, mean(x − mean(x)), is proved zero by the count
  rewrites of ``rules``, and its norm then has the exact derivative 0, not 0/0);
* a delta between two output indices makes the factors on either index one vector:
  ``a_i δ_ij b_j = (a ⊙ b)_i δ_ij``, so ``diag(a) @ diag(b)`` is ``diag(a * b)``;
* a product of all-ones factors is all ones: ``ones(n)' @ ones(n)`` (``norm(ones(n))^2``) is
  ``sum(ones(n))``, the size n;
* a factor on one index of a kept delta sits on its first index (``δ_pq b_q = δ_pq b_p``), the
  form ``diag(b)`` builds, so a printed derivative reads back as the same node.
* the Fréchet derivatives of expm are multilinear, so a product summing a direction's own axes
  sums the direction instead: the gradient of ⟨W, e^X⟩ is one ``expm_frechet(X', W)``, not a
  4-tensor contracted with W; a direction I drops (e^(X+tI) = eᵗ e^X), so d tr(e^X) is e^(Xᵀ);
  and e^(Xᵀ) is (e^X)ᵀ.
"""

from __future__ import annotations

import math
from collections import Counter

from ..build import (
    broadcast,
    const,
    const_value,
    einsum,
    expm_frechet,
    eye,
    frechet_units,
    func,
    ones,
    reshape,
    transpose,
    unary,
)
from ..expr import Expr
from ..ops import UNARY_OPS, Op


def _ops(e: Expr):
    return list(zip(e.args, e.attrs[0])), e.attrs[1]


def softmax_sums_to_one(e):
    # Σ_K softmax(Y, K)[.., K, ..] = 1: the axes K summed by this factor alone
    ops, out = _ops(e)
    count = Counter(x for _, ls in ops for x in ls)
    for k, (s, ls) in enumerate(ops):
        if s.op is not Op.SOFTMAX or len(set(ls)) != len(ls):
            continue
        axes = s.attrs or tuple(range(s.ndim))
        summed = [ls[a] for a in axes]
        if any(x in out or count[x] != 1 for x in summed):
            continue
        kept = tuple(x for a, x in enumerate(ls) if a not in axes)
        shape = tuple(d for a, d in enumerate(s.shape) if a not in axes)
        rest = [o for j, o in enumerate(ops) if j != k]
        return einsum(rest + [(ones(shape), kept)], out)
    return None


def log_of_sum_of_exp(e):
    # log Σ_K exp(x) = logsumexp(x, K): the stable form, and its Hessian diag(s) − s sᵀ
    (a,) = e.args
    if a.op is not Op.EINSUM or len(a.args) != 1 or a.args[0].op is not Op.EXP:
        return None
    (ls,), out = a.attrs
    if len(set(ls)) != len(ls) or tuple(x for x in ls if x in out) != tuple(out):
        return None
    x = a.args[0].args[0]
    axes = tuple(k for k, lab in enumerate(ls) if lab not in out)
    return func(Op.LOGSUMEXP, x, axes if out else None)


def delta_joins_vectors(e):
    # a_p δ_pq b_q = (a ⊙ b)_p δ_pq (p, q both outputs): diag(a) @ diag(b) = diag(a * b)
    ops, out = _ops(e)
    for k, (a, ls) in enumerate(ops):
        if a.op is not Op.EYE or ls[0] == ls[1] or not set(ls) <= set(out):
            continue
        p, q = ls
        others = [lb for j, (_, lb) in enumerate(ops) if j != k]
        if not (any(q in lb and p not in lb for lb in others)
                and any(p in lb and q not in lb for lb in others)):  # fmt: skip
            continue  # only factors on both sides join (diag(v) alone is left as it is)
        return einsum(_moved(ops, k, p, q), out)
    return None


def _moved(ops, k, p, q):
    """The factors other than the delta ``ops[k]`` = δ_pq, each on q moved onto p (one that
    carries both stays)."""
    return [
        (b, tuple(p if x == q else x for x in lb)) if j != k and p not in lb else (b, lb)
        for j, (b, lb) in enumerate(ops)
    ]


def delta_first_index(e):
    # δ_pq b_q = δ_pq b_p (p, q both outputs): a factor on one side of a kept delta sits on its
    # first index, as diag(b) builds it, so d(a / x) = -a * diag(1 / x^2) reads back as itself
    ops, out = _ops(e)
    for k, (a, ls) in enumerate(ops):
        if a.op is not Op.EYE or ls[0] == ls[1] or not set(ls) <= set(out):
            continue
        p, q = ls
        if any(j != k and q in lb and p not in lb for j, (_, lb) in enumerate(ops)):
            return einsum(_moved(ops, k, p, q), out)
    return None


def ones_once(e):
    # 1_I 1_J = 1_J for index sets I ⊆ J: ones(n)' @ ones(n) = Σᵢ 1 = n, not n²
    ops, out = _ops(e)
    for k, (a, ls) in enumerate(ops):
        if a.op is Op.CONST and a.attrs[0] == 1.0 and len(set(ls)) == len(ls):
            if any(
                j != k and b.op is Op.CONST and b.attrs[0] == 1.0 and set(ls) <= set(lb)
                for j, (b, lb) in enumerate(ops)
            ):
                return einsum([o for j, o in enumerate(ops) if j != k], out)
    return None


def _sum_of_exp(d):
    """``(x, labels, out)`` when ``d`` is Σ_K exp(x), broadcast by ones factors or not (one
    factor exp(x), the others ones), else ``None``."""
    if d.op is not Op.EINSUM:
        return None
    found = [(a, ls) for a, ls in zip(d.args, d.attrs[0]) if a.op is Op.EXP]
    rest = [a for a in d.args if a.op is not Op.EXP]
    if len(found) != 1 or any(a.op is not Op.CONST or a.attrs[0] != 1.0 for a in rest):
        return None
    (u, ls), out = found[0], d.attrs[1]
    return (u.args[0], ls, out) if len(set(ls)) == len(ls) else None


def _matches(x, sl, so, lu, lq):
    """Whether (1 / Σ exp(x))[lq] lines up with exp(x)[lu]: kept axes on the same labels, a
    broadcast axis on a label of a summed axis (the sum is constant along it)."""
    summed = {lu[a] for a in range(x.ndim) if sl[a] not in so}
    for t, o in enumerate(so):
        if o in sl:
            if lq[t] != lu[sl.index(o)]:
                return False
        elif lq[t] not in summed:
            return False
    return True


def exp_over_sum_is_softmax(e):
    # exp(x) / Σ_K exp(x) = softmax(x, K): d log(sum(exp(x))) reads softmax(x), and its
    # derivative diag(s) − s sᵀ
    ops, out = _ops(e)
    for k, (q, lq) in enumerate(ops):
        if q.op is not Op.DIV or const_value(q.args[0]) != 1.0:
            continue
        found = _sum_of_exp(q.args[1])
        if found is None:
            continue
        x, sl, so = found
        for j, (u, lu) in enumerate(ops):
            if j == k or u.op is not Op.EXP or u.args[0] is not x or len(set(lu)) != len(lu):
                continue
            if not _matches(x, sl, so, lu, lq):
                continue
            axes = tuple(a for a in range(x.ndim) if sl[a] not in so)
            soft = func(Op.SOFTMAX, x, axes if len(axes) < x.ndim else None)
            rest = [o for i, o in enumerate(ops) if i not in (j, k)]
            return einsum(rest + [(soft, lu)], out)
    return None


def function_of_a_fill(e):
    # f(c·1) = f(c)·1: an elementwise function of a constant tensor is that constant broadcast
    # (softplus(ones(N)) is softplus(1) ones(N), constant along its axis: Σᵢ (xᵢ − mean(x)) c = 0)
    (a,) = e.args
    if a.op is not Op.CONST or not a.ndim:
        return None
    return broadcast(unary(e.op, const(const_value(a))), a.shape)


def split_identity(e):
    # reshape(I_N, S + S) = Π_t δ(i_t, j_t) for N = Π S: the identity of the flat positions is
    # one delta per axis (d tr(A ⊗ B)/dA = tr(B) I, not a reshaped 6×6 identity)
    (a,) = e.args
    half = e.ndim // 2
    if a.op is not Op.EYE or e.ndim % 2 or e.shape[:half] != e.shape[half:] or half < 2:
        return None
    return einsum([(eye(d), (t, half + t)) for t, d in enumerate(e.shape[:half])],
                  tuple(range(e.ndim)))  # fmt: skip


def split_outer(e):
    # reshape(u vᵀ, S₁ + S₂) = reshape(u, S₁) ⊗ reshape(v, S₂) when Π S₁ = len(u): an outer
    # product reshaped along its own split is the outer product of the reshapes
    (a,) = e.args
    if a.op is not Op.EINSUM or a.ndim != 2 or not all(isinstance(d, int) for d in e.shape):
        return None
    ops, (p, q) = _ops(a)
    left = [o for o in ops if p in o[1]]
    right = [o for o in ops if o not in left]
    if any(q in ls for _, ls in left) or not any(q in ls for _, ls in right):
        return None
    if {x for _, ls in left for x in ls} & {x for _, ls in right for x in ls}:
        return None
    k = next((k for k in range(1, e.ndim) if math.prod(e.shape[:k]) == a.shape[0]), None)
    if k is None or not isinstance(a.shape[0], int):
        return None
    u, v = reshape(einsum(left, (p,)), e.shape[:k]), reshape(einsum(right, (q,)), e.shape[k:])
    return einsum([(u, tuple(range(k))), (v, tuple(range(k, e.ndim)))], tuple(range(e.ndim)))


def norm_of_zero(e):
    # ‖0‖ = 0 (an argument the rewrites proved zero, as mean(x − mean(x)) is)
    (a,) = e.args
    return const(0.0) if a.op is Op.CONST and const_value(a) == 0.0 and not e.attrs else None


def _direction_axes(f: Expr, fl):
    """(j, the labels of direction j's own axes, the other labels) of an expm_frechet node
    read with labels ``fl``, for each direction with axes of its own."""
    x, at = f.args[0], 0
    for j, d in enumerate(f.args[1:]):
        r = d.ndim - x.ndim
        if r:
            yield j, fl[at : at + r], fl[:at] + fl[at + r :]
        at += r


def frechet_sums_a_direction(e):
    # Σ_P G[Q, P] Dᵏe^X[…, E[P], …] = Dᵏe^X[…, Σ_P G[Q, P] E[P], …] (multilinear), when Q has
    # fewer axes than P: the gradient of ⟨W, e^X⟩ is L(Xᵀ, W), not a 4-tensor contracted with W
    ops, out = _ops(e)
    for k, (f, fl) in enumerate(ops):
        if f.op is not Op.EXPM_FRECHET:
            continue
        x, es = f.args[0], f.args[1:]
        tail = fl[len(fl) - x.ndim :]  # the stack and matrix labels
        for j, p, others in _direction_axes(f, fl):
            if set(p) & set(others) or len(set(tail)) != len(tail):
                continue
            near = [i for i, (_, ls) in enumerate(ops) if i != k and set(ls) & set(p)]
            tied = set(others) - set(tail[:-2])  # other directions' axes and the matrix's
            if any(set(ops[i][1]) & tied for i in near):
                continue
            kept = [x for x in p if x in out]  # axes of the result stay the direction's
            q = tuple(
                dict.fromkeys(kept + [x for i in near for x in ops[i][1] if x not in p + tail])
            )
            if len(q) >= len(set(p)):
                continue  # only where fewer directions are left to compute
            m = (("frechet", 0), ("frechet", 1))
            d = einsum([ops[i] for i in near] + [(es[j], p + tail[:-2] + m)], q + tail[:-2] + m)
            g = expm_frechet(x, *es[:j], d, *es[j + 1 :])
            rest = [o for i, o in enumerate(ops) if i != k and i not in near]
            at = fl.index(p[0])
            return einsum(rest + [(g, fl[:at] + q + fl[at + len(p) :])], out)
    return None


def _t(e: Expr) -> Expr:
    ls = tuple(range(e.ndim))
    return einsum([(e, ls)], ls[:-2] + ls[:-3:-1])


def frechet_applied_to_a_direction(e):
    # Σ_cd G[Q, c, d] Dᵏe^Y[…, U, …][a, b, c, d] = Dᵏe^(Yᵀ)[…ᵀ, G[Q]][a, b] (U: the unit
    # directions e_a e_bᵀ; the adjoint of a slot): the Jacobian applied to dX is L(X, dX)
    ops, out = _ops(e)
    for k, (f, fl) in enumerate(ops):
        if f.op is not Op.EXPM_FRECHET or len(set(fl)) != len(fl):
            continue
        y, es = f.args[0], f.args[1:]
        c, d, stack = fl[-2], fl[-1], fl[len(fl) - y.ndim : -2]
        near = [i for i, (_, ls) in enumerate(ops) if i != k and {c, d} & set(ls)]
        if c in out or d in out or len(near) != 1:
            continue
        g, gl = ops[near[0]]
        own = set(fl[: len(fl) - y.ndim])
        if gl.count(c) != 1 or gl.count(d) != 1 or own & set(gl):
            continue
        q = tuple(dict.fromkeys(x for x in gl if x not in (c, d) and x not in stack))
        units = frechet_units(y)
        for j, p, _ in _direction_axes(f, fl):
            if es[j] is not units or len(q) >= len(p):
                continue
            fill = [(ones((dim,)), (x,)) for x, dim in zip(stack, y.shape) if x not in gl]
            direction = einsum([(g, gl)] + fill, q + stack + (c, d))
            rest = [i for i in range(len(es)) if i != j]
            new = expm_frechet(_t(y), *(_t(es[i]) for i in rest), direction)
            labels = sum((p2 for i2, p2, _ in _direction_axes(f, fl) if i2 != j), ())
            others = [o for i, o in enumerate(ops) if i not in (k, near[0])]
            return einsum(others + [(new, labels + q + stack + p)], out)
    return None


def frechet_drops_identity(e):
    # Dᵏe^X[…, I, …] = Dᵏ⁻¹e^X[…]: e^(X+tI) = eᵗ e^X, so L(X, I) = e^X
    x, es = e.args[0], e.args[1:]
    for j, d in enumerate(es):
        if d.op is Op.EYE and x.ndim == 2:
            return expm_frechet(x, *es[:j], *es[j + 1 :])
    return None


def expm_of_transpose(e):
    # e^(Xᵀ) = (e^X)ᵀ
    (a,) = e.args
    if a.ndim == 2 and a.op is Op.EINSUM and len(a.args) == 1 and a.attrs[0][0] == a.attrs[1][::-1]:
        return transpose(func(Op.EXPM, a.args[0]))
    return None


IDENTITIES = {
    Op.EINSUM: [
        softmax_sums_to_one,
        exp_over_sum_is_softmax,
        delta_joins_vectors,
        delta_first_index,
        ones_once,
        frechet_sums_a_direction,
        frechet_applied_to_a_direction,
    ],
    **{op: [function_of_a_fill] for op in UNARY_OPS},
    Op.LOG: [log_of_sum_of_exp, function_of_a_fill],
    Op.NORM: [norm_of_zero],
    Op.RESHAPE: [split_identity, split_outer],
    Op.EXPM_FRECHET: [frechet_drops_identity],
    Op.EXPM: [expm_of_transpose],
}
