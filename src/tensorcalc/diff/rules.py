"""Derivative rules as tables, one line per op with the math in a comment.

Every rule gives the partial derivative tensor ∂out/∂arg of a node as a short list of
``Term``s: ``coef · Π factors`` with index labels, where ``out`` names the node's indices and
``arg`` the argument's.  Reusing an ``out`` label in ``arg`` means a diagonal (a Kronecker delta),
which is how elementwise rules are written.  The engine contracts the incoming adjoint with
these factors; it never looks at which op it is handling.

``D1`` holds the scalar derivatives of elementwise functions (f′ from x and y = f(x)), ``D2``
the two partials of the binary elementwise ops; both are turned into ``PARTIAL`` entries.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..build import (
    add,
    array,
    const,
    delta,
    div,
    einsum,
    expm_frechet,
    eye,
    frechet_units,
    func,
    mul,
    neg,
    ones,
    pow_,
    sub,
    unary,
    zeros,
)
from ..ops import Op
from ..shapes import reshape_parts


class Term(NamedTuple):
    coef: float
    out: tuple  # labels of the node's axes
    arg: tuple  # labels of the argument's axes (repeats of out labels = diagonal)
    factors: tuple  # ((Expr, labels), ...)


def ix(rank: int, start: int = 0) -> str:
    return "abcdefghijklmnopqrstuvwxyz"[start : start + rank]


def term(coef, out, arg, *factors):
    return Term(coef, tuple(out), tuple(arg), tuple((e, tuple(labels)) for e, labels in factors))


D1 = {
    Op.EXP: lambda x, y: y,  # d eˣ = eˣ dx
    Op.LOG: lambda x, y: div(1, x),  # d log x = dx / x
    Op.SIN: lambda x, y: unary(Op.COS, x),  # d sin x = cos x dx
    Op.COS: lambda x, y: neg(unary(Op.SIN, x)),  # d cos x = −sin x dx
    Op.TAN: lambda x, y: add(1, pow_(y, 2)),  # d tan x = (1 + tan²x) dx
    Op.ARCSIN: lambda x, y: pow_(sub(1, pow_(x, 2)), -0.5),  # d arcsin x = dx / √(1 − x²)
    Op.ARCCOS: lambda x, y: neg(pow_(sub(1, pow_(x, 2)), -0.5)),  # d arccos x = −dx / √(1 − x²)
    Op.ARCTAN: lambda x, y: div(1, add(1, pow_(x, 2))),  # d arctan x = dx / (1 + x²)
    Op.TANH: lambda x, y: sub(1, pow_(y, 2)),  # d tanh x = (1 − tanh²x) dx
    Op.SQRT: lambda x, y: div(0.5, y),  # d √x = dx / (2√x)
    Op.ABS: lambda x, y: unary(Op.SIGN, x),  # d|x| = sign(x) dx   (x ≠ 0)
    Op.SIGN: lambda x, y: zeros(x.shape),  # d sign(x) = 0       (x ≠ 0)
    Op.STEP: lambda x, y: zeros(x.shape),  # d step(x) = 0       (x ≠ 0)
    Op.RELU: lambda x, y: unary(Op.STEP, x),  # d relu(x) = step(x) dx   (x ≠ 0)
    Op.SIGMOID: lambda x, y: mul(y, sub(1, y)),  # dσ = σ(1 − σ) dx
    Op.SOFTPLUS: lambda x, y: unary(Op.SIGMOID, x),  # d log(1 + eˣ) = σ(x) dx
    Op.LOG1P: lambda x, y: div(1, add(1, x)),  # d log(1 + x) = dx / (1 + x)
}

D2 = {
    Op.POW: lambda a, b, y: (mul(b, pow_(a, sub(b, 1))), mul(y, unary(Op.LOG, a))),  # d aᵇ = b aᵇ⁻¹ da + aᵇ log a db
    Op.DIV: lambda a, b, y: (div(1, b), neg(div(y, b))),  # d(a/b) = da / b − (a/b) db / b
}  # fmt: skip


def _einsum_partial(n, i):
    ins, out = n.attrs
    others = [(a, ls) for k, (a, ls) in enumerate(zip(n.args, ins)) if k != i]
    return [term(1.0, out, ins[i], *others)]  # product rule: d Π Aₖ = Σₖ (Π_{j≠k} Aⱼ) dAₖ


def _o(n):
    return ix(n.ndim)


def _a(n):
    return ix(n.args[0].ndim)


def _other(n):
    """Labels of the softmax argument in its second term: all fresh over all entries; along
    axis k only the k-th is fresh (the other indices are shared, a slice-wise delta)."""
    if not n.attrs:
        return ix(n.ndim, n.ndim)
    fresh = "zyxwvu"
    return "".join(fresh[n.attrs.index(k)] if k in n.attrs else x for k, x in enumerate(_o(n)))


def _fresh(n):
    """Labels for a second copy of the node's axes, all new."""
    return ix(n.ndim, n.ndim)


