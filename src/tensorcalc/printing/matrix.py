"""Recover matrix notation from the canonical einsum IR.

``to_tree(expr)`` returns a small print tree of ``P`` nodes (kinds: var, num, array, add, neg, mul,
matmul, div, pow, T, call, einsum).  An einsum is printed by folding its operands pairwise
in every order (up to 6 operands) and keeping the reading with the fewest transposes: each
pair is matched to ``@`` (matrix product, matrix-vector, inner ``u' @ v`` and outer
``u @ v'``), ``*`` (elementwise, or a scalar factor), ``diag``, ``tr`` or ``sum``.  Products
with no matrix form (3- and 4-tensors) print as ``einsum("spec", ...)``, which the parser
reads back.  The renderers never see the IR.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import permutations

from ..build import const, factors, split_coef
from ..expr import NOTES, Expr
from ..ops import KIND, UNARY, Op
from ..simplify import is_symmetric

LETTERS = "ijklmnopqrstuvwxyzabcdefghIJKLMNOPQRSTUVWXYZABCDEFGH"


@dataclass(frozen=True, eq=False)
class P:
    kind: str
    children: tuple = ()
    value: object = None
    rank: int = 0
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "_hash", hash((self.kind, self.children, self.value, self.rank)))

    def __hash__(self):  # cached: trees are hashed often by the cost memo
        return self._hash

    def __eq__(self, other):
        if self is other:
            return True
        if not isinstance(other, P) or self._hash != other._hash:
            return False
        return (self.kind, self.value, self.rank, self.children) == (
            other.kind,
            other.value,
            other.rank,
            other.children,
        )


def num(v):
    return P("num", (), float(v), 0)


def call(name, *children, rank=0, extra=()):
    return P("call", tuple(children), (name, tuple(extra)), rank)


def tr_(p):
    """Transpose a print tree, pushing the transpose inwards where that reads better."""
    if p.rank < 2:
        return p.children[0] if p.kind == "T" else P("T", (p,), None, p.rank)
    if p.kind == "T" and p.children[0].rank == 2:
        return p.children[0]
    if p.kind == "call" and p.value[0] in ("diag", "eye"):
        return p
    if p.kind == "neg":
        return P("neg", (tr_(p.children[0]),), None, 2)
    if p.kind == "mul" and p.children[0].rank == 0:
        return P("mul", (p.children[0], tr_(p.children[1])), None, 2)
    if p.kind == "matmul":
        a, b = p.children
        pushed = matmul(tr_(b), tr_(a), 2)
        plain = P("T", (p,), None, 2)
        return min((pushed, plain), key=cost)
    return P("T", (p,), None, 2)


@lru_cache(maxsize=65536)
def cost(p: P) -> float:
    own = 0.0
    if p.kind == "T":
        c = p.children[0]
        atom = c.kind == "var" or (c.kind == "call" and c.value[0] != "solve")  # (A⁻¹b)ᵀ: no
        product = p.children[0].kind in ("matmul", "mul")  # (A @ h)' reads worse than h' @ A'
        solve = c.kind == "call" and c.value[0] == "solve"
        own = (1.0 if atom else 3.0) if c.rank == 2 else (0.1 if atom else 2.0 if solve else 0.5)
        own += 0.2 if product and p.children[0].rank == 1 else 0.0
    elif p.kind == "einsum":
        own = 1000.0
    elif p.kind == "call" and p.value[0] == "sum" and p.value[1]:
        own = 1.0
    elif p.kind == "matmul" and p.children[0].kind == "call" and p.children[0].value[0] == "solve":
        own = 0.3  # solve(A, B @ y) reads better than solve(A, B) @ y
    elif p.kind == "matmul" and p.rank == 2 and p.children[0].rank == 1:
        own = 0.5
    elif p.kind == "call" and p.value[0] == "sum" and not p.value[1]:
        own = 2.0 if p.children[0].kind not in ("var", "call") else 0.0
    elif p.kind == "call" and p.value[0] in ("tr", "diag"):
        own = 0.3 if p.children[0].kind in ("var", "call") else 0.6
    return own + sum(cost(c) for c in p.children)


def mul(a, b):
    if a == b and a.rank == b.rank:
        return _power(a, 2)
    if b.rank == 0 and a.rank > 0:
        a, b = b, a
    rank = max(a.rank, b.rank)
    if (
        a.rank == b.rank
        and b.kind in ("var", "call")
        and a.kind not in ("var", "call", "num")
        and (a.rank or _scalar_order(_Part(a, ())) > _scalar_order(_Part(b, ())))
    ):
        a, b = b, a
    if _is_recip(b):
        return P("div", (a, b.children[1]), None, rank)
    if _is_recip(a):
        return P("div", (b, a.children[1]), None, rank)
    return P("mul", (a, b), None, rank)


def _is_recip(p):
    return p.kind == "div" and p.children[0].kind == "num" and p.children[0].value == 1.0


def matmul(a, b, rank):
    if a.kind == "call" and a.value[0] == "inv":  # A⁻¹ B is solved, never inverted
        return call("solve", a.children[0], b, rank=rank)
    return P("matmul", (a, b), None, rank)


# ---------------------------------------------------------------------------- expr -> tree

NAMES = {op: op.value for op in Op}
NAMES.update({Op.STACK: "stack"})  # printed as a list literal [a, b]; "stack" in code
NAMES.update({Op.INV: "inv", Op.DET: "det", Op.LOGDET: "logdet", Op.NORM: "norm", Op.UNIT: "unit"})


def to_tree(e: Expr, bcast_ok: bool = False) -> P:
    """The print tree of ``e`` (memoised per node)."""
    return _tree(e, bcast_ok)


@lru_cache(maxsize=65536)
def _tree(e: Expr, bcast_ok: bool) -> P:
    return node_tree(e, bcast_ok, _tree)


def node_tree(e: Expr, bcast_ok: bool, sub) -> P:
    """The print tree of one node; ``sub(arg, bcast_ok)`` gives the trees of its arguments.

    The printer recurses (``sub`` is this function, memoised); the code generator passes a
    ``sub`` that returns the names of shared temporaries.
    """
    op = e.op
    if op is Op.VAR:
        return P("var", (), e.attrs[0], e.ndim)
    if op is Op.CONST:
        v = e.attrs[0]
        if not e.shape or bcast_ok:
            return num(v)
        dims = tuple(P("dim", (), d) for d in e.shape)
        if v == 0.0:
            return call("zeros", *dims, rank=e.ndim)
        if v == 1.0:
            return call("ones", *dims, rank=e.ndim)
        return mul(num(v), call("ones", *dims, rank=e.ndim))
    if op is Op.EYE:
        return call("eye", P("dim", (), e.attrs[0]), rank=2)
    if op is Op.ARRAY:
        return P("array", (), e.attrs, e.ndim)
    if op is Op.SELECT:
        return call("select", *(P("dim", (), v) for v in e.attrs), rank=2)
    if op is Op.COMMUTATION:
        return call("commutation", *(P("dim", (), v) for v in e.attrs), rank=2)
    if op is Op.STACK:  # [a, b, ...]: the entries, each printed whole
        return P("stack", tuple(sub(a, False) for a in e.args), None, e.ndim)
    if op is Op.ADD:
        return _add(e, sub)
    if op is Op.EINSUM:
        return _einsum(e, bcast_ok, sub)
    if op in (Op.POW, Op.DIV):
        a, b = e.args
        ok = (not _is_bcast(a), not _is_bcast(b))
        ta, tb = sub(a, ok[1]), sub(b, ok[0])
        return P("pow" if op is Op.POW else "div", (ta, tb), None, e.ndim)
    if op is Op.RESHAPE and (v := _vec_of(e)) is not None:
        return call("vec", sub(v, False), rank=1)
    if KIND[op] == UNARY or op in NAMES:
        args = (sub(a, False) for a in e.args)  # one, or expm_frechet's X, E₁, …, Eₖ
        return call(NAMES[op], *args, rank=e.ndim, extra=e.attrs)  # extra: an axis, a shape
    raise NotImplementedError(op)  # pragma: no cover - the registry test guards this


def _vec_of(e: Expr):
    """X when ``e`` is vec(X) = reshape(X', mn) (the reshape of a transposed matrix to a
    vector), else ``None``."""
    a = e.args[0]
    if e.ndim != 1 or a.ndim != 2 or a.op is not Op.EINSUM or len(a.args) != 1:
        return None
    ((labels,), out) = a.attrs
    return a.args[0] if len(set(labels)) == 2 and tuple(labels) == out[::-1] else None


def _is_bcast(e):
    if e.op is Op.CONST:
        return True
    if e.op is not Op.EINSUM:
        return False
    return all(a.ndim == 0 or (a.op is Op.CONST) for a in e.args)


def _size(p):
    return 1 + sum(_size(c) for c in p.children)


def _add(e, sub):
    bc = not all(_is_bcast(t) for t in e.args)
    terms = []
    for t in e.args:
        c, core = split_coef(t)
        if t.op is Op.CONST:
            c, core = t.attrs[0], None
        if core is None:
            p = num(abs(c))
        else:
            p = sub(core, bc)
            if abs(c) != 1.0:
                p = mul(num(abs(c)), p)
        terms.append((c < 0, p))
    powers = [_monomial(split_coef(t)[1]) for t in e.args]
    if all(powers) and e.ndim == 0 and not NOTES.get(e, {}).get("ordered"):  # (a Taylor
        # polynomial is written by ascending degree on purpose, build.ordered_sum, and stays so)
        # a polynomial in scalars: the textbook order, by powers of the variables in name order
        # (5 * x^4 - 2 * x + 1, 2 * x1 * x2 + x2^3)
        names = sorted({n for m in powers for n, _ in m if n})
        key = [tuple(-dict(m).get(n, 0) for n in names) for m in powers]
        terms = [t for _, t in sorted(zip(key, terms), key=lambda kt: kt[0])]
        if terms[0][0] and not all(neg for neg, _ in terms):  # 1 - 2 * x^2, not -2 * x^2 + 1
            first = next(k for k, (neg, _) in enumerate(terms) if not neg)
            terms.insert(0, terms.pop(first))
    elif list(e.args) == sorted(e.args, key=lambda t: t.digest):  # canonical: positives first
        terms.sort(key=lambda sp: (sp[0], _size(sp[1])))
    return P("add", tuple(p for _, p in terms), tuple(s for s, _ in terms), e.ndim)


def _monomial(e: Expr):
    """``((name, power), ...)`` when ``e`` is a product of powers of scalar variables (a
    constant: ``(("", 0),)``), else ``None``."""
    if e.op is Op.CONST:
        return (("", 0),)
    if e.op is Op.VAR and not e.ndim:
        held = NOTES.get(e, {}).get("holds")  # a placeholder of a part printed as typed
        return _monomial(held) if held is not None else ((e.attrs[0], 1),)
    if e.op is Op.POW and e.args[0].op is Op.VAR and not e.ndim and e.args[1].op is Op.CONST:
        k = e.args[1].attrs[0]
        return ((e.args[0].attrs[0], k),) if k == int(k) and k > 0 else None
    if e.op is Op.EINSUM and not e.ndim and all(not a.ndim for a in e.args):
        parts = [_monomial(a) for a in e.args]
        if all(parts):
            total = Counter()
            for m in parts:
                total.update(dict(m))
            return tuple(sorted(total.items()))
    return None


# --------------------------------------------------------------------------- einsum -> tree


@dataclass(frozen=True)
class _Part:
    p: P
    labels: tuple


def _einsum(e, bcast_ok, sub):
    c, core = split_coef(e)
    ops, out = factors(core)
    if bcast_ok:  # a scalar broadcast, written as the scalar where a broadcast is implied
        carried = [(a, ls) for a, ls in ops if not (a.op is Op.CONST and a.attrs[0] == 1.0)]
        if carried and all(a.ndim == 0 for a, _ in carried):
            # only the output indices of a ones factor broadcast; one it sums is a count
            # (Σᵢ 1 = n), kept: x + sum(ones(m)) * norm(x) is not x + norm(x)
            ops = carried + [
                (const(1.0, tuple(d for d, x in zip(a.shape, ls) if x not in out)), summed)
                for a, ls in ops
                if a.ndim and (summed := tuple(x for x in ls if x not in out))
            ]
            out = ()
    if core is not e:  # a scaled product: its core as a whole (a shared temporary in code)
        body = sub(core, bcast_ok)
    else:
        body = _einsum_body(ops, out, sub)
    if c == 1.0:
        return body
    if c == -1.0:
        return P("neg", (body,), None, body.rank)
    return mul(num(c), body) if c > 0 else P("neg", (mul(num(-c), body),), None, body.rank)


def _power(p, k):
    if _is_recip(p):  # (1 / x)^k reads 1 / x^k
        return P("div", (p.children[0], _power(p.children[1], k)), None, p.rank)
    return P("pow", (p, num(k)), None, p.rank)


def _index_items(sel, keep_axis):
    m, _, start, step = sel.attrs
    if not keep_axis:
        return str(start)
    stop = start + m * step
    text = f"{start}:{stop if stop >= 0 else ''}"
    return text + (f":{step}" if step != 1 else "")


def _absorb_selects(ops, out, sub):
    """A selection matrix applied to one operand's axis reads as indexing: ``x[1:4]``, ``A[:, 0]``."""
    count = Counter(x for _, ls in ops for x in ls)
    items = {}  # operand position -> {axis: index text}
    relabel = {}  # operand position -> new labels
    used = set()
    for k, (s, ls) in enumerate(ops):
        if s.op is not Op.SELECT or len(ls) != 2:
            continue
        new, lab = ls
        if lab in out or count[lab] != 2 or new == lab:
            continue
        j = next(j for j, (x, lx) in enumerate(ops) if j != k and lab in lx)
        x, lx = ops[j]
        if x.op is Op.SELECT or lx.count(lab) != 1 or j in used and lab not in relabel.get(j, lx):
            continue
        axis = lx.index(lab)
        drop = s.attrs[0] == 1 and count[new] == 1 and new not in out
        items.setdefault(j, {})[axis] = _index_items(s, not drop)
        labels = list(relabel.get(j, lx))
        labels[axis] = None if drop else new
        relabel[j] = tuple(labels)
        used.update((j, k))
    if not items:
        return None
    parts = []
    for j, (x, lx) in enumerate(ops):
        if j in items:
            text = tuple(items[j].get(a, ":") for a in range(x.ndim))
            while text and text[-1] == ":":
                text = text[:-1]
            labels = tuple(v for v in relabel[j] if v is not None)
            parts.append(_Part(P("index", (sub(x, False),), text, len(labels)), labels))
        elif j not in used:
            parts.append(_Part(sub(x, False), tuple(lx)))
    return parts


