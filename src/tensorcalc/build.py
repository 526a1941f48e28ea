"""Canonical constructors: every node the library builds goes through these.

They keep the IR in the normal form of the Einstein-notation design, so that structurally
equal results are one interned node and printing can recover matrix notation:

* ``einsum`` merges nested products into one, folds constant factors into a leading scalar
  coefficient, drops all-ones factors whose indices are carried elsewhere, contracts Kronecker
  deltas (``EYE``) away by relabelling indices, and relabels/sorts operands canonically;
* ``add`` flattens sums, drops zeros, collects like terms (``x + x → 2 * x``) and factors out
  a common part of two products (``A @ x + A' @ x → (A + A') @ x``);
* the elementwise constructors broadcast scalars and fold trivial constants.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import Counter
from contextvars import ContextVar
from functools import reduce
from operator import or_

import numpy as np

from .errors import NumericError, ShapeError
from .expr import Expr, node, postorder
from .ops import KIND, UNARY, Op
from .shapes import MAX_OPERANDS, MAX_RANK, as_shape, check_dim, check_name, reshape_parts


def var(name: str, shape=(), symmetric: bool = False) -> Expr:
    """A variable; ``shape`` is a tuple of ints and dimension names.  A ``symmetric`` one is a
    square matrix with S' = S (attrs ``(name, shape, "symmetric")``).  Names and dimension
    names are checked to be identifiers and NFKC-normalised (``var("ｘ")`` is ``var("x")``)."""
    name, shape = check_name(name), as_shape(shape)
    if symmetric:
        if len(shape) != 2 or shape[0] != shape[1]:
            raise ShapeError("variable", [shape], f"symmetric {name} must be a square matrix")
        return node(Op.VAR, (), (name, shape, "symmetric"))
    return node(Op.VAR, (), (name, shape))


def is_symmetric_var(e: Expr) -> bool:
    """Whether ``e`` is a variable declared symmetric."""
    return e.op is Op.VAR and e.attrs[2:] == ("symmetric",)


def const(value, shape=()) -> Expr:
    """A tensor of the given shape filled with ``value`` (a finite number)."""
    value = float(value)
    if not math.isfinite(value):
        raise NumericError(
            f"a constant is {value} (it overflowed float64 or is undefined); "
            "rescale the expression or use a variable"
        )
    return node(Op.CONST, (), (value, as_shape(shape)))


def zeros(shape) -> Expr:
    """A constant array of zeros of ``shape`` (ints and dimension names).

    >>> import tensorcalc as tc
    >>> print(tc.zeros(("n",)), tc.zeros((2, 3)).shape)
    zeros(n) (2, 3)
    """
    return const(0.0, shape)


def ones(shape) -> Expr:
    """A constant array of ones of ``shape`` (ints and dimension names).

    >>> import tensorcalc as tc
    >>> print(tc.ones((2, 3)))
    ones(2, 3)
    """
    return const(1.0, shape)


def eye(n) -> Expr:
    """The n×n identity matrix (the Kronecker delta).

    >>> import tensorcalc as tc
    >>> print(tc.derivative(tc.vector("x", 3), "x"))
    eye(3)
    """
    return node(Op.EYE, (), as_shape((n,)))


def select(m: int, n: int, start: int, step: int = 1) -> Expr:
    """The m×n selection matrix S with S[i, start + i·step] = 1: ``S @ x`` is a slice of x."""
    if not all(isinstance(v, int) for v in (m, n, start, step)) or m < 1 or step == 0:
        raise ShapeError("select", [], f"bad selection ({m}, {n}, {start}, {step})")
    last = start + (m - 1) * step
    if not (0 <= start < n and 0 <= last < n):
        raise ShapeError("select", [(n,)], f"rows {start}..{last} are out of range for length {n}")
    if m == 1:
        step = 1  # one row: the step is never used, so x[2:3] and x[2:3:5] are one node
    if (m, start, step) == (n, 0, 1):
        return eye(n)  # x[::1] = x
    return node(Op.SELECT, (), (m, n, start, step))


def commutation(m, n) -> Expr:
    """The commutation matrix K_{m,n} of Magnus and Neudecker: the mn×mn permutation with
    K vec(A) = vec(Aᵀ) for every m×n matrix A (``K[i·n + j, j·m + i] = 1``); sizes are ints.

    >>> import tensorcalc as tc
    >>> A = tc.matrix("A", 2, 3)
    >>> print(tc.commutation(2, 3) @ tc.vec(A))
    commutation(2, 3) @ vec(A)
    >>> print(tc.commutation(2, 3).evaluate() @ [1.0, 4.0, 2.0, 5.0, 3.0, 6.0])
    [1. 2. 3. 4. 5. 6.]
    """
    m, n = as_shape((m, n))  # NumPy ints count as ints; a size over MAX_DIM is refused
    if not all(isinstance(d, int) for d in (m, n)):
        raise ShapeError("commutation", [], f"commutation(m, n) needs int sizes, got ({m}, {n})")
    check_dim(m * n)  # its mn×mn shape
    if m == 1 or n == 1:
        return eye(m * n)  # vec(A) = vec(A') for a vector
    return node(Op.COMMUTATION, (), (m, n))


def array(values) -> Expr:
    """A constant tensor of the given numbers (a nested list or array); a constant fill if all
    entries are equal.

    >>> print(array([[1, 2], [3, 4]]))
    [[1, 2], [3, 4]]
    """
    a = np.asarray(values, dtype=np.float64)
    if a.size and np.all(a == a.flat[0]):
        return const(a.flat[0], a.shape)
    if not a.size or not np.all(np.isfinite(a)):
        raise ShapeError("array", [a.shape], "an array constant needs finite entries")
    return node(Op.ARRAY, (), (a.shape, tuple(float(v) for v in a.ravel())))


def array_value(e: Expr) -> np.ndarray:
    """The entries of an ``ARRAY`` node as an ndarray."""
    return np.array(e.attrs[1]).reshape(e.attrs[0])


def const_value(e: Expr):
    """The fill value of a ``CONST`` node, else ``None``."""
    return e.attrs[0] if e.op is Op.CONST else None


# While a Python function is traced, arrays it closes over become captured inputs: the tracer
# sets this to a function from array to variable (see tensorcalc.transforms).
CAPTURE: ContextVar = ContextVar("tensorcalc_capture", default=None)


def to_expr(x) -> Expr:
    if isinstance(x, Expr):
        return x
    if isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool):
        return const(float(x))
    if isinstance(x, np.ndarray) and x.ndim == 0 and x.dtype.kind in "iuf":
        return const(float(x))
    if isinstance(x, np.ndarray) and x.dtype.kind in "iuf":
        capture = CAPTURE.get()
        if capture is not None:
            return capture(x)
        raise TypeError(
            "an array cannot be a constant of a symbolic expression: declare it as a variable "
            "(tc.matrix, tc.vector, tc.tensor); inside tc.grad & co. arrays are captured"
        )
    raise TypeError(f"cannot use {type(x).__name__} in a tensorcalc expression")


# ---------------------------------------------------------------------------------- einsum


def einsum(terms, out) -> Expr:
    """The canonical product ``out[...] = Σ Π term[labels]`` (labels: any hashables).

    ``terms`` is a list of ``(Expr, labels)``.  Equal products give the same node.
    """
    if any(_delta_split(e) is not None for e, _ in terms):
        terms = _reshape_deltas(terms, tuple(out))
    ids = {}

    def lab(x):
        return ids.setdefault(x, len(ids))

    out = tuple(lab(x) for x in out)
    dims = {}
    for e, labels in terms:
        if len(labels) != e.ndim:
            raise ShapeError("einsum", [t.shape for t, _ in terms], f"labels {labels} vs {e.shape}")
        for x, d in zip(labels, e.shape):
            if dims.setdefault(lab(x), d) != d:
                raise ShapeError(
                    "einsum",
                    [t.shape for t, _ in terms],
                    f"index {x!r} has dims {dims[lab(x)]} and {d}",
                )
    if len(set(out)) != len(out) or any(x not in dims for x in out):
        raise ShapeError("einsum", [t.shape for t, _ in terms], f"bad output indices {out}")
    out_shape = tuple(dims[x] for x in out)
    coef = 1.0
    ops = []
    work = [(e, tuple(lab(x) for x in labels)) for e, labels in terms]
    while work:
        e, labels = work.pop()
        fresh = e.op is Op.EINSUM and len({x for il in e.attrs[0] for x in il} - set(e.attrs[1]))
        if (  # merge a nested product unless that needs too many letters or operands
            e.op is Op.EINSUM
            and len(ids) + fresh <= MAX_RANK
            and len(ops) + len(work) + len(e.args) <= MAX_OPERANDS
        ):
            ins, inner_out = e.attrs
            m = dict(zip(inner_out, labels))
            for a, il in zip(e.args, ins):
                for x in il:
                    if x not in m:
                        m[x] = len(ids)
                        ids[("fresh", len(ids))] = m[x]
                work.append((a, tuple(m[x] for x in il)))
        elif e.op is Op.EINSUM and len(set(labels)) == 2 and (v := diag_vector(e)) is not None:
            # a diag(v) too long to merge is v and a delta here, so the delta is placed (zero
            # off the diagonal) instead of a dense diag(v) whose zeros meet an inf as 0·inf = NaN
            work += [(v, labels[1:]), (eye(e.shape[0]), labels)]
        elif e.op is Op.CONST:
            coef *= e.attrs[0]
            if e.ndim:
                ops.append((ones(e.shape), labels))
        else:
            ops.append((e, labels))
        for x, d in zip(labels, e.shape):
            dims.setdefault(x, d)
    if coef == 0.0:
        return zeros(out_shape)
    if any(_delta_split(e) is not None for e, _ in ops):
        ops = _kron_deltas(ops, out, fresh=len(ids))
        for e, labels in ops:
            for x, d in zip(labels, e.shape):
                dims.setdefault(x, d)
    ops = _symmetric_order(ops, out)
    ops = _cancel_quotients(ops, out)
    ops = _contract_deltas(_pair_selects(ops), out)
    ops = _contract_deltas(_compose_selects(_gathered_unary(ops, out), out), out)
    if any(e.op in (Op.STACK, Op.ARRAY) for e, _ in ops):
        done = _unstacked(ops, out, dims, coef)
        if done is not None:
            return done
        ops, coef = _one_hots(ops, out, dims, coef)
    ops, coef = _drop_ones(ops, out, dims, coef)
    if not ops:
        return const(coef, out_shape)
    if len(ops) == 1 and ops[0][1] == out:
        return ops[0][0] if coef == 1.0 else _finish([(ops[0][0], out)], out, coef)
    return _finish(ops, out, coef)


MAX_STACK = 4096  # entries a literal [a, b, ...] or an unrolled product over stacks may have


def stack(items) -> Expr:
    """``[a, b, ...]``: expressions of one shape as one tensor whose new first axis runs over
    them; constant entries fold to an array.

    >>> print(stack([var("a"), 2]))
    [a, 2]
    """
    items = list(items)
    if not items:
        raise ShapeError("stack", [], "a list [a, b, ...] needs at least one entry")
    items = [to_expr(t) for t in items]
    shape = items[0].shape
    if any(t.shape != shape for t in items):
        raise ShapeError(
            "[...]", [t.shape for t in items], "the entries of a list must have one shape"
        )
    if len(items) * math.prod(d if isinstance(d, int) else 2 for d in shape) > MAX_STACK:
        raise ShapeError("stack", [shape], f"more than {MAX_STACK} entries")
    values = [_constant(t) for t in items]
    if all(v is not None for v in values):
        return array(np.stack(values))
    return node(Op.STACK, tuple(items))


def _constant(e: Expr):
    """The entries of a constant of concrete shape as an ndarray, else ``None``."""
    if e.op is Op.CONST and all(isinstance(d, int) for d in e.shape):
        return np.full(e.shape, e.attrs[0])
    return array_value(e) if e.op is Op.ARRAY else None


def _one_hot(e: Expr):
    """``(k, v)`` when ``e`` is a vector constant with the one nonzero entry ``v`` at ``k``."""
    if e.op is not Op.ARRAY or e.ndim != 1:
        return None
    nz = [k for k, v in enumerate(e.attrs[1]) if v != 0.0]
    return (nz[0], e.attrs[1][nz[0]]) if len(nz) == 1 else None


def along(e: Expr, p: int, k: int):
    """The slice ``k`` of ``e`` along axis ``p`` as an expression when ``e`` is made of
    entries there (a stack, a constant, a selection), else ``None``."""
    rest = e.shape[:p] + e.shape[p + 1 :]
    if e.op is Op.CONST:
        return const(e.attrs[0], rest)
    if e.op is Op.ARRAY:
        v = np.take(array_value(e), k, axis=p)
        return array(v) if v.ndim else const(float(v))
    if e.op is Op.STACK:
        if p == 0:
            return e.args[k]
        parts = [along(a, p - 1, k) for a in e.args]
        return None if any(a is None for a in parts) else stack(parts)
    if e.op is Op.EYE:
        return array(np.eye(e.shape[0])[k])
    if e.op is Op.SELECT:  # S[i, start + i·step] = 1: a row is one-hot, a column one-hot or 0
        m, n, start, step = e.attrs
        hot = np.zeros(rest[0])
        i = (k - start) // step if p == 1 else start + k * step
        if (p == 0 or (k - start) % step == 0) and 0 <= i < rest[0]:
            hot[i] = 1.0
        return array(hot)
    return None


def entry(e: Expr, k: int, p: int = 0) -> Expr:
    """The slice ``k`` of ``e`` along axis ``p`` (``e[k]`` for ``p = 0``), taken into sums,
    elementwise functions and the factors of products, so that a result over components reads
    entry by entry (``x[0]``, not a selection matrix)."""
    if (part := along(e, p, k)) is not None:
        return part
    if e.op is Op.ADD:
        return add(*(entry(t, k, p) for t in e.args))
    if KIND[e.op] == UNARY:
        return unary(e.op, entry(e.args[0], k, p))
    if e.op in (Op.POW, Op.DIV) and all(a.shape == e.shape for a in e.args):
        a, b = (entry(t, k, p) for t in e.args)
        return pow_(a, b) if e.op is Op.POW else div(a, b)
    if e.op is Op.EINSUM:
        ins, out = e.attrs
        x = out[p]
        if all(ls.count(x) <= 1 for ls in ins):
            terms = [
                (entry(a, k, ls.index(x)), tuple(y for y in ls if y != x)) if x in ls else (a, ls)
                for a, ls in zip(e.args, ins)
            ]
            return einsum(terms, out[:p] + out[p + 1 :])
    n = e.shape[p]
    hot = array(np.eye(n)[k]) if n > 1 else ones((1,))
    idx = tuple(range(e.ndim))
    return einsum([(e, idx), (hot, idx[p : p + 1])], idx[:p] + idx[p + 1 :])


MAX_ENTRIES = 8  # written entry by entry: at most this many entries of the variables in all


def small_shape(shape) -> bool:
    """A concrete shape of at most 16 entries: small enough to be written entry by entry."""
    return all(isinstance(d, int) for d in shape) and math.prod(shape) <= 16


def entries(e: Expr) -> Expr:
    """``e`` as a stack of stacks of its entries (``[[a, b], [c, d]]``), each written with
    entries of the inputs (``x[0] * x[1]``, no selection matrices), when its shape and its
    variables' shapes are concrete and small (``MAX_ENTRIES`` entries of the variables in
    all); else ``e``.

    Each such variable is replaced by the stack of its entries (scalar placeholders), so that
    every product, sum and function is taken entry by entry, and then each placeholder by
    the entry itself, ``x[k]`` as the parser builds it.
    """
    if not small_shape(e.shape):
        return e
    leaves = [v for v in postorder([e]) if v.op is Op.VAR and v.ndim and small_shape(v.shape)]
    if sum(math.prod(v.shape) for v in leaves) > MAX_ENTRIES:
        return e  # the work grows with the product of the entries; a tensor form it stays
    back = {}

    def spread(v, idx):
        if len(idx) == v.ndim:
            name = f"zqentry{len(back)}qz"
            back[var(name)] = entry_of(v, idx)
            return var(name)
        return stack([spread(v, idx + (k,)) for k in range(v.shape[len(idx)])])

    spread_e = substitute(e, {v: spread(v, ()) for v in leaves}) if leaves else e
    return substitute(_entrywise_all(spread_e), back) if back else _entrywise_all(spread_e)


def entry_of(v: Expr, idx: tuple) -> Expr:
    """The entry ``v[i, j, ...]`` as a product with one-row selections (what ``x[0]`` is)."""
    terms = [
        (select(1, n, i), (("row", k), ("col", k))) for k, (n, i) in enumerate(zip(v.shape, idx))
    ]
    return einsum(terms + [(v, tuple(("col", k) for k in range(v.ndim)))], ())


def _entrywise_all(e: Expr) -> Expr:
    if not e.ndim:
        return e
    return stack([_entrywise_all(entry(e, k)) for k in range(e.shape[0])])


def _along_deep(e: Expr, p: int, k: int):
    """``along`` taken into sums, elementwise functions and products whose factors are made of
    entries on that axis (a sum of selections), else ``None``."""
    if (part := along(e, p, k)) is not None:
        return part
    if e.op is Op.ADD:
        parts = [_along_deep(t, p, k) for t in e.args]
        return None if any(t is None for t in parts) else add(*parts)
    if KIND[e.op] == UNARY:
        a = _along_deep(e.args[0], p, k)
        return None if a is None else unary(e.op, a)
    if e.op is Op.EINSUM:
        ins, out = e.attrs
        x = out[p]
        terms = []
        for a, ls in zip(e.args, ins):
            if x in ls:
                if ls.count(x) != 1 or (a := _along_deep(a, ls.index(x), k)) is None:
                    return None
                ls = tuple(y for y in ls if y != x)
            terms.append((a, ls))
        return einsum(terms, out[:p] + out[p + 1 :])
    return None


def _unstacked(ops, out, dims, coef):
    """A product over a stack ``[a, b, ...]`` taken entry by entry: on an index every factor
    that carries it is made of entries along (a stack, a constant, a selection), the product
    is the stack (output index first) or the sum (summed index) of the products of entries:
    ``2 [a, b] = [2 a, 2 b]``, ``[1, 0]ᵀ [a, b] = a``, ``[a, b]ᵀ [c, d] = a c + b d``.  A
    one-hot vector is a stack of numbers (``e₁ ⊗ g = [g, 0]``, ``Σₖ (e₁)ₖ S[a, k] = S[a, 1]``)."""
    for x in out[:1] + tuple(dict.fromkeys(x for _, ls in ops for x in ls if x not in out)):
        carriers = [(e, ls) for e, ls in ops if x in ls]
        if not isinstance(dims[x], int) or any(ls.count(x) != 1 for _, ls in carriers):
            continue
        if not any(e.op is Op.STACK for e, _ in carriers) and not (
            any(_one_hot(e) for e, _ in carriers) and any(_varies(e) for e, _ in ops)
        ):
            continue  # (a one-hot times numbers only stays an array: x - [0, 1])
        parts = []
        for k in range(dims[x]):
            terms = [(const(coef), ())]
            for e, ls in ops:
                if x in ls:
                    e = _along_deep(e, ls.index(x), k)
                    if e is None:
                        break
                    ls = tuple(y for y in ls if y != x)
                terms.append((e, ls))
            else:
                parts.append(einsum(terms, tuple(y for y in out if y != x)))
                continue
            break
        else:
            return stack(parts) if x in out else add(*parts)
    return None


def _varies(e: Expr) -> bool:
    return e.op not in (Op.CONST, Op.ARRAY, Op.EYE, Op.SELECT)


def _one_hots(ops, out, dims, coef):
    """A one-hot vector eₖ summed against another factor is the selection of entry k (what
    ``x[k]`` is), ``Σ_a S[a, L]`` with S = select(1, n, k) and a summed index a of size 1."""
    new = []
    for j, (e, ls) in enumerate(ops):
        hot = _one_hot(e)
        if hot is None or ls[0] in out:
            new.append((e, ls))
            continue
        k, v = hot
        coef *= v
        if all(ls[0] not in other for i, (_, other) in enumerate(ops) if i != j):
            continue  # Σ eₖ = v, the factor is its coefficient
        fresh = max(dims) + 1
        dims[fresh] = 1
        new.append((select(1, e.shape[0], k), (fresh, ls[0])))
    return new, coef


def _symmetric_order(ops, out):
    """S_ji = S_ij for a symmetric variable: its indices in a canonical order (output indices
    first, in output order; then by where the other factors carry them), so S' is S."""

    def key(k, x):
        if x in out:
            return (0, out.index(x), b"", 0)
        seen = [(a.digest, ls.index(x)) for j, (a, ls) in enumerate(ops) if j != k and x in ls]
        return (1, 0) + min(seen, default=(b"", 0))

    return [
        (e, tuple(sorted(ls, key=lambda x: key(k, x))) if _symmetric(e) else ls)
        for k, (e, ls) in enumerate(ops)
    ]