def _inorm(n):
    """1 / ‖x‖ of a unit tensor u = x / ‖x‖."""
    return div(1, func(Op.NORM, n.args[0]))


def _lse_out(n):
    """The logsumexp's own labels: none over all entries, the argument's minus the axis."""
    return "".join(x for k, x in enumerate(_a(n)) if k not in n.attrs) if n.attrs else ""


def _stack(n):
    """Labels of the leading (stack) axes of a batched matrix argument: shared by the node and
    its argument, so each matrix of the stack depends only on its own (a delta on them)."""
    return tuple(("stack", k) for k in range(n.args[0].ndim - 2))


def _m(n, pair):
    """The stack labels followed by two matrix labels."""
    return _stack(n) + tuple(pair)


def _phi_mask(n):
    """Φ's mask: ones below the diagonal, 1/2 on it, zeros above (Φ(X) = mask ⊙ X)."""
    k = n.args[0].shape[-1]
    return func(Op.PHI, ones((k, k)))


def _chol(n, e, f):
    """½ ∂L/∂S with dS read at (e, f): L Φ(L⁻¹ dS L⁻ᵀ), index form (c summed)."""
    li = func(Op.INV, n)
    return term(
        0.5,
        _m(n, "ab"),
        _m(n, "ef"),
        (n, _m(n, "ac")),
        (_phi_mask(n), "cb"),
        (li, _m(n, "c" + e)),
        (li, _m(n, "b" + f)),
    )


def _gaps(n):
    """F with F_ij = 1 / (λ_j − λ_i) off the diagonal and 0 on it, λ = eigvalsh(S) (per matrix
    of a stack): the eigenvector differential's weights.  The diagonal reads 1 / 1 (λ_j − λ_i +
    δ_ij), masked by 1 − δ_ij, so nothing divides by zero there."""
    lam, k = func(Op.EIGVALSH, n.args[0]), n.args[0].shape[-1]
    s = _stack(n)
    diff = add(
        einsum([(lam, s + ("j",)), (ones((k,)), ("i",))], s + ("i", "j")),
        neg(einsum([(lam, s + ("i",)), (ones((k,)), ("j",))], s + ("i", "j"))),
        einsum([(ones(n.args[0].shape[:-2]), s), (eye(k), ("i", "j"))], s + ("i", "j")),
    )
    return mul(
        sub(ones(n.shape), einsum([(ones(n.shape[:-2]), s), (eye(k), ("i", "j"))], s + ("i", "j"))),
        div(1, diff),
    )


def _eigvec(n, c, d):
    """½ ∂V/∂S read at (c, d): V (F ⊙ (Vᵀ dS V)), j summed."""
    return term(
        0.5,
        _m(n, "ab"),
        _m(n, "cd"),
        (n, _m(n, "aj")),
        (_gaps(n), _m(n, "jb")),
        (n, _m(n, c + "j")),
        (n, _m(n, d + "b")),
    )


def _svd_vectors(n):
    """The singular vectors on the smaller side, descending: the eigenvectors of −XᵀX or −XXᵀ
    (ascending in −σ², so no reversal, which a named size could not write), and whether they are
    the right ones (m ≥ n; the shape rule admits named sizes only for a square X)."""
    x = n.args[0]
    m, k = x.shape[-2:]
    right = m == k or k < m
    s = _stack(n)
    gram = (
        einsum([(x, s + ("p", "a")), (x, s + ("p", "b")), (const(-1.0), ())], s + ("a", "b"))
        if right
        else einsum([(x, s + ("a", "p")), (x, s + ("b", "p")), (const(-1.0), ())], s + ("a", "b"))
    )
    return func(Op.EIGVECSH, gram), right


