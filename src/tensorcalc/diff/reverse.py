"""The reverse-mode engine over the expression DAG.

The adjoint of a node ``v`` is the tensor ∂f/∂v, of shape ``f.shape + v.shape`` (a seed
Kronecker delta for a tensor-valued ``f``).  One sweep in reverse topological order contracts
each adjoint with the ``PARTIAL`` terms of the node and adds the result to the arguments'
adjoints, so the derivative is an ordinary expression of about the size of ``f``; repeating the
sweep gives derivatives of any order.  The canonical constructors contract the deltas away,
and ``poly.collapse`` writes elementwise polynomials in one function value expanded (the
derivatives of σ and tanh), so repeated sweeps stay small.

The work is bounded: ``MAX_ORDER`` caps the order of a derivative and ``MAX_NODES`` the size
of the graph a sweep starts from or builds; past either a ``DifferentiationError`` names the
limit before (or instead of) the work.
"""

from __future__ import annotations

import difflib
import unicodedata
from typing import NamedTuple

from ..build import add, const, einsum, eye, ones, var, zeros
from ..errors import DifferentiationError
from ..expr import Expr, postorder, variables
from ..ops import Op
from .poly import collapse
from .rules import PARTIAL, RULE_NAME

MAX_ORDER = 64  # the highest derivative order computed
MAX_NODES = 200_000  # the largest derivative graph (distinct nodes) built


class Step(NamedTuple):
    """One rule application: ``rule`` at ``node`` gave ``contribution`` to ∂f/∂``arg``."""

    rule: str
    node: Expr
    arg: Expr
    contribution: Expr


def wrt_variable(f: Expr, wrt, declared: dict | None = None) -> Expr:
    """The variable of ``f`` named ``wrt`` (a name or a ``VAR`` node), with a clear error.

    A name that does not occur in ``f`` but is in ``declared`` (name -> ``(shape, symmetric)``,
    the shapes given to ``parse`` or to the same call) is that variable: ``f`` is constant in
    it and its derivative is a zero of the right shape, as in SymPy and JAX.  Any other name
    that does not occur is an error with the nearest names, since it is likely a typo.

    >>> from tensorcalc import parse
    >>> wrt_variable(parse("x^2"), "y", {"y": ((3,), False)}).shape
    (3,)
    """
    if isinstance(wrt, Expr):
        if wrt.op is not Op.VAR:
            raise DifferentiationError(
                "differentiate with respect to a variable, not an expression"
            )
        return wrt
    found = variables(f)
    if isinstance(wrt, str):
        wrt = unicodedata.normalize("NFKC", wrt)  # names are NFKC-normalised where they enter
    if wrt not in found and isinstance(wrt, str) and wrt in (declared or {}):
        shape, symmetric = declared[wrt]
        return var(wrt, shape, symmetric=symmetric)
    if wrt not in found:
        names = ", ".join(sorted(found)) or "none"
        near = difflib.get_close_matches(str(wrt), list(found), n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise DifferentiationError(
            f"the expression has no variable {wrt!r} (its variables: {names}){hint} "
            "(declare it in shapes for a zero derivative)"
        )
    return found[wrt]


def check_order(order, least: int = 1) -> int:
    """``order`` if it is an int in ``least..MAX_ORDER``, else a ``DifferentiationError``."""
    if not isinstance(order, int) or isinstance(order, bool) or order < least:
        kind = "positive" if least else "non-negative"
        raise DifferentiationError(f"order must be a {kind} integer, got {order!r}")
    if order > MAX_ORDER:
        raise DifferentiationError(
            f"order {order} is above the limit of {MAX_ORDER} (tensorcalc.MAX_ORDER)"
        )
    return order


def _too_big(size: int, what: str):
    return DifferentiationError(
        f"{what} has {size} nodes, above the limit of {MAX_NODES} (tensorcalc.MAX_NODES)"
    )


def derivative(f: Expr, x: Expr, steps: list | None = None) -> Expr:
    """∂f/∂x with shape ``f.shape + x.shape``; rule applications are appended to ``steps``.

    >>> from tensorcalc import parse
    >>> print(derivative(parse("x^3"), parse("x")))
    3 * x^2
    """
    if x.op is not Op.VAR:
        raise DifferentiationError("can only differentiate with respect to a variable")
    order = postorder([f])
    if len(order) > MAX_NODES:
        raise _too_big(len(order), "the expression to differentiate")
    dep = set()
    for n in order:
        if n is x or any(a in dep for a in n.args):
            dep.add(n)
    if f not in dep:
        return zeros(f.shape + x.shape)
    batch = tuple(("b", k) for k in range(f.ndim))
    seeds = [(eye(d), (("b", k), ("s", k))) for k, d in enumerate(f.shape)]
    seed = einsum(seeds, batch + tuple(("s", k) for k in range(f.ndim)))
    adj = {f: [seed]}
    built = 0
    for n in reversed(order):
        if n is x or n not in dep:
            continue
        g = add(*adj.pop(n))
        for i, a in enumerate(n.args):
            if a not in dep:
                continue
            for t in PARTIAL[n.op](n, i):
                c = _contract(g, batch, t, a)
                built += 1 + len(c.args)
                if built > MAX_NODES:
                    raise _too_big(built, "the derivative")
                adj.setdefault(a, []).append(c)
                if steps is not None:
                    steps.append(Step(RULE_NAME[n.op], n, a, c))
    return collapse(add(*adj[x]))


def _contract(g, batch, t, a):
    """Σ_out g[batch, out] · coef · Π factors  →  [batch, arg]; repeated arg labels become δ's."""
    operands = [(const(t.coef), ()), (g, batch + tuple(("t", x) for x in t.out))]
    operands += [(e, tuple(("t", x) for x in ls)) for e, ls in t.factors]
    present = {x for _, ls in operands for x in ls}
    out = []
    for k, x in enumerate(t.arg):
        label = ("t", x)
        if label in out:
            operands.append((eye(a.shape[k]), (label, ("d", k))))
            label = ("d", k)
        elif label not in present:
            operands.append((ones(a.shape[k : k + 1]), (label,)))
        out.append(label)
    return einsum(operands, batch + tuple(out))
