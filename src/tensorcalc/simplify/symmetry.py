"""Which matrices are symmetric, and one orientation for them inside products.

``is_symmetric(e)`` answers from a table with one entry per op (``SYMMETRIC``), so a new op or
a new kind of symmetric leaf (a variable declared symmetric) is one line.  A product is
symmetric when it equals its own transpose once its symmetric operands are turned one way
(``X' @ X``, ``L @ L'``, ``A' @ diag(d) @ A``, ``X' @ S @ X`` with S symmetric); a sum when its
terms, transposed, are its terms again (``A + A'``).

``orient(e)`` is that one way: every symmetric operand of a product gets the index order that
makes the product's digest smallest, so ``X @ S`` and ``X @ S'`` are one node and equal terms
merge (``M + M'`` with M symmetric is ``2 * M``).
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache

import numpy as np

from ..build import array_value, einsum, is_symmetric_var, transpose
from ..expr import Expr
from ..ops import KIND, UNARY, Op


def _square(e: Expr) -> bool:
    return e.ndim == 2 and e.shape[0] == e.shape[1]


def _product(e: Expr) -> bool:
    # (P)ᵀ = P after turning symmetric operands one way: X'X, LL', A' diag(d) A, X' S X
    return orient(transpose(e), True) is orient(e, True)


def _sum(e: Expr) -> bool:
    # Σ tₖ is symmetric when {tₖᵀ} = {tₖ}: A + A', B + B' + C with C symmetric
    own = Counter(orient(t, True) for t in e.args)
    return own == Counter(orient(transpose(t), True) for t in e.args)


def _args(e: Expr) -> bool:
    # f(S) elementwise, or inv(S): symmetric when every argument is
    return all(is_symmetric(a) for a in e.args)


def _array(e: Expr) -> bool:
    a = array_value(e)
    return bool(np.array_equal(a, a.T))


SYMMETRIC = {
    Op.VAR: is_symmetric_var,  # a general matrix unless declared symmetric ("n,n,sym")
    Op.CONST: lambda e: True,  # c·11ᵀ
    Op.EYE: lambda e: True,  # I
    Op.SELECT: lambda e: e.attrs[0] == e.attrs[1],  # a square selection is the reversal J = Jᵀ
    Op.ARRAY: _array,
    Op.COMMUTATION: lambda e: e.attrs[0] == e.attrs[1],  # K_{n,n} = K_{n,n}ᵀ (K_{m,n}ᵀ = K_{n,m})
    Op.EINSUM: _product,
    Op.ADD: _sum,
    Op.POW: _args,  # S^k elementwise
    Op.DIV: _args,  # S / T elementwise
    Op.INV: _args,  # inv(S)ᵀ = inv(Sᵀ) = inv(S)
    Op.DET: lambda e: False,  # scalars
    Op.LOGDET: lambda e: False,
    Op.NORM: lambda e: False,
    Op.UNIT: _args,  # S / ‖S‖
    Op.LOGSUMEXP: lambda e: False,
    Op.SOFTMAX: lambda e: False,  # a vector function
    Op.CHOLESKY: lambda e: False,  # lower triangular
    Op.PHI: lambda e: False,
    Op.EIGVALSH: lambda e: False,  # a vector
    Op.EIGVECSH: lambda e: False,  # orthogonal
    Op.SVDVALS: lambda e: False,  # a vector
    Op.PINV: _args,  # pinv(S)ᵀ = pinv(Sᵀ)
    Op.EXPM: _args,  # e^(S)ᵀ = e^(Sᵀ)
    Op.EXPM_FRECHET: _args,  # L(S, E)ᵀ = L(Sᵀ, Eᵀ)
    Op.STACK: lambda e: (
        all(r.op is Op.STACK for r in e.args)
        and all(r.args[j] is e.args[j].args[i] for i, r in enumerate(e.args) for j in range(i))
    ),  # [[a, b], [b, c]]
    Op.RESHAPE: lambda e: False,  # not in general
    Op.KRON: _args,  # (S ⊗ T)ᵀ = Sᵀ ⊗ Tᵀ = S ⊗ T
}
SYMMETRIC.update({op: _args for op in Op if KIND[op] == UNARY})  # f(S) elementwise


@lru_cache(maxsize=16384)
def is_symmetric(e: Expr) -> bool:
    """Whether the square matrix ``e`` equals its transpose (False when it cannot tell).

    >>> from tensorcalc import build as b
    >>> X = b.var("X", ("m", "n"))
    >>> is_symmetric(b.matmul(b.transpose(X), X)), is_symmetric(X)
    (True, False)
    """
    return _square(e) and SYMMETRIC[e.op](e)


MAX_TURNS = 8  # symmetric operands turned per product: each turn rebuilds the product (the
# chain rule through 50 nested sin of a symmetric matrix gives products of 50 symmetric cos(…))


def _key(e: Expr):
    return (e.op is Op.EINSUM, e.digest)  # S itself before any product that relabels it


@lru_cache(maxsize=16384)
def orient(e: Expr, leaves: bool = False) -> Expr:
    """``e`` with the symmetric operands of its product turned the way that sorts first; δ, the
    reversal and c·11ᵀ only with ``leaves`` (to compare, not to print: build turns them)."""
    if e.op is not Op.EINSUM:
        return e
    ins, out = e.attrs
    ops = list(zip(e.args, ins))
    best, tried = e, 0
    for k, (a, ls) in enumerate(ops):
        if len(ls) != 2 or ls[0] == ls[1] or not is_symmetric(a):
            continue
        if a.op in (Op.EYE, Op.CONST, Op.SELECT) and not leaves:
            continue
        tried += 1
        if tried > MAX_TURNS:
            break
        flipped = ops[:k] + [(a, ls[::-1])] + ops[k + 1 :]
        cand = einsum(flipped, out)
        if _key(cand) < _key(best):
            best, ops = cand, flipped
    return best