def _svdvals(n):
    """∂σᵢ/∂X = uᵢ vᵢᵀ, with u = X v / σ (right vectors v) or v = Xᵀ u / σ (left vectors u)."""
    v, right = _svd_vectors(n)
    inv_s = div(1, n)
    if right:
        return [
            term(
                1.0,
                _stack(n) + ("i",),
                _m(n, "cd"),
                (n.args[0], _m(n, "ck")),
                (v, _m(n, "ki")),
                (v, _m(n, "di")),
                (inv_s, _stack(n) + ("i",)),
            )
        ]
    return [
        term(
            1.0,
            _stack(n) + ("i",),
            _m(n, "cd"),
            (v, _m(n, "ci")),
            (n.args[0], _m(n, "kd")),
            (v, _m(n, "ki")),
            (inv_s, _stack(n) + ("i",)),
        )
    ]


def _pinv(n):
    """dX⁺ = −X⁺ dX X⁺ + X⁺X⁺ᵀ dXᵀ (I − X X⁺) + (I − X⁺X) dXᵀ X⁺ᵀX⁺ (full rank), index form."""
    x, p, s = n.args[0], n, _stack(n)
    ppt = einsum([(p, s + ("a", "k")), (p, s + ("d", "k"))], s + ("a", "d"))  # X⁺ X⁺ᵀ
    ptp = einsum([(p, s + ("k", "c")), (p, s + ("k", "b"))], s + ("c", "b"))  # X⁺ᵀ X⁺
    xp = einsum([(x, s + ("c", "k")), (p, s + ("k", "b"))], s + ("c", "b"))  # X X⁺
    px = einsum([(p, s + ("a", "k")), (x, s + ("k", "d"))], s + ("a", "d"))  # X⁺ X
    m, k = x.shape[-2:]
    left = sub(einsum([(ones(x.shape[:-2]), s), (eye(m), ("c", "b"))], s + ("c", "b")), xp)
    right = sub(einsum([(ones(x.shape[:-2]), s), (eye(k), ("a", "d"))], s + ("a", "d")), px)
    return [
        term(-1.0, _m(n, "ab"), _m(n, "cd"), (p, _m(n, "ac")), (p, _m(n, "db"))),
        term(1.0, _m(n, "ab"), _m(n, "cd"), (ppt, _m(n, "ad")), (left, _m(n, "cb"))),
        term(1.0, _m(n, "ab"), _m(n, "cd"), (right, _m(n, "ad")), (ptp, _m(n, "cb"))),
    ]


def _reshape(n):
    """∂ reshape(A)/∂A: the kept leading and trailing indices shared (a delta), the ones
    between tied by a reshaped identity D (``build.delta``), which the product contracts with
    the adjoint as a reshape of it."""
    a = n.args[0]
    p, q = reshape_parts(a.shape, n.shape)
    o, mid = _o(n), ix(a.ndim - p - q, n.ndim)
    tie = delta(n.shape[p : n.ndim - q], a.shape[p : a.ndim - q])
    return [term(1.0, o, o[:p] + mid + o[n.ndim - q :], (tie, o[p : n.ndim - q] + mid))]


def _kron(n, i):
    """∂ kron(A, B)/∂A (i = 0) and /∂B: per axis a reshaped identity ties the index of the
    product to the pair of indices (of A, of B) it is made of; the other factor is kept."""
    a, b = n.args
    r = n.ndim
    o, la, lb = _o(n), ix(r, r), ix(r, 2 * r)
    ties = [(delta(n.shape[t : t + 1], (a.shape[t], b.shape[t])), o[t] + la[t] + lb[t])
            for t in range(r)]  # fmt: skip
    return [term(1.0, o, (la, lb)[i], *ties, ((b, lb), (a, la))[i])]


def _t(e):
    """Eᵀ on the last two axes (of a stack, of a direction with leading axes)."""
    ls = tuple(range(e.ndim))
    return einsum([(e, ls)], ls[:-2] + ls[:-3:-1])


def _stack_of(x):
    return tuple(("stack", k) for k in range(x.ndim - 2))


def _frechet(n, i):
    """∂Dᵏe^X[E₁…Eₖ]_ab / ∂X_cd = Dᵏ⁺¹e^X[E₁…Eₖ, e_c e_dᵀ]_ab = Dᵏ⁺¹e^(Xᵀ)[E₁ᵀ…Eₖᵀ, e_a e_bᵀ]_cd
    (i = 0; the adjoint of the last slot, so an adjoint G contracted over a, b is a direction:
    L(Xᵀ, G)); ∂/∂Eᵢ, linear: Dᵏe^(Xᵀ)[…Eⱼᵀ (j ≠ i)…, e_a e_bᵀ]_cd, a delta on Eᵢ's own axes."""
    x, es = n.args[0], n.args[1:]
    s = _stack_of(x)
    own = [tuple(("p", j, q) for q in range(e.ndim - x.ndim)) for j, e in enumerate(es)]
    keep = [j for j in range(len(es)) if j != i - 1]
    f = expm_frechet(_t(x), *(_t(es[j]) for j in keep), frechet_units(x))
    labels = sum((own[j] for j in keep), ()) + ("a", "b") + s + ("c", "d")
    arg = (own[i - 1] if i else ()) + s + ("c", "d")
    return [term(1.0, sum(own, ()) + s + ("a", "b"), arg, (f, labels))]