def _einsum_body(ops, out, sub):
    sub = _once(sub)  # the fallback prints the operands again: twice per level is 2^depth
    split = _split_scalars(ops, out, sub)
    if split is not None:
        return split
    absorbed = _absorb_selects(ops, out, sub)
    if absorbed is not None:
        return _search(absorbed, out) or _fallback(ops, out, sub)
    parts, symmetric = [], []
    for (a, ls), k in Counter((a, tuple(ls)) for a, ls in ops).items():
        others = {x for b, lb in ops if (b, tuple(lb)) != (a, ls) for x in lb}
        flips = len(ls) == 2 and ls[0] != ls[1] and is_symmetric(a)
        if k > 1 and set(ls) <= others | set(out):  # y ⊙ y ⊙ Z → y^2 ⊙ Z
            parts.append(_Part(_power(sub(a, False), k), ls))
            symmetric.append(flips)
        else:
            parts.extend([_Part(sub(a, False), ls)] * k)
            symmetric.extend([flips] * k)
    if not out and all(not p.labels for p in parts):  # scalars: 2 * x * y * sin(x) * (x + 1)
        parts = sorted(parts, key=_scalar_order)
    return _search_flips(parts, symmetric, out) or _fallback(ops, out, sub)


def _groups(ops):
    """The operands in groups joined by shared indices (connected components), in order."""
    groups: list = []
    for item in ops:
        joined = [g for g in groups if set(item[1]) & {x for _, ls in g for x in ls}]
        merged = [it for g in joined for it in g] + [item]
        groups = [g for g in groups if all(g is not j for j in joined)] + [merged]
    return groups