def _symmetric(e: Expr) -> bool:
    """A symmetric variable or an inverse of one (inv(S)' = inv(S)), or the identity."""
    while e.op is Op.INV:
        e = e.args[0]
    return is_symmetric_var(e) or e.op is Op.EYE


def _cancel_quotients(ops, out=()):
    """Removable singularities at d = 0, where both carry the same indices:
    (n / d) ⊙ d = n, (n / d) ⊙ dᵏ = n ⊙ dᵏ⁻¹ (k ≥ 1), and (n / ‖x‖) Σ x⊙x = n ‖x‖, so that
    d‖x‖⁴ = 4‖x‖³ xᵀdx / ‖x‖ is 4 (xᵀx) xᵀdx, finite at x = 0."""
    changed = True
    while changed:
        changed = False
        for i, (q, lq) in enumerate(ops):
            if q.op is not Op.DIV:
                continue
            d = q.args[1]
            for j, (e, le) in enumerate(ops):
                if j == i or le != lq:
                    continue
                if e is d:
                    new = [(q.args[0], lq)]
                elif e.op is Op.POW and e.args[0] is d and (const_value(e.args[1]) or 0) >= 1:
                    new = [(q.args[0], lq), (pow_(d, const_value(e.args[1]) - 1), lq)]
                else:
                    continue
                ops = [o for k, o in enumerate(ops) if k not in (i, j)] + new
                changed = True
                break
            else:
                pair = _square_of(ops, d, i, out) if d.op is Op.NORM and not lq else None
                if pair is None:
                    continue
                ops = [o for k, o in enumerate(ops) if k not in (i, *pair)]
                ops += [(q.args[0], lq), (d, lq)]
                changed = True
            break
    return ops