def _unit_vector(n, i):
    """eᵢ of length n, the i-th column of the identity."""
    return array(np.eye(n)[i])


PARTIAL = {
    Op.ADD: lambda n, i: [term(1.0, _o(n), _o(n))],  # d(a + b) = da + db
    Op.EINSUM: _einsum_partial,  # d(A ⊙ B) = dA ⊙ B + A ⊙ dB, in index form
    Op.INV: lambda n, i: [term(-1.0, _m(n, "ab"), _m(n, "cd"), (n, _m(n, "ac")), (n, _m(n, "db")))],  # d X⁻¹ = −X⁻¹ dX X⁻¹ (per matrix of a stack)
    Op.DET: lambda n, i: [term(1.0, _stack(n), _m(n, "cd"), (n, _stack(n)), (func(Op.INV, n.args[0]), _m(n, "dc")))],  # d det X = det X tr(X⁻¹ dX)
    Op.LOGDET: lambda n, i: [term(1.0, _stack(n), _m(n, "cd"), (func(Op.INV, n.args[0]), _m(n, "dc")))],  # d log|det X| = tr(X⁻¹ dX)
    Op.NORM: lambda n, i: [term(1.0, "", _a(n), (n.args[0], _a(n)), (div(1, n), ""))],  # d‖x‖ = xᵀdx / ‖x‖
    Op.UNIT: lambda n, i: [term(1.0, _o(n), _o(n), (_inorm(n), "")), term(-1.0, _o(n), _fresh(n), (n, _o(n)), (n, _fresh(n)), (_inorm(n), ""))],  # u = x / ‖x‖: du = (I − u uᵀ) dx / ‖x‖, ∂u_I/∂x_J = (δ_IJ − u_I u_J) / ‖x‖
    Op.SOFTMAX: lambda n, i: [term(1.0, _o(n), _o(n), (n, _o(n))), term(-1.0, _o(n), _other(n), (n, _o(n)), (n, _other(n)))],  # ds = s ⊙ dx − s (sᵀ dx); along axis k the sᵀdx is per slice: ∂s_I/∂x_J = s_I δ_IJ − s_I s_J δ_{I∖k, J∖k}
    Op.CHOLESKY: lambda n, i: [_chol(n, "e", "f"), _chol(n, "f", "e")],  # dL = L Φ(L⁻¹ dS L⁻ᵀ) on sym(dS) = (dS + dSᵀ)/2, Φ: lower triangle, diagonal halved
    Op.PHI: lambda n, i: [term(1.0, _m(n, "ab"), _m(n, "ab"), (_phi_mask(n), "ab"))],  # dΦ(X) = Φ(dX) = mask ⊙ dX
    Op.EIGVALSH: lambda n, i: [term(1.0, _stack(n) + ("i",), _m(n, "cd"), (func(Op.EIGVECSH, n.args[0]), _m(n, "ci")), (func(Op.EIGVECSH, n.args[0]), _m(n, "di")))],  # dλᵢ = vᵢᵀ dS vᵢ (distinct eigenvalues)
    Op.EIGVECSH: lambda n, i: [_eigvec(n, "c", "d"), _eigvec(n, "d", "c")],  # dV = V (F ⊙ (Vᵀ sym(dS) V)), F_ij = 1 / (λ_j − λ_i), F_ii = 0
    Op.SVDVALS: lambda n, i: _svdvals(n),  # dσᵢ = uᵢᵀ dX vᵢ (full rank, distinct σ), so d‖X‖_* = ⟨U Vᵀ, dX⟩
    Op.PINV: lambda n, i: _pinv(n),  # dX⁺ = −X⁺ dX X⁺ + X⁺X⁺ᵀ dXᵀ (I − X X⁺) + (I − X⁺X) dXᵀ X⁺ᵀX⁺ (full rank)
    Op.EXPM: lambda n, i: [term(1.0, _m(n, "ab"), _m(n, "cd"), (expm_frechet(_t(n.args[0]), frechet_units(n.args[0])), ("a", "b") + _m(n, "cd")))],  # d e^X = L(X, dX): ∂(e^X)_ab/∂X_cd = L(X, e_c e_dᵀ)_ab = L(Xᵀ, e_a e_bᵀ)_cd, L(X, E) = ∫₀¹ e^(sX) E e^((1−s)X) ds
    Op.EXPM_FRECHET: _frechet,  # d Dᵏe^X[E₁…Eₖ] = Dᵏ⁺¹e^X[E₁…Eₖ, dX] + Σᵢ Dᵏe^X[E₁…dEᵢ…Eₖ] (multilinear in the Eᵢ)
    Op.LOGSUMEXP: lambda n, i: [term(1.0, _lse_out(n), _a(n), (func(Op.SOFTMAX, n.args[0], n.attrs or None), _a(n)))],  # d lse(x) = softmax(x)ᵀ dx; along axis k: ∂l_{I∖k}/∂x_I = softmax(x, k)_I
    Op.STACK: lambda n, i: [term(1.0, _o(n), _o(n)[1:], (_unit_vector(len(n.args), i), _o(n)[:1]))],  # d[a, b] = [da, db]: ∂[..]ₖ/∂(entry i) = δₖᵢ
    Op.RESHAPE: lambda n, i: _reshape(n),  # d reshape(A) = reshape(dA), so d vec(X) = vec(dX)
    Op.KRON: _kron,  # d kron(A, B) = kron(dA, B) + kron(A, dB)
}  # fmt: skip
for _op in D1:
    PARTIAL[_op] = lambda n, i: [
        term(1.0, _o(n), _o(n), (D1[n.op](n.args[0], n), _o(n)))
    ]  # chain rule: d f(x) = f′(x) ⊙ dx