def _split_scalars(ops, out, sub):
    """A product with independent scalar factors, read factor by factor: each group of
    operands joined by summed indices (``a' @ c``, ``tr(A)``) is printed on its own and
    multiplied in front, equal ones as a power, so ``(a' @ c) * s^-0.5 * b`` never reads
    ``c' @ (s^-0.5 * a) * b`` and ``-a * eye(k) @ diag(v)`` is ``-a * diag(v)``.  ``None``
    for a product of plain scalars or of one group (the search reads those)."""
    groups = _groups(ops)
    scalar = [g for g in groups if not any(x in out for _, ls in g for x in ls)]
    if not scalar or len(groups) == 1 or all(not ls for _, ls in ops):
        return None
    rest = [item for g in groups if g not in scalar for item in g]
    pieces = Counter(_einsum_body(g, (), sub) for g in scalar)
    factors_ = [_power(p, k) if k > 1 else p for p, k in pieces.items()]
    factors_.sort(key=lambda p: _scalar_order(_Part(p, ())))
    acc = factors_[0]
    for p in factors_[1:]:
        acc = mul(acc, p)
    if not rest:
        return acc
    body = _einsum_body(rest, out, sub)
    if acc.kind == "div" and not _is_recip(acc):  # s / n * v reads s * v / n
        return P("div", (mul(acc.children[0], body), acc.children[1]), None, body.rank)
    return mul(acc, body)