def _square_of(ops, d, skip, out):
    """Positions of two factors x, x with the same labels, summed over (Σ x⊙x = ‖x‖²)."""
    (x,) = d.args
    found = [k for k, (e, ls) in enumerate(ops) if e is x and k != skip]
    for a in found:
        for c in found:
            la = ops[a][1]
            if c > a and ops[c][1] == la and len(set(la)) == len(la) and not set(la) & set(out):
                others = [ls for k, (_, ls) in enumerate(ops) if k not in (a, c)]
                if not any(set(la) & set(ls) for ls in others):
                    return a, c
    return None


def _pair_selects(ops):
    """A selection picks one column per row and each column at most once, so for equal S:
    S[a, c] S[b, c] = δ_ab S[a, c], S[a, c] S[a, d] = S[a, c] δ_cd, and S[a, c]² = S[a, c]
    (J diag(v) J = diag(J v) for the reversal J)."""
    changed = True
    while changed:
        changed = False
        for i, j in itertools.combinations(range(len(ops)), 2):
            (s, ls), (t, lt) = ops[i], ops[j]
            if s.op is not Op.SELECT or t is not s:
                continue
            (a, c), (b, d) = ls, lt
            if a == c or b == d:
                continue
            if (a, c) == (b, d):
                ops = ops[:j] + ops[j + 1 :]
            elif c == d:
                ops = ops[:j] + [(eye(s.attrs[0]), (a, b))] + ops[j + 1 :]
            elif a == b:
                ops = ops[:j] + [(eye(s.attrs[1]), (c, d))] + ops[j + 1 :]
            else:
                continue
            changed = True
            break
    return ops


def _gathered_unary(ops, out):
    """Σ_c S[a, c] f(T x)[c] = f(S T x)[a] for an elementwise f of a slice T x: a slice of
    f(x[::-1]) is f of one slice of x (J sin(J x) = sin(x)), on the selected entries only."""
    counts = Counter(x for _, labels in ops for x in labels)
    for j, (s, labels) in enumerate(ops):
        if s.op is not Op.SELECT or labels[1] in out or counts[labels[1]] != 2:
            continue
        a, c = labels
        for k, (u, lu) in enumerate(ops):
            if k == j or lu != (c,) or KIND[u.op] != UNARY or not _is_gather(u.args[0]):
                continue
            inner = unary(u.op, einsum([(s, (0, 1)), (u.args[0], (1,))], (0,)))
            rest = [t for i, t in enumerate(ops) if i not in (j, k)]
            return _gathered_unary(rest + [(inner, (a,))], out)
    return ops


def _is_gather(e: Expr) -> bool:
    """``S @ x``: a slice of a vector."""
    return e.op is Op.EINSUM and len(e.args) == 2 and any(a.op is Op.SELECT for a in e.args)


def _composable(ops, out):
    """Two selections S₂[c, a] S₁[a, b] chained through an index a that nothing else carries."""
    counts = Counter(x for _, labels in ops for x in labels)
    for j, (e, labels2) in enumerate(ops):
        if e.op is not Op.SELECT:
            continue
        c, a = labels2
        if a in out or counts[a] != 2 or c == a:
            continue
        for i, (e1, labels) in enumerate(ops):
            if i != j and e1.op is Op.SELECT and labels[0] == a and labels[1] != a:
                return i, j, (c, labels[1])
    return None


