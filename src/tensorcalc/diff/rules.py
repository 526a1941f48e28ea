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

from ..build import add, array, div, func, mul, neg, pow_, sub, unary, zeros
from ..ops import Op


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
    k = n.attrs[0]
    return _o(n)[:k] + "z" + _o(n)[k + 1 :]


def _fresh(n):
    """Labels for a second copy of the node's axes, all new."""
    return ix(n.ndim, n.ndim)


def _inorm(n):
    """1 / ‖x‖ of a unit tensor u = x / ‖x‖."""
    return div(1, func(Op.NORM, n.args[0]))


def _lse_out(n):
    """The logsumexp's own labels: none over all entries, the argument's minus the axis."""
    return _a(n)[: n.attrs[0]] + _a(n)[n.attrs[0] + 1 :] if n.attrs else ""


def _unit_vector(n, i):
    """eᵢ of length n, the i-th column of the identity."""
    return array(np.eye(n)[i])


PARTIAL = {
    Op.ADD: lambda n, i: [term(1.0, _o(n), _o(n))],  # d(a + b) = da + db
    Op.EINSUM: _einsum_partial,  # d(A ⊙ B) = dA ⊙ B + A ⊙ dB, in index form
    Op.INV: lambda n, i: [term(-1.0, "ab", "cd", (n, "ac"), (n, "db"))],  # d X⁻¹ = −X⁻¹ dX X⁻¹
    Op.DET: lambda n, i: [term(1.0, "", "cd", (n, ""), (func(Op.INV, n.args[0]), "dc"))],  # d det X = det X tr(X⁻¹ dX)
    Op.LOGDET: lambda n, i: [term(1.0, "", "cd", (func(Op.INV, n.args[0]), "dc"))],  # d log|det X| = tr(X⁻¹ dX)
    Op.NORM: lambda n, i: [term(1.0, "", _a(n), (n.args[0], _a(n)), (div(1, n), ""))],  # d‖x‖ = xᵀdx / ‖x‖
    Op.UNIT: lambda n, i: [term(1.0, _o(n), _o(n), (_inorm(n), "")), term(-1.0, _o(n), _fresh(n), (n, _o(n)), (n, _fresh(n)), (_inorm(n), ""))],  # u = x / ‖x‖: du = (I − u uᵀ) dx / ‖x‖, ∂u_I/∂x_J = (δ_IJ − u_I u_J) / ‖x‖
    Op.SOFTMAX: lambda n, i: [term(1.0, _o(n), _o(n), (n, _o(n))), term(-1.0, _o(n), _other(n), (n, _o(n)), (n, _other(n)))],  # ds = s ⊙ dx − s (sᵀ dx); along axis k the sᵀdx is per slice: ∂s_I/∂x_J = s_I δ_IJ − s_I s_J δ_{I∖k, J∖k}
    Op.LOGSUMEXP: lambda n, i: [term(1.0, _lse_out(n), _a(n), (func(Op.SOFTMAX, n.args[0], *n.attrs), _a(n)))],  # d lse(x) = softmax(x)ᵀ dx; along axis k: ∂l_{I∖k}/∂x_I = softmax(x, k)_I
    Op.STACK: lambda n, i: [term(1.0, _o(n), _o(n)[1:], (_unit_vector(len(n.args), i), _o(n)[:1]))],  # d[a, b] = [da, db]: ∂[..]ₖ/∂(entry i) = δₖᵢ
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
    Op.POW: "power rule d aᵇ = b aᵇ⁻¹ da + aᵇ log a db",
    Op.DIV: "quotient rule d(a/b) = (da·b − a·db) / b²",
    Op.STACK: "entry by entry d[a, b] = [da, db]",
}
for _op in D1:
    RULE_NAME[_op] = f"chain rule for {_op.value}"