def _scalar_order(part: _Part):
    """Factors of a scalar product as a textbook orders them: variables and their powers by
    name, then functions, then powers of sums, then sums."""
    p = part.p
    while p.kind == "mul":  # a product so far reads as its first factor
        p = p.children[0]
    if p.kind == "num":
        return (-1, "")
    base = p.children[0] if p.kind == "pow" else p
    if base.kind == "var":  # (0, name) < (1, k): variables first; a symbolic power after
        symbolic = p.kind == "pow" and p.children[1].kind != "num"  # functions: log(a) * a^b
        return (1.5 if symbolic else 0, base.value)
    if base.kind == "call":  # sin(u)^4 * cos(u), as a course writes it
        return (1, 0 if p.kind == "pow" else 1)
    return (2, "") if p.kind == "pow" else (3, "")


def _once(sub):
    """``sub`` remembering what it printed (per product: each operand is printed once)."""
    memo = {}

    def once(a, bcast_ok):
        if (a, bcast_ok) not in memo:
            memo[a, bcast_ok] = sub(a, bcast_ok)
        return memo[a, bcast_ok]

    return once


MAX_FLIPS = 3  # symmetric operands tried both ways round (2^3 readings at most)


def _search_flips(parts, symmetric, out):
    """``_search`` over both index orders of symmetric operands (S = S' reads either way)."""
    where = [k for k, s in enumerate(symmetric) if s][:MAX_FLIPS]
    best = None
    for mask in range(1 << len(where)):
        trial = list(parts)
        for bit, k in enumerate(where):
            if mask >> bit & 1:
                trial[k] = _Part(trial[k].p, trial[k].labels[::-1])
        p = _search(trial, out)
        if p is not None and (best is None or cost(p) < cost(best)):
            best = p
    return best