def _compose_selects(ops, out):
    """Σ_a S₂[c, a] S₁[a, b] is one selection: a slice of a slice is a slice (x[::-1][::-1] = x)."""
    while (found := _composable(ops, out)) is not None:
        i, j, labels = found
        m1, n1, start1, step1 = ops[i][0].attrs
        m2, _, start2, step2 = ops[j][0].attrs
        s = select(m2, n1, start1 + start2 * step1, step1 * step2)
        ops = [t for k, t in enumerate(ops) if k not in (i, j)] + [(s, labels)]
    return [_gather(e, labels, out) for e, labels in ops]


def _gather(e, labels, out):
    """Σ_p J[p, q] u[p] = Σ_p J[q, p] u[p]: the reversal J = Jᵀ is turned to read (gather), so
    compiled code slices u[::-1] rather than scattering into zeros."""
    if e.op is Op.SELECT and e.attrs[0] == e.attrs[1] and labels[0] not in out:
        if labels[1] in out:
            return e, labels[::-1]
    return e, labels


def _contract_deltas(ops, out):
    """Σ_q δ_pq F(q) = F(p): rename one index of each delta away when it is not an output;
    δ_pq δ_pq = δ_pq (δ_qp too): one delta per pair of indices (``eye(3) * eye(3)`` is
    ``eye(3)``, and prints so, not as ``eye(3)^2``, which parses to a power)."""
    changed = True
    while changed:
        changed = False
        for k, (e, labels) in enumerate(ops):
            if e.op is not Op.EYE or labels[0] == labels[1]:
                continue
            p, q = labels
            twin = next(
                (j for j, (a, ls) in enumerate(ops) if j != k and a is e and set(ls) == {p, q}),
                None,
            )
            if twin is not None:
                ops = [o for j, o in enumerate(ops) if j != twin]
                changed = True
                break
            if p in out and q in out:
                continue
            if q in out:
                p, q = q, p
            ops = [
                (a, tuple(p if x == q else x for x in ls))
                for i, (a, ls) in enumerate(ops)
                if i != k
            ]
            if not any(p in ls for _, ls in ops):  # Σ_q δ_pq = 1: keep p's axis
                ops.append((ones(e.shape[:1]), (p,)))
            changed = True
            break
    return ops


def _drop_ones(ops, out, dims, coef):
    """Remove all-ones factors whose indices other factors carry; Σ_i 1 = n for int n, once
    per index however many all-ones factors carry it (Σ_i 1_i 1_i = n, not n²)."""
    keep, counted = [], set()
    for k, (e, labels) in enumerate(ops):
        if not (e.op is Op.CONST and e.attrs[0] == 1.0):
            keep.append((e, labels))
            continue
        others = {x for i, (a, ls) in enumerate(ops) if i != k and not _is_ones(a) for x in ls}
        free = [x for x in dict.fromkeys(labels) if x not in others]
        summed = [x for x in free if x not in out and isinstance(dims[x], int)]
        for x in summed:
            if x not in counted:
                coef *= dims[x]
                counted.add(x)
        rest = tuple(x for x in free if x not in summed)
        if rest:
            keep.append((ones(tuple(dims[x] for x in rest)), rest))
    return keep, coef


def _is_ones(e):
    return e.op is Op.CONST and e.attrs[0] == 1.0


def _finish(ops, out, coef):
    outpos = {x: i for i, x in enumerate(out)}

    def pattern(item):
        e, labels = item
        first = {}
        return (
            e.digest,
            tuple(outpos.get(x, -1 - first.setdefault(x, len(first))) for x in labels),
        )

    ops = sorted(ops, key=pattern)
    names = dict(outpos)
    for _, labels in ops:
        for x in labels:
            names.setdefault(x, len(names))
    args = [const(coef)] if coef != 1.0 else []
    ins = [()] if coef != 1.0 else []
    for e, labels in ops:
        args.append(e)
        ins.append(tuple(names[x] for x in labels))
    return node(Op.EINSUM, tuple(args), (tuple(ins), tuple(range(len(out)))))


def split_coef(e: Expr):
    """``(c, core)`` with ``e == c * core``; the core of a scaled einsum has no coefficient."""
    if e.op is Op.EINSUM and e.args[0].op is Op.CONST and not e.args[0].shape:
        ins, out = e.attrs
        rest = e.args[1:]
        if len(rest) == 1 and ins[1] == out:
            return e.args[0].attrs[0], rest[0]
        return e.args[0].attrs[0], node(Op.EINSUM, rest, (ins[1:], out))
    return 1.0, e


def factors(e: Expr):
    """``(operands, out)`` of a product: an einsum's own, else the node itself."""
    if e.op is Op.EINSUM:
        return list(zip(e.args, e.attrs[0])), e.attrs[1]
    idx = tuple(range(e.ndim))
    return [(e, idx)], idx


def scale(c, x: Expr) -> Expr:
    idx = tuple(range(x.ndim))
    return einsum([(const(c), ()), (x, idx)], idx)


# ------------------------------------------------------------------------------------- add


def _summands(terms):
    """The terms of a sum as same-shape ``Expr``s (scalars broadcast) and that shape."""
    terms = [to_expr(t) for t in terms]
    shape = next((t.shape for t in terms if t.shape), ())
    if any(t.shape not in ((), shape) for t in terms):
        raise ShapeError("add", [t.shape for t in terms], "shapes differ and neither is a scalar")
    return [broadcast(t, shape, "add") for t in terms], shape


def add(*terms, max_inner_rank=None) -> Expr:
    """The canonical sum of same-shape terms (scalars broadcast).

    ``max_inner_rank`` bounds the rank of the sums that factoring may create inside a product
    (the simplifier keeps ``B @ X @ C + B' @ X @ C'`` apart rather than contracting X with a
    4-tensor sum); ``None`` factors freely.
    """
    terms, shape = _summands(terms)
    if any(t.op is Op.STACK for t in terms) and isinstance(shape[0], int):
        parts = [[along(t, 0, k) for t in terms] for k in range(shape[0])]
        if all(p is not None for row in parts for p in row):  # [a, b] + [c, d] = [a + c, b + d]
            return stack([add(*row, max_inner_rank=max_inner_rank) for row in parts])
    flat = []
    for core, c in _collect(terms).items():
        flat.extend(core.args if core.op is Op.ADD and c == 1.0 else [scale(c, core)])
    coefs = _Factoring(_collect(flat), max_inner_rank).run()
    cval = sum(c for e, c in coefs.items() if e.op is Op.CONST)
    parts = [scale(c, e) for e, c in coefs.items() if e.op is not Op.CONST]
    if cval != 0.0:
        parts.append(const(cval, shape))
    if not parts:
        return zeros(shape)
    if len(parts) == 1:
        return parts[0]
    return node(Op.ADD, tuple(sorted(parts, key=lambda p: p.digest)))


def ordered_sum(*terms) -> Expr:
    """A sum that keeps its terms in the given order and unfactored, as a polynomial reads
    best term by term (a Taylor polynomial by degree); zero terms are dropped."""
    terms, shape = _summands(terms)
    terms = [t for t in terms if const_value(t) != 0.0]
    if len(terms) < 2:
        return terms[0] if terms else zeros(shape)
    return node(Op.ADD, tuple(terms))


def _collect(flat):
    coefs = {}
    for t in flat:
        if t.op is Op.CONST:
            c, core = t.attrs[0], ones(t.shape)
        else:
            c, core = split_coef(t)
        coefs[core] = coefs.get(core, 0.0) + c
    return {e: c for e, c in coefs.items() if c != 0.0}