for _op in D2:
    PARTIAL[_op] = lambda n, i: [
        term(1.0, _o(n), _o(n), (D2[n.op](*n.args, n)[i], _o(n)))
    ]  # chain rule, per argument

RULE_NAME = {
    Op.ADD: "sum rule",
    Op.EINSUM: "product rule",
    Op.INV: "matrix identity d(X⁻¹) = −X⁻¹ dX X⁻¹",
    Op.DET: "matrix identity d det X = det X · tr(X⁻¹ dX)",
    Op.LOGDET: "matrix identity d log|det X| = tr(X⁻¹ dX)",
    Op.NORM: "chain rule d‖x‖ = xᵀdx / ‖x‖",
    Op.UNIT: "unit-vector rule d(x / ‖x‖) = (I − u uᵀ) dx / ‖x‖",
    Op.SOFTMAX: "softmax rule ds = s ⊙ dx − s (sᵀdx)",
    Op.LOGSUMEXP: "chain rule d logsumexp(x) = softmax(x)ᵀdx",
    Op.CHOLESKY: "Cholesky rule dL = L Φ(L⁻¹ dS L⁻ᵀ)",
    Op.PHI: "linearity dΦ(X) = Φ(dX)",
    Op.EIGVALSH: "eigenvalue rule dλᵢ = vᵢᵀ dS vᵢ",
    Op.EIGVECSH: "eigenvector rule dV = V (F ⊙ (Vᵀ dS V)), F_ij = 1 / (λ_j − λ_i)",
    Op.SVDVALS: "singular-value rule dσᵢ = uᵢᵀ dX vᵢ",
    Op.PINV: "pseudo-inverse rule dX⁺ = −X⁺ dX X⁺ + X⁺X⁺ᵀ dXᵀ (I − XX⁺) + (I − X⁺X) dXᵀ X⁺ᵀX⁺",
    Op.EXPM: "Fréchet derivative d e^X = L(X, dX)",
    Op.EXPM_FRECHET: "Fréchet derivative d Dᵏe^X[E…] = Dᵏ⁺¹e^X[E…, dX] + Σᵢ Dᵏe^X[…dEᵢ…]",
    Op.POW: "power rule d aᵇ = b aᵇ⁻¹ da + aᵇ log a db",
    Op.DIV: "quotient rule d(a/b) = (da·b − a·db) / b²",
    Op.STACK: "entry by entry d[a, b] = [da, db]",
    Op.RESHAPE: "linearity d reshape(A) = reshape(dA)",
    Op.KRON: "product rule d(A ⊗ B) = dA ⊗ B + A ⊗ dB",
}
for _op in D1:
    RULE_NAME[_op] = f"chain rule for {_op.value}"