def _search(parts, out):
    """The cheapest readable fold of ``parts`` over operand orders (None if none reads)."""
    if len(parts) == 1 and parts[0].labels == tuple(out):
        return parts[0].p
    best = None
    orders = permutations(range(len(parts))) if len(parts) <= 6 else _chain_orders(parts)
    for order in orders:
        p = _fold([parts[k] for k in order], out)
        if p is not None and (best is None or cost(p) < cost(best)):
            best = p
            if cost(p) == 0:
                break
    return best


def _chain_orders(parts):
    """For many factors, the orders that walk along shared indices from each starting factor
    (a chain x' B A B' x is found without trying every permutation)."""
    orders = [tuple(range(len(parts)))]
    for start in range(len(parts)):
        order, seen = [start], set(parts[start].labels)
        left = [k for k in range(len(parts)) if k != start]
        while left:
            k = next((k for k in left if seen & set(parts[k].labels)), left[0])
            left.remove(k)
            order.append(k)
            seen |= set(parts[k].labels)
        orders.append(tuple(order))
    return orders


def _fallback(ops, out, sub):
    pos = {x: k for k, x in enumerate(out)}
    ops = sorted(ops, key=lambda o: min((pos.get(x, len(out)) for x in o[1]), default=len(out)))
    spec = ",".join("".join(LETTERS[x] for x in ls) for _, ls in ops) + "->"
    spec += "".join(LETTERS[x] for x in out)
    return P("einsum", tuple(sub(a, False) for a, _ in ops), spec, len(out))