class _Factoring:
    """The factoring search of ``add``: while two products share factors,
    c1·P·Q1 + c2·P·Q2 → P·(c1·Q1 + c2·Q2), the pair sharing the most factors first (ties: the
    earliest pair in the sum's order), until no pair shares any.

    The search is incremental, so that a sum of n products of k factors (the derivative of a
    100-level power tower is one) costs about n²·k set operations in all rather than n³·k:

    * each product's factors are numbered once, as a set of ``(factor, occurrence)`` numbers,
      so the factors two products share are the intersection of two sets;
    * only products that share a factor are paired (an index from factors to products), and
      each pair is sized once, when the later of the two enters, into a heap ordered by size
      and then by position in the sum;
    * a merge retires its two products and enters the new one; a popped pair with a retired
      product, or whose other factors do not carry the same indices, is dropped.
    """

    def __init__(self, coefs, max_inner_rank):
        self.max_inner_rank = max_inner_rank
        self.coefs = {}  # core -> coefficient, in the sum's order
        self.pos = {}  # core -> its position (increasing as products enter)
        self.items = {}  # position -> (core, factors as a Counter, out, numbered factors)
        self.ids = {}  # factor (expr, labels) -> number
        self.mask = {}  # (factor number, occurrence) -> its indices as a bit mask
        self.having = {}  # factor number -> positions of the products that have it
        self.heap = []  # (-number of shared factors, position, position)
        self.entered = 0
        for core, c in coefs.items():
            self.enter(core, c)

    def enter(self, core, c):
        """Add c·core to the sum (collecting like terms) and size its pairs."""
        if core in self.coefs:  # like terms: the product keeps its place and its pairs
            c += self.coefs[core]
            if c != 0.0:
                self.coefs[core] = c
            else:
                del self.coefs[core]
                self.items.pop(self.pos.pop(core), None)
            return
        if c == 0.0:
            return
        pos = self.pos[core] = self.entered
        self.entered += 1
        self.coefs[core] = c
        if core.op is Op.CONST:
            return
        fs, out = factors(core)
        count = Counter(fs)
        keys = frozenset(
            (self.ids.setdefault(f, len(self.ids)), m) for f, n in count.items() for m in range(n)
        )
        for f, n in count.items():
            mask = sum(1 << x for x in set(f[1]))
            self.mask.update(((self.ids[f], m), mask) for m in range(n))
        partners = set()
        for f in count:
            partners |= self.having.setdefault(self.ids[f], set())
        for p in partners:
            other = self.items.get(p)
            if other is not None and other[2] == out:
                heapq.heappush(self.heap, (-len(keys & other[3]), p, pos))
        for f in count:
            self.having[self.ids[f]].add(pos)
        self.items[pos] = (core, count, out, keys)

    def run(self) -> dict:
        """Merge pairs, the best first, until none shares a factor; the collected sum."""
        while self.heap:
            _, i, j = heapq.heappop(self.heap)
            if i in self.items and j in self.items and (new := self.merge(i, j)) is not None:
                for p in (i, j):
                    core = self.items.pop(p)[0]
                    del self.pos[core], self.coefs[core]
                c, core = (new.attrs[0], ones(new.shape)) if new.op is Op.CONST else split_coef(new)
                self.enter(core, c)
        return self.coefs

    def merge(self, i, j):
        """P·(c1·Q1 + c2·Q2) for the products at positions i and j, or None where their other
        factors Q1, Q2 do not carry the same indices (or more than ``max_inner_rank``)."""
        (e1, count1, out, keys1), (e2, count2, _, keys2) = self.items[i], self.items[j]
        # by numbers and bit masks first (most pairs fail here): the indices the other factors
        # of each product share with P or the result
        shared, mask = keys1 & keys2, self.mask.__getitem__
        bound = reduce(or_, map(mask, shared), sum(1 << x for x in out))
        m1 = reduce(or_, map(mask, keys1 - shared), 0) & bound
        if m1 != reduce(or_, map(mask, keys2 - shared), 0) & bound:
            return None
        if shared in (keys1, keys2) and m1:
            return None
        # the inner sum is never larger than the sum itself (or a matrix): factoring a 60-matrix
        # chain's derivative made a sum of rank 15 inside each product, 3^15 entries at n = 3
        limit = max(2, len(out)) if self.max_inner_rank is None else self.max_inner_rank
        if m1.bit_count() > limit:
            return None
        l1 = [x for x in range(m1.bit_length()) if m1 >> x & 1]
        common = count1 & count2
        left1 = list((count1 - common).elements())
        left2 = list((count2 - common).elements())
        inner = add(
            einsum([(const(self.coefs[e1]), ())] + left1, l1),
            einsum([(const(self.coefs[e2]), ())] + left2, l1),
            max_inner_rank=self.max_inner_rank,
        )
        return einsum(list(common.elements()) + [(inner, tuple(l1))], out)


# ------------------------------------------------------------------------ elementwise & co


def broadcast(x: Expr, shape, op="broadcast") -> Expr:
    """Broadcast a scalar to ``shape`` (only scalars broadcast)."""
    if x.shape == tuple(shape):
        return x
    if x.shape != ():
        raise ShapeError(op, [x.shape, tuple(shape)], "shapes differ and neither is a scalar")
    if x.op is Op.CONST:
        return const(x.attrs[0], shape)
    idx = tuple(range(len(shape)))
    return einsum([(x, ()), (ones(shape), idx)], idx)


def _pair(a, b, op):
    a, b = to_expr(a), to_expr(b)
    shape = a.shape or b.shape
    return broadcast(a, shape, op), broadcast(b, shape, op)


def _entrywise(a: Expr, b: Expr):
    """The pairs of entries of two same-shape operands when one is a stack and the other is
    made of entries too (a stack, a constant), else ``None``."""
    if Op.STACK not in (a.op, b.op) or not isinstance(a.shape[0], int):
        return None
    pairs = [(along(a, 0, k), along(b, 0, k)) for k in range(a.shape[0])]
    return None if any(x is None or y is None for x, y in pairs) else pairs


def mul(a, b) -> Expr:
    """Elementwise product; a scalar scales."""
    a, b = to_expr(a), to_expr(b)
    if a.shape and b.shape and a.shape != b.shape:
        raise ShapeError("*", [a.shape, b.shape], "elementwise product needs equal shapes")
    idx = tuple(range(max(a.ndim, b.ndim)))
    return einsum([(a, idx[: a.ndim]), (b, idx[: b.ndim])], idx)


def neg(a) -> Expr:
    return scale(-1.0, to_expr(a))


def sub(a, b) -> Expr:
    return add(a, neg(b))