def _fold(parts, out):
    rest_labels = [set(p.labels) for p in parts]
    acc = None
    for k, part in enumerate(parts):
        keep = set(out).union(*rest_labels[k + 1 :])
        keep_here = keep | (set(acc.labels) if acc else set())
        part = _reduce(part, keep_here)
        if part is None:
            return None
        acc = part if acc is None else _combine(acc, part, keep)
        if acc is None:
            return None
    acc = _reduce(acc, set(out))
    if acc is None:
        return None
    if acc.labels == tuple(out):
        return acc.p
    if len(out) == 2 and acc.labels == tuple(out)[::-1]:
        return tr_(acc.p)
    return None


def _reduce(part, keep):
    """Apply diag/trace for repeated indices and sums for indices nobody else needs."""
    p, ls = part.p, part.labels
    if len(ls) == 2 and ls[0] == ls[1]:
        if ls[0] in keep:
            return _Part(call("diag", p, rank=1), ls[:1])
        return _Part(call("tr", p), ())
    if len(set(ls)) != len(ls):
        return None
    gone = [k for k, x in enumerate(ls) if x not in keep]
    if not gone:
        return part
    if len(gone) == len(ls):
        return _Part(call("sum", p), ())
    if len(ls) == 2:
        return _Part(call("sum", p, rank=1, extra=(gone[0],)), tuple(x for x in ls if x in keep))
    return None


def _combine(a, b, keep):
    la, lb = a.labels, b.labels
    shared = set(la) & set(lb)
    summed = shared - keep
    if not la or not lb:
        return _Part(mul(a.p, b.p), la or lb)
    if not shared:
        if len(la) == 1 and len(lb) == 1:
            if is_unit(a.p) or is_unit(b.p):  # 1 ⊗ v is the row vᵀ (numerator layout)
                unit, v = (a, b) if is_unit(a.p) else (b, a)
                return _Part(matmul(unit.p, row(v.p), 2), unit.labels + v.labels)
            return _Part(matmul(a.p, row(b.p), 2), la + lb)
        return None
    if summed == shared:
        return _contract(a, b, summed)
    if not summed:
        return _hadamard(a, b)
    had = _hadamard(a, b)
    return _reduce(had, keep) if had else None


def row(p):
    """The vector v written as the row vᵀ, with the transpose pushed into products,
    (M @ x)ᵀ = xᵀ @ Mᵀ and (M⁻¹ b)ᵀ = bᵀ M⁻ᵀ; a vector still (rank 1), as NumPy reads ``x @ M``."""
    if p.kind == "matmul" and p.children[0].rank == 2 and p.children[1].rank == 1:
        m, v = p.children
        return matmul(row(v), tr_(m), 1)
    if p.kind == "call" and p.value[0] == "solve" and p.rank == 1:
        m, v = p.children
        return matmul(row(v), P("T", (call("inv", m, rank=2),), None, 2), 1)
    return P("T", (p,), None, 1)


def named_sizes(tree: P, taken=()) -> P:
    """``sum(ones(n))`` as the size ``n`` (kind ``"size"``, the dimensions as children), as
    LaTeX and explanations show it; the tree unchanged where a variable of the tree, or a name
    in ``taken``, is a dimension's name (``n`` would then read as that variable).  The text
    printer keeps ``sum(ones(n))``: a bare ``n`` in the input language is a scalar variable."""
    names, stack, seen = set(taken), [tree], set()
    while stack:
        p = stack.pop()
        if p not in seen:
            seen.add(p)
            names |= {p.value} if p.kind == "var" else set()
            stack.extend(p.children)
    memo: dict = {}

    def swap(p):
        if p not in memo:
            kids = tuple(swap(c) for c in p.children)
            dims = _counted(p)
            if dims and not {str(d.value) for d in dims} & names:
                memo[p] = P("size", dims, None, 0)
            else:
                memo[p] = p if kids == p.children else P(p.kind, kids, p.value, p.rank)
        return memo[p]

    return swap(tree)


def _counted(p: P):
    """The dimensions of ``sum(ones(dims))`` (a count of entries), else ``None``."""
    if p.kind == "call" and p.value == ("sum", ()) and p.children[0].kind == "call":
        inner = p.children[0]
        if inner.value == ("ones", ()):
            return inner.children
    return None


def is_unit(p):
    """``ones(1)``: ``ones(1) @ v'`` is the 1×n row that the numerator layout gives."""
    return p.kind == "call" and p.value[0] == "ones" and [c.value for c in p.children] == [1]


def _contract(a, b, summed):
    la, lb = a.labels, b.labels
    if len(summed) == 1:
        (s,) = summed
        if len(la) == 2 and len(lb) == 2:
            pa = a.p if la[1] == s else tr_(a.p)
            pb = b.p if lb[0] == s else tr_(b.p)
            i = la[0] if la[1] == s else la[1]
            j = lb[1] if lb[0] == s else lb[0]
            return _Part(matmul(pa, pb, 2), (i, j))
        if len(la) == 2 and len(lb) == 1:
            pa = a.p if la[1] == s else tr_(a.p)
            return _Part(matmul(pa, b.p, 1), (la[0] if la[1] == s else la[1],))
        if len(la) == 1 and len(lb) == 2:
            pb = b.p if lb[1] == s else tr_(b.p)
            return _Part(matmul(pb, a.p, 1), (lb[0] if lb[1] == s else lb[1],))
        if len(la) == 1 and len(lb) == 1:
            if a.p == b.p and a.p.kind != "var":
                return _Part(P("pow", (call("norm", a.p), num(2)), None, 0), ())
            options = (matmul(tr_(a.p), b.p, 0), matmul(tr_(b.p), a.p, 0))
            return _Part(min(options, key=cost), ())
        return None
    if len(summed) == 2 and len(la) == 2 and len(lb) == 2:
        if la == lb:
            if a.p == b.p:
                return _Part(P("pow", (call("norm", a.p), num(2)), None, 0), ())
            return _Part(call("sum", mul(a.p, b.p)), ())
        return _Part(call("tr", matmul(a.p, b.p, 2)), ())
    return None


def _hadamard(a, b):
    la, lb = a.labels, b.labels
    if la == lb:
        return _Part(mul(a.p, b.p), la)
    if len(la) == 2 and lb == la[::-1]:
        return _Part(mul(a.p, tr_(b.p)), la)
    if len(la) == 1 and len(lb) == 2:
        a, b, la, lb = b, a, lb, la
    if len(la) == 2 and len(lb) == 1:
        d = call("diag", b.p, rank=2)
        if a.p.kind == "call" and a.p.value[0] == "eye":
            return _Part(d, la)
        if lb[0] == la[0]:
            return _Part(matmul(d, a.p, 2), la)
        return _Part(matmul(a.p, d, 2), la)
    return None