def matmul(a, b) -> Expr:
    """NumPy ``@``: vectors and matrices, and stacks of matrices (rank ≥ 3), which multiply
    their last two axes and broadcast the leading ones (an absent leading axis broadcasts; a
    size-1 axis against a larger one is refused rather than guessed).  In the einsum IR a
    batched product is only an index string: ``bij,bjk->bik``.

    >>> import tensorcalc as tc
    >>> A, x = tc.matrix("A", 2, 3), tc.vector("x", 3)
    >>> print(tc.dot(A, x), tc.dot(x, x))
    A @ x x' @ x
    >>> tc.dot(tc.tensor("T", (2, 3, 4)), tc.tensor("U", (2, 4, 5))).shape
    (2, 3, 5)
    """
    a, b = to_expr(a), to_expr(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(
            "@", [a.shape, b.shape], "matmul needs vectors or matrices (use * for scalars)"
        )
    inner_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if a.shape[-1] != inner_b:
        raise ShapeError(
            "@", [a.shape, b.shape], f"inner dimensions {a.shape[-1]} and {inner_b} differ"
        )
    if a.ndim <= 2 and b.ndim <= 2:
        la = ("i", "k")[2 - a.ndim :]
        lb = ("k", "j")[: b.ndim]
        return einsum([(a, la), (b, lb)], tuple(x for x in la + lb if x != "k"))
    stack_a, stack_b = a.shape[:-2], b.shape[:-2]
    rank = max(len(stack_a), len(stack_b))
    for da, db in zip(stack_a[::-1], stack_b[::-1]):
        if da != db:
            raise ShapeError(
                "@", [a.shape, b.shape], f"leading (stack) axes {da} and {db} differ; tensorcalc "
                "broadcasts absent leading axes, not size-1 ones"
            )  # fmt: skip
    stack = tuple(("s", k) for k in range(rank))
    la = stack[rank - len(stack_a) :] + (("i", "k")[2 - min(a.ndim, 2) :])
    lb = stack[rank - len(stack_b) :] + (("k", "j")[: min(b.ndim, 2)])
    out = stack + tuple(
        x for x in (("i",) if a.ndim >= 2 else ()) + (("j",) if b.ndim >= 2 else ())
    )
    return einsum([(a, la), (b, lb)], out)


def outer(a, b) -> Expr:
    """Tensor (outer) product: ``outer(a, b)[I, J] = a[I] b[J]``.

    >>> import tensorcalc as tc
    >>> x = tc.vector("x", 3)
    >>> print(tc.outer(x, x), tc.outer(x, x).shape)
    x @ x' (3, 3)
    """
    a, b = to_expr(a), to_expr(b)
    la = tuple(("a", k) for k in range(a.ndim))
    lb = tuple(("b", k) for k in range(b.ndim))
    return einsum([(a, la), (b, lb)], la + lb)


def transpose(a, axes=None) -> Expr:
    """Reverse the axes (or permute them by ``axes``); vectors and scalars are unchanged.

    >>> import tensorcalc as tc
    >>> print(tc.transpose(tc.matrix("A", 2, 3)), tc.transpose(tc.matrix("A", 2, 3)).shape)
    A' (3, 2)
    """
    a = to_expr(a)
    idx = tuple(range(a.ndim))
    axes = tuple(reversed(idx)) if axes is None else tuple(axes)
    if all(isinstance(k, int) for k in axes):
        axes = tuple(k % a.ndim if -a.ndim <= k < 0 else k for k in axes)
    if sorted(axes) != list(idx):
        raise ShapeError("transpose", [a.shape], f"bad axes {axes}")
    return einsum([(a, idx)], axes)


def sum_(a, axis=None) -> Expr:
    """Sum of all entries, or along ``axis`` (an int or a tuple).

    >>> import tensorcalc as tc
    >>> X = tc.matrix("X", 2, 3)
    >>> print(tc.sum(X), tc.sum(X, 0).shape)
    sum(X) (3,)
    >>> print(tc.derivative(tc.sum(X), "X"))
    ones(2) @ ones(3)'
    """
    a = to_expr(a)
    idx = tuple(range(a.ndim))
    if axis is None:
        return einsum([(a, idx)], ())
    given = (axis,) if isinstance(axis, int) else tuple(axis)
    if any(not -a.ndim <= x < a.ndim for x in given):
        raise ShapeError("sum", [a.shape], f"axis {axis} out of range for rank {a.ndim}")
    axes = {x % a.ndim for x in given}
    if len(axes) != len(given):  # NumPy refuses it too; mean would count the axis twice
        raise ShapeError("sum", [a.shape], f"repeated axis in {axis!r}")
    return einsum([(a, idx)], tuple(x for x in idx if x not in axes))


def swapaxes(a, i: int, j: int) -> Expr:
    """NumPy's ``swapaxes``: axes i and j exchanged (negative axes count from the end).

    >>> swapaxes(var("T", (2, 3, 4)), 1, 2).shape
    (2, 4, 3)
    """
    a = to_expr(a)
    if not all(isinstance(k, int) and -a.ndim <= k < a.ndim for k in (i, j)):
        raise ShapeError("swapaxes", [a.shape], f"axes {i}, {j} out of range for rank {a.ndim}")
    axes = list(range(a.ndim))
    axes[i], axes[j] = axes[j], axes[i]
    return transpose(a, axes)


MAX_MATRIX_POWER = 64  # the largest |k| of matrix_power(X, k): a product of |k| factors


def matrix_power(a, k) -> Expr:
    """NumPy's ``matrix_power``: X @ X @ ... (k factors) for a whole k ≥ 1, the identity for
    k = 0 and inv(X)^|k| for k < 0, on the last two axes; its derivative is the product rule's
    (d tr(Xᵏ) = k (Xᵏ⁻¹)ᵀ).

    >>> matrix_power(var("X", (3, 3)), 3).shape
    (3, 3)
    """
    a = to_expr(a)
    if not isinstance(k, int) or isinstance(k, bool) or abs(k) > MAX_MATRIX_POWER:
        raise ShapeError("matrix_power", [a.shape], f"the power must be a whole number up to "
                         f"{MAX_MATRIX_POWER} in size, got {k!r}")  # fmt: skip
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ShapeError("matrix_power", [a.shape], "needs a square matrix (or a stack of them)")
    if k < 0:
        return matrix_power(func(Op.INV, a), -k)
    if k == 0:
        stack = tuple(range(2, a.ndim))
        return einsum([(ones(a.shape[:-2]), stack), (eye(a.shape[-1]), (0, 1))], stack + (0, 1))
    out = a
    for _ in range(k - 1):
        out = matmul(out, a)
    return out


def trace(a) -> Expr:
    """The trace of a square matrix, or of each matrix of a stack (the last two axes)
    (``tc.tr`` and ``tc.trace``).

    >>> import tensorcalc as tc
    >>> X = tc.matrix("X", 3, 3)
    >>> print(tc.tr(X), tc.derivative(tc.trace(X), "X"))
    tr(X) eye(3)
    """
    a = to_expr(a)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ShapeError("tr", [a.shape], "trace needs a square matrix (or a stack of them)")
    stack = tuple(range(2, a.ndim))
    return einsum([(a, stack + (0, 0))], stack)


def diag(a) -> Expr:
    """Vector → diagonal matrix; square matrix → its diagonal.

    >>> import tensorcalc as tc
    >>> print(tc.diag(tc.vector("x", 3)).shape, tc.diag(tc.matrix("X", 3, 3)).shape)
    (3, 3) (3,)
    """
    a = to_expr(a)
    if a.ndim == 1:
        return einsum([(a, (0,)), (eye(a.shape[0]), (0, 1))], (0, 1))
    if a.ndim == 2 and a.shape[0] == a.shape[1]:
        return einsum([(a, (0, 0))], (0,))
    raise ShapeError("diag", [a.shape], "diag needs a vector or a square matrix")


# ----------------------------------------------------------------- reshape, vec, kron


def _target(a: Expr, shape) -> tuple:
    """The entries of a user's target shape with NumPy's one ``-1`` resolved: the size of ``a``
    over the other sizes, an int, or a dimension name of ``a`` that the others lack
    (``reshape(X, (2, 2, -1))`` of a 4×n X is 2×2×n)."""
    shape = tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)
    holes = [k for k, d in enumerate(shape) if isinstance(d, int) and d == -1]
    if not holes:
        return shape
    if len(holes) > 1:
        raise ShapeError("reshape", [a.shape, shape], "at most one dimension may be -1")
    known = [d for d in shape if not (isinstance(d, int) and d == -1)]
    names = Counter(d for d in a.shape if isinstance(d, str))
    names.subtract(Counter(d for d in known if isinstance(d, str)))
    left = list(names.elements())
    size = math.prod(d for d in a.shape if isinstance(d, int))
    rest = math.prod(d for d in known if isinstance(d, int) and d > 0)
    if any(v < 0 for v in names.values()) or size % rest or len(left) > 1:
        raise ShapeError("reshape", [a.shape, shape], f"cannot reshape {a.shape} to {shape}: "
                         "the sizes differ, or the size of -1 is not one int or name")  # fmt: skip
    if left and size // rest != 1:
        raise ShapeError("reshape", [a.shape, shape], f"the size of -1 would be {size // rest}·"
                         f"{left[0]}, which is not a size: give sizes")  # fmt: skip
    k = holes[0]
    return shape[:k] + (left[0] if left else size // rest,) + shape[k + 1 :]


def reshape(a, shape) -> Expr:
    """NumPy's row-major ``reshape(a, shape)`` (one ``-1`` may stand for the size left over).

    Dimension names may stay where they are (an n×2×3 tensor reshapes to (n, 6)); a product of
    names such as m·n is not a size, so reshaping an m×n matrix to a vector needs int sizes.

    >>> import tensorcalc as tc
    >>> X = tc.matrix("X", 2, 3)
    >>> print(tc.reshape(X, -1), tc.reshape(X, (3, 2)).shape)
    reshape(X, 6) (3, 2)
    """
    a = to_expr(a)
    shape = as_shape(_target(a, shape))
    if shape == a.shape:
        return a
    if reshape_parts(a.shape, shape) is None:
        node(Op.RESHAPE, (a,), shape)  # raises the ShapeError naming both shapes
    if a.op is Op.CONST:
        return const(a.attrs[0], shape)
    if a.op is Op.ARRAY:
        return array(array_value(a).reshape(shape))
    if a.op is Op.RESHAPE and reshape_parts(a.args[0].shape, shape) is not None:
        return reshape(a.args[0], shape)  # a reshape of a reshape is one reshape
    c, core = split_coef(a)
    if c != 1.0:  # reshape(c X) = c reshape(X)
        idx = tuple(range(len(shape)))
        return einsum([(const(c), ()), (reshape(core, shape), idx)], idx)
    return node(Op.RESHAPE, (a,), shape)


def vec(a) -> Expr:
    """The column-stacking vec of Magnus and Neudecker: the columns of an m×n matrix X one
    under another, an mn-vector; in NumPy terms ``reshape(X', m*n)`` (``X.T.reshape(-1)``,
    or ``X.reshape(-1, order="F")``).  A vector is its own vec.

    >>> import tensorcalc as tc
    >>> X = tc.matrix("X", 2, 3)
    >>> print(tc.vec(X), tc.vec(X).shape)
    vec(X) (6,)
    >>> print(tc.vec(X).evaluate(X=[[1, 2, 3], [4, 5, 6]]))
    [1. 4. 2. 5. 3. 6.]
    """
    a = to_expr(a)
    if a.ndim == 1:
        return a
    if a.ndim != 2:
        raise ShapeError("vec", [a.shape], "vec takes a matrix (or a vector)")
    m, n = a.shape
    if not (isinstance(m, int) and isinstance(n, int)) and 1 not in (m, n):
        raise ShapeError("vec", [a.shape], f"the length {m}·{n} of vec is not an int: give int "
                         "sizes")  # fmt: skip
    size = m * n if isinstance(m, int) and isinstance(n, int) else (n if m == 1 else m)
    return reshape(transpose(a), (size,))


def kron(a, b) -> Expr:
    """NumPy's Kronecker product ``kron(A, B)`` of two matrices (the block matrix of blocks
    A[i, j] B) or two vectors.

    >>> import tensorcalc as tc
    >>> A, B = tc.matrix("A", 2, 3), tc.matrix("B", 4, 5)
    >>> print(tc.kron(A, B), tc.kron(A, B).shape)
    kron(A, B) (8, 15)
    """
    a, b = to_expr(a), to_expr(b)
    shape = node(Op.KRON, (a, b)).shape  # checks the shapes
    if a.op is Op.CONST and b.op is Op.CONST:
        return const(a.attrs[0] * b.attrs[0], shape)
    if a.op is Op.EYE and b.op is Op.EYE:
        return eye(shape[0])  # I ⊗ I = I
    ca, a = split_coef(a)
    cb, b = split_coef(b)
    if ca * cb == 0.0:
        return zeros(shape)
    out = node(Op.KRON, (a, b))
    if ca * cb == 1.0:
        return out
    idx = tuple(range(out.ndim))
    return einsum([(const(ca * cb), ()), (out, idx)], idx)


def delta(out_shape, in_shape) -> Expr:
    """The 0/1 tensor D[J, K] = 1 where the row-major flat positions of J (in ``out_shape``)
    and K (in ``in_shape``) agree: a reshaped identity, the Jacobian of a reshape.  The
    canonical product contracts it with a factor that carries J (or K) in order as a reshape
    of that factor, so no dense N×N tensor is built for a derivative.

    >>> delta((6,), (2, 3)).shape
    (6, 2, 3)
    """
    out_shape, in_shape = tuple(out_shape), tuple(in_shape)
    n = out_shape[0] if len(out_shape) == 1 else math.prod(out_shape)
    return reshape(eye(n), out_shape + in_shape)


def _delta_split(e: Expr):
    """For a reshaped identity (``delta``) the number of its leading axes whose flat position
    is the row of the identity, else ``None``."""
    if e.op is not Op.RESHAPE or e.args[0].op is not Op.EYE:
        return None
    n = e.args[0].shape[0]
    if isinstance(n, str):
        return e.shape.index(n) + 1
    size = 1
    for k, d in enumerate(e.shape):
        if size == n:
            return k
        size *= d
    return None


def _reshape_deltas(terms, out):
    """Σ_J X[.., J, ..] D[J, K] = reshape(X)[.., K, ..]: a reshaped identity D (``delta``)
    whose block J of indices one other factor carries, in order and nowhere else, is that
    factor reshaped.  So the derivatives of reshape, vec and kron are reshapes of the incoming
    adjoint, as fast as the function itself, at every order."""
    terms = list(terms)
    changed = True
    while changed:
        changed = False
        for k, (e, labels) in enumerate(terms):
            s = _delta_split(e)
            labels = tuple(labels)
            if s is None or len(set(labels)) != len(labels):
                continue
            for block, other, shape in (
                (labels[:s], labels[s:], e.shape[s:]),
                (labels[s:], labels[:s], e.shape[:s]),
            ):
                if not block or not other or any(x in out for x in block):
                    continue
                users = [j for j, (_, ls) in enumerate(terms) if j != k and set(block) & set(ls)]
                if len(users) != 1:
                    continue
                a, ls = terms[users[0]]
                ls = tuple(ls)
                pos = next((i for i in range(len(ls)) if ls[i : i + len(block)] == block), None)
                if pos is None or sum(x in block for x in ls) != len(block):
                    continue
                new = reshape(a, a.shape[:pos] + tuple(shape) + a.shape[pos + len(block) :])
                keep = [t for i, t in enumerate(terms) if i not in (k, users[0])]
                terms = keep + [(new, ls[:pos] + tuple(other) + ls[pos + len(block) :])]
                changed = True
                break
            if changed:
                break
    return _kron_deltas(terms, out)


def _kron_deltas(terms, out, fresh=("kron", "fresh")):
    """Σ D[o₁, a₁, b₁] D[o₂, a₂, b₂] P[a₁, a₂] Q[b₁, b₂] = kron(P, Q)[o₁, o₂] (one delta per axis
    of two vectors): the Kronecker product a derivative of kron leaves (d kron(X, B) reads
    kron(dX, B)) and the vec layout makes (d vec(A X B) = kron(B', A) d vec X), where P and Q
    (or their transposes) carry their indices alone.  With P[b₁, a₂] Q[a₁, b₂] instead, the rows
    are those of kron(P, Q) permuted: K_{m₁,p₁} @ kron(P, Q), K the commutation matrix
    (d vec(X'X) = (I + K)(I ⊗ X') d vec X); its inner index is the label ``fresh``."""
    ties = [(k, tuple(ls)) for k, (e, ls) in enumerate(terms)
            if _delta_split(e) == 1 and e.ndim == 3 and len(set(ls)) == 3]  # fmt: skip
    if not ties:
        return terms
    for (k1, t1), (k2, t2) in itertools.product(ties, repeat=2):
        pair = (t1,) if k1 == k2 else (t1, t2)
        if (k1 == k2) != (len(ties) == 1) or any(x in out for t in pair for x in t[1:]):
            continue
        if t2[0] in out and t1[0] in out and out.index(t1[0]) > out.index(t2[0]):
            continue
        la, lb = tuple(t[1] for t in pair), tuple(t[2] for t in pair)
        for swap in (False, True):
            want = (lb[:1] + la[1:], la[:1] + lb[1:]) if swap else (la, lb)
            p, q = (_carrier(terms, ls, {k1, k2}, out) for ls in want)
            if p is None or q is None or p[0] & q[0]:
                continue
            a, b = p[1], q[1]
            shapes = [terms[k][0].shape for k in dict.fromkeys((k1, k2))]
            rows = (shapes[0][1], shapes[0][2])  # (m₁, p₁)
            if swap:  # kron(P, Q) has rows (b₁, a₁): p₁ m₁ of them
                want_shape = ((rows[1], rows[0]),) + tuple(s[1:] for s in shapes[1:])
            else:
                want_shape = tuple(s[1:] for s in shapes)
            if tuple(zip(a.shape, b.shape)) != want_shape:
                continue
            rest = [t for i, t in enumerate(terms) if i not in {k1, k2} | p[0] | q[0]]
            outs = tuple(t[0] for t in pair)
            if not swap:
                return rest + [(kron(a, b), outs)]
            k = commutation(*rows)
            return rest + [(k, (outs[0], fresh)), (kron(a, b), (fresh,) + outs[1:])]
    return terms


def _carrier(terms, labels, skip, out):
    """``(factors, e)``: the product of the factors (not in ``skip``) connected to ``labels``
    through indices summed among themselves, when its free indices are exactly ``labels``
    (``e`` is that product with ``labels`` as its axes), else ``None``."""
    comp = {k for k, (_, ls) in enumerate(terms) if k not in skip and set(ls) & set(labels)}
    grow = True
    while grow:
        inner = {x for k in comp for x in terms[k][1] if x not in labels and x not in out}
        more = {k for k, (_, ls) in enumerate(terms) if k not in skip and set(ls) & inner}
        grow = not more <= comp
        comp |= more
    if not comp:
        return None
    seen = {x for k in comp for x in terms[k][1]}
    outside = {x for k, (_, ls) in enumerate(terms) if k not in comp for x in ls}
    free = {x for x in seen if x in out or x in outside}
    if free != set(labels) or len(set(labels)) != len(labels):
        return None
    return frozenset(comp), einsum([terms[k] for k in sorted(comp)], labels)


_FOLD = {
    Op.EXP: np.exp, Op.LOG: np.log, Op.SIN: np.sin, Op.COS: np.cos, Op.TAN: np.tan,
    Op.ARCSIN: np.arcsin, Op.ARCCOS: np.arccos, Op.ARCTAN: np.arctan, Op.TANH: np.tanh,
    Op.SQRT: np.sqrt, Op.ABS: np.abs, Op.SIGN: np.sign, Op.STEP: lambda v: float(v > 0),
    Op.RELU: lambda v: max(v, 0.0), Op.LOG1P: np.log1p,
}  # fmt: skip


def unary(op: Op, a) -> Expr:
    """An elementwise function; constants fold when the result is an exact integer.

    ``log(exp(t))`` is ``t`` and ``log(1 + exp(t))`` is the stable ``softplus(t)``.
    """
    a = to_expr(a)
    assert KIND[op] == UNARY
    if a.op is Op.STACK:  # f([a, b]) = [f(a), f(b)] elementwise
        return stack([unary(op, t) for t in a.args])
    if op is Op.LOG and a.op is Op.EXP:
        return a.args[0]
    if op is Op.LOG and a.op is Op.ADD and len(a.args) == 2:
        c, e = sorted(a.args, key=lambda t: t.op is not Op.CONST)
        if const_value(c) == 1.0 and e.op is Op.EXP:
            return node(Op.SOFTPLUS, e.args)
    v = const_value(a)
    if v is not None and op in _FOLD:
        with np.errstate(all="ignore"):
            r = float(_FOLD[op](v))
        if math.isfinite(r) and r == round(r):
            return const(r, a.shape)
    return node(op, (a,))


def pow_(a, b) -> Expr:
    """Elementwise power ``a^b`` (a scalar broadcasts)."""
    a, b = _pair(a, b, "^")
    if (pair := _entrywise(a, b)) is not None:
        return stack([pow_(x, y) for x, y in pair])
    va, vb = const_value(a), const_value(b)
    if vb == 1.0:
        return a
    if vb == 0.0 or va == 1.0:
        return ones(a.shape)
    if a.op is Op.EYE and vb is not None and vb > 0:
        return a  # δ^k = δ for k > 0 (1^k = 1, 0^k = 0): eye(3)^2 is eye(3), placed, not dense
    if va is not None and vb is not None:
        with np.errstate(all="ignore"):
            r = float(np.power(va, vb))
        if math.isfinite(r):  # 0^-1, (-1)^0.5 and 2^2000 stay symbolic (inf/nan when evaluated)
            return const(r, a.shape)
    if vb == 2.0 and a.op is Op.NORM:
        (x,) = a.args
        idx = tuple(range(x.ndim))
        return einsum([(x, idx), (x, idx)], ())
    return node(Op.POW, (a, b))


def div(a, b) -> Expr:
    """Elementwise quotient ``a / b`` (a scalar broadcasts), kept as ``a ⊙ (1 / b)``.

    Only reciprocals are ``DIV`` nodes, so quotients multiply out like any other product and
    equal quotients are one node: ``(1/x)/x`` and ``1/(x*x)``-style nestings meet.
    """
    a, b = to_expr(a), to_expr(b)
    if a.shape and not b.shape and b.op is not Op.CONST:  # x / s: x scaled by 1 / s (a scalar)
        return mul(a, div(1.0, b))
    a, b = _pair(a, b, "/")
    if (pair := _entrywise(a, b)) is not None:
        return stack([div(x, y) for x, y in pair])
    vb = const_value(b)
    if vb is not None and vb != 0.0:
        return scale(1.0 / vb, a)
    if const_value(a) == 0.0:
        return zeros(a.shape)
    if a is b:
        return ones(a.shape)
    if const_value(a) == 1.0:
        return node(Op.DIV, (a, b))
    return mul(a, node(Op.DIV, (ones(b.shape), b)))


def mean(a, axis=None) -> Expr:
    """Mean of all entries, or along ``axis``: the sum over the count (``sum(ones(n))`` for a
    symbolic size n), so its derivative, printing and code are the sum's."""
    a = to_expr(a)
    s = sum_(a, axis)
    if axis is None:
        axes = range(a.ndim)
    else:
        axes = [k % a.ndim if a.ndim else k for k in (axis if isinstance(axis, tuple) else (axis,))]
    dims = [a.shape[k] for k in axes]
    count = math.prod(d for d in dims if isinstance(d, int))
    named = tuple(d for d in dims if not isinstance(d, int))
    if named:
        return div(s, scale(count, sum_(ones(named))))
    return scale(1.0 / count, s)


def diag_vector(a: Expr):
    """``v`` when ``a`` is ``diag(v)`` (a product with a delta on its two output indices)."""
    if a.op is not Op.EINSUM or a.ndim != 2 or a.attrs[1][0] == a.attrs[1][1]:
        return None
    p, q = a.attrs[1]
    ops = list(zip(a.args, a.attrs[0]))
    for k, (e, labels) in enumerate(ops):
        if e.op is Op.EYE and set(labels) == {p, q}:
            rest = [
                (x, tuple(q if i == p else i for i in ls))
                for j, (x, ls) in enumerate(ops)
                if j != k
            ]
            if any(q in ls for _, ls in rest):
                return einsum(rest, (q,))
    return None


def func(op: Op, a, axis=None) -> Expr:
    """A non-elementwise function (inv, det, logdet, norm, softmax, logsumexp); softmax and
    logsumexp along ``axis`` when one is given (an int or a tuple of ints; attrs: the sorted
    axes, ``(axis,)`` for one), else over all entries (as when the axes are all of them).

    >>> func(Op.LOGSUMEXP, var("Z", (2, 3, 4)), (0, -1)).shape
    (3,)
    """
    a = to_expr(a)
    if axis is not None:
        axes = axis if isinstance(axis, tuple) else (axis,)
        if (
            op not in (Op.SOFTMAX, Op.LOGSUMEXP)
            or not axes
            or not all(isinstance(k, int) and not isinstance(k, bool) for k in axes)
        ):
            raise ShapeError(op.value, [a.shape], f"bad axis {axis!r}")
        if not all(-a.ndim <= k < a.ndim for k in axes):
            raise ShapeError(op.value, [a.shape], f"axis {axis} out of range")
        axes = tuple(sorted({k % a.ndim for k in axes}))
        if len(axes) != len(axis if isinstance(axis, tuple) else (axis,)):
            raise ShapeError(op.value, [a.shape], f"repeated axis in {axis!r}")
        if len(axes) < a.ndim:
            return node(op, (a,), axes)
    if op is Op.INV and (v := diag_vector(a)) is not None:  # diag(v)⁻¹ = diag(1 / v)
        return diag(div(1, v))
    return node(op, (a,))


MAX_EXPM_DIRECTIONS = 6  # expm's derivatives up to this order: a block matrix of 2ᵏ n rows


def expm_frechet(x, *es) -> Expr:
    """Dᵏ e^X[E₁, …, Eₖ], the k-th Fréchet derivative of the matrix exponential at X in the
    directions E₁ … Eₖ: the top-right block of e^M, M built as M₀ = X, Mⱼ = [[Mⱼ₋₁, I ⊗ Eⱼ],
    [0, Mⱼ₋₁]] (Mathias 1996); multilinear and symmetric in the Eᵢ.  An Eᵢ may have leading
    axes of its own: the result has them all, in order, before X's shape.  No direction: e^X.

    >>> X, E = var("X", (3, 3)), var("E", (5, 3, 3))
    >>> expm_frechet(X, E).shape, expm_frechet(X, zeros((3, 3))).shape
    ((5, 3, 3), (3, 3))
    """
    x, es = to_expr(x), tuple(to_expr(e) for e in es)
    if not es:
        return func(Op.EXPM, x)
    if len(es) > MAX_EXPM_DIRECTIONS:
        raise ShapeError("expm_frechet", [x.shape], f"derivatives of expm above order "
                         f"{MAX_EXPM_DIRECTIONS} are beyond the limit (tensorcalc.build."
                         "MAX_EXPM_DIRECTIONS): a block matrix of 2^k n rows")  # fmt: skip
    out = node(Op.EXPM_FRECHET, (x,) + es)
    if any(const_value(e) == 0.0 for e in es):  # multilinear: a zero direction gives zero
        return zeros(out.shape)
    return out


def frechet_units(x) -> Expr:
    """U with U[c, d, s…, a, b] = δ_ac δ_bd: every unit direction e_c e_dᵀ of x's matrices (a
    stack s… of them, each its own), with its own leading axes (c, d): expm_frechet(X, U) is
    the Jacobian of e^X.

    >>> frechet_units(var("X", (2, 2))).shape
    (2, 2, 2, 2)
    """
    k, s = x.shape[-1], tuple(("stack", j) for j in range(x.ndim - 2))
    ops = [(eye(k), ("c", "a")), (eye(k), ("d", "b"))] + ([(ones(x.shape[:-2]), s)] if s else [])
    return einsum(ops, ("c", "d") + s + ("a", "b"))


REBUILD = {
    Op.EXPM_FRECHET: lambda n, args: expm_frechet(*args),
    Op.EINSUM: lambda n, args: einsum(list(zip(args, n.attrs[0])), n.attrs[1]),
    Op.ADD: lambda n, args: add(*args),
    Op.POW: lambda n, args: pow_(*args),
    Op.DIV: lambda n, args: div(*args),
    Op.STACK: lambda n, args: stack(args),
    Op.RESHAPE: lambda n, args: reshape(args[0], n.attrs),
    Op.KRON: lambda n, args: kron(*args),
}
for _op in Op:
    if KIND[_op] == UNARY:
        REBUILD[_op] = lambda n, args: unary(n.op, args[0])
    elif _op not in REBUILD and _op not in (Op.VAR, Op.CONST, Op.EYE, Op.SELECT, Op.ARRAY):
        REBUILD[_op] = lambda n, args: func(n.op, args[0], n.attrs or None)


def substitute(e: Expr, mapping: dict) -> Expr:
    """Replace nodes (usually variables) by expressions of the same shape, re-canonicalising."""
    for old, new in mapping.items():
        if old.shape != new.shape:
            raise ShapeError(
                "subs", [old.shape, new.shape], f"cannot replace {old} by a different shape"
            )
    memo = dict(mapping)
    for n in postorder([e]):
        if n in memo:
            continue
        args = tuple(memo[a] for a in n.args)
        memo[n] = n if args == n.args else REBUILD[n.op](n, args)
    return memo[e]
