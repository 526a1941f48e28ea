r"""Shape inference for undeclared variables: the lowest ranks that make every operation
well-formed, with matrixcalculus.org's naming convention deciding ties.

Declared shapes are used as given.  Every undeclared variable gets a rank; its dimensions are
unknowns that the operations unify (``x' @ A @ x`` makes A square and x as long as A), so a
rank assignment either type-checks, fixing which dimensions are equal, or fails.  Among the
assignments that type-check the cheapest wins:

* rank costs follow the naming convention: a lower-case name costs its rank (scalar 0,
  vector 1, matrix 3, higher 5, 7), a capitalised name is a matrix for free (matrix 0,
  vector 2, scalar 3, higher 4, 6);
* an undeclared operand that would be a scalar beside a tensor in an elementwise operation
  (``-y * (X @ w)``) costs 2 more, so it takes its partner's shape (y is a vector), as it
  would when the partner is declared; so does a transposed scalar (``x^\top A x`` in LaTeX,
  where juxtaposition would accept scalars: ``TRANSPOSED``), an undeclared scalar beside a
  transposed vector in a juxtaposition (``w^\top x`` is an inner product, x a vector), and an
  undeclared scalar as the argument of a function of vectors (``softmax(x)``, ``norm1(x)``,
  ``\|x\|``: ``VECTOR_FUNCS``), so that lower-case names are typed the same way everywhere.

**MATLAB syntax** types by name instead (matrixcalculus.org's convention): ``fixed`` gives an
undeclared name its one rank (a–g scalars, h–z vectors, A–Z matrices; ``matlab_ranks``), and
``square`` names (MATLAB's bare ``eye``) are square matrices.

Assignments are tried cheapest first (a best-first walk of the rank lattice, at most
``LIMIT`` of them), so declared or nearly declared expressions cost one check.  The
dimensions left unknown get fresh names (``n``, ``m``, ``k``, … not otherwise in use) in
order of appearance: ``x' @ A @ x`` assumes ``x: n, A: n×n``.
"""

from __future__ import annotations

import heapq

from .ast import Array, BinOp, Call, Index, Name, Neg, Num, Stack, Str, Transpose, Tuple

LIMIT = 4000
RANKS = (0, 1, 2, 3, 4)
COST = {False: (0, 1, 3, 5, 7), True: (3, 2, 0, 4, 6)}  # capitalised? -> cost per rank
MISMATCH = 2
TRANSPOSED = 3  # a transposed undeclared scalar (more than a vector's rank cost: x^T x)
POOL = ("n", "m", "k", "p", "q", "r", "l", "d", "t", "s", "u", "v")

ELEMENTWISE_BINOPS = {"+", "-", "*", "/", "^"}
SCALAR_OUT = {"tr", "trace", "det", "logdet", "norm", "norm1", "norm2", "norm_2"}
AXIS_REDUCE = {"sum", "mean", "logsumexp"}  # f(X) is a scalar, f(X, axis) drops the axis
SQUARE_SAME = {"inv", "^-T", "cholesky", "phi", "expm"}
VECTOR_FUNCS = {"softmax", "logsumexp", "norm", "norm1", "norm2", "norm_2", "unit", "sum", "mean"}
MATLAB_RANKS = {**dict.fromkeys("abcdefg", 0), **dict.fromkeys("hijklmnopqrstuvwxyz", 1)}
MATLAB_RANKS |= dict.fromkeys("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 2)


def matlab_ranks(names) -> dict:
    """matrixcalculus.org's ranks by a name's first letter (names not starting with an ASCII
    letter are left to the cost search).

    >>> matlab_ranks(["a", "x", "A", "θ"])
    {'a': 0, 'x': 1, 'A': 2}
    """
    return {n: MATLAB_RANKS[n[0]] for n in names if n[:1] in MATLAB_RANKS}


class Fail(Exception):
    """The current rank assignment does not type-check."""


class Unknown(Exception):
    """A construct inference does not model (the lowering reports it)."""


class _Var:
    __slots__ = ()


class _Check:
    """One run: shapes whose dimensions are concrete or ``_Var`` unknowns, unified."""

    def __init__(self, declared, ranks, elementwise, square=(), matlab=False):
        self.matlab = matlab
        self.declared = declared
        self.ranks = ranks
        self.square_names = square
        self.products = 0  # juxtapositions (MATLAB's *) of two non-scalars
        self.elementwise = elementwise
        self.parent = {}
        self.vars = {}
        self.penalty = 0

    def find(self, d):
        while isinstance(d, _Var) and d in self.parent:
            d = self.parent[d]
        return d

    def unify(self, a, b):
        a, b = self.find(a), self.find(b)
        if a is b or a == b:
            return
        if isinstance(a, _Var):
            self.parent[a] = b
        elif isinstance(b, _Var):
            self.parent[b] = a
        else:
            raise Fail

    def same(self, s, t):
        if len(s) != len(t):
            raise Fail
        for a, b in zip(s, t):
            self.unify(a, b)

    # each returns (shape, row, free): free = built from undeclared names by elementwise steps
    def sh(self, n):
        if isinstance(n, Num):
            return (), False, False
        if isinstance(n, Array):
            return n.shape, False, False
        if isinstance(n, Stack):  # [a, b]: entries of one shape (scalars broadcast)
            shapes = [self.sh(i)[0] for i in n.items]
            shape = max(shapes, key=len)
            for s in shapes:
                if s:
                    self.same(s, shape)
            return (len(n.items),) + tuple(shape), False, False
        if isinstance(n, Name):
            if n.id in self.declared:
                return self.declared[n.id], False, False
            if n.id not in self.ranks:
                raise Unknown
            if n.id not in self.vars:
                self.vars[n.id] = tuple(_Var() for _ in range(self.ranks[n.id]))
                if n.id in self.square_names:
                    self.square(self.vars[n.id])
            return self.vars[n.id], False, True
        if isinstance(n, Neg):
            return self.sh(n.arg)
        if isinstance(n, Transpose):
            s, row, free = self.sh(n.arg)
            if free and not s:
                self.penalty += TRANSPOSED
            return (s, not row, free) if len(s) == 1 else (s[::-1], False, free)
        if isinstance(n, BinOp):
            return self.binop(n)
        if isinstance(n, Index):
            return self.index(n)
        if isinstance(n, Call):
            return self.call(n)
        raise Unknown

    def ew(self, left, right):
        (sl, _, fl), (sr, _, fr) = left, right
        if len(sl) == len(sr):
            self.same(sl, sr)
            return sl, False, fl and fr
        if sl and sr:
            raise Fail
        if (fl and not sl) or (fr and not sr):
            self.penalty += MISMATCH
        return sl or sr, False, False

    def binop(self, n):
        left, right = self.sh(n.left), self.sh(n.right)
        if n.op in ELEMENTWISE_BINOPS:
            shape, _, free = self.ew(left, right)
            # a row scaled by a scalar stays a row (``lower``): y @ (2 * x') is an outer product
            row = (left[1] and len(left[0]) == 1 and not right[0]) or (
                n.op == "*" and right[1] and len(right[0]) == 1 and not left[0]
            )
            return shape, row and n.op in ("*", "/") and not self.matlab, free
        if n.op == "kron":  # A \otimes B
            return self.kron(left[0], right[0])
        if n.op == " " and left[0] and right[0]:
            self.products += 1
        if n.op == " " and (not left[0] or not right[0]):
            row = left[1] if left[0] else right[1]
            if row and (left[2] and not left[0] or right[2] and not right[0]):
                self.penalty += MISMATCH  # w^T x with x a scalar: x is rather a vector
            return left[0] or right[0], row, False
        return self.matmul(left, right)

    def matmul(self, left, right, rows=True):
        (sl, rl, _), (sr, rr, _) = left, right
        rl, rr = rl and rows, rr and rows
        if len(sl) not in (1, 2) or len(sr) not in (1, 2):
            raise Fail
        if self.matlab and len(sl) == 1 and not rl and not (len(sr) == 1 and rr):
            raise Fail  # MATLAB: a column times a column or a matrix
        if len(sl) == 1 and len(sr) == 1:
            if rl and rr:
                raise Fail
            if rr and not rl:
                return (sl[0], sr[0]), False, False
        if rr and len(sr) == 1 and len(sl) == 2:
            raise Fail
        self.unify(sl[-1], sr[0])
        out = sl[:-1] + sr[1:]
        return out, rl and len(out) == 1, False

    def index(self, n):
        s, _, _ = self.sh(n.arg)
        if len(n.items) > len(s):
            raise Fail
        out = []
        for item, d in zip(n.items, s):
            if isinstance(item, slice):
                d = self.find(d)
                out.append(len(range(*item.indices(d))) if isinstance(d, int) else _Var())
        return tuple(out) + s[len(n.items) :], False, False

    def axis(self, n):
        args = list(n.args[1:]) + [v for k, v in n.kwargs if k == "axis"]
        if not args:
            return None
        a = args[0]
        sign = 1
        if isinstance(a, Neg):
            sign, a = -1, a.arg
        if not isinstance(a, Num):
            raise Unknown
        return sign * int(a.value)

    def call(self, n):
        f = n.func
        if f in DIMS:
            return DIMS[f](n), False, False
        if f == "einsum":
            return self.einsum(n)
        if f == "reshape":
            raise Unknown  # the sizes of the result are the literal's: declare the shapes
        if f in ("transpose", "swapaxes") and len(n.args) > 1:
            return self.permute(n)
        vals = [self.sh(a) for a in n.args if not isinstance(a, Num) or f not in AXIS_FUNCS]
        if not vals:
            raise Unknown
        s, row, free = vals[0]
        if f in VECTOR_FUNCS and free and not s:
            self.penalty += MISMATCH  # softmax(x), norm1(x): x is rather a vector
        if f == "m^":  # MATLAB's power: of scalars, or an integer power of a square matrix
            if vals[1][0] or len(s) == 1 or len(s) > 2:
                raise Fail
            if s:
                self.square(s)
            return s, False, free
        if f == "m/":  # MATLAB's division: by a scalar only
            if vals[1][0]:
                raise Fail
            return s, row, free
        if f in self.elementwise:
            return s, row, free
        if f in SCALAR_OUT or f in AXIS_REDUCE or f == "softmax":
            if f in ("tr", "trace", "det", "logdet"):
                self.square(s)
            if f == "norm_2" and len(s) > 1:
                raise Fail
            ax = self.axis(n) if f in AXIS_FUNCS else None
            if ax is None:
                return (s if f == "softmax" else ()), False, False
            if not -len(s) <= ax < len(s):
                raise Fail
            ax %= len(s)
            return (s if f == "softmax" else s[:ax] + s[ax + 1 :]), False, False
        if f in SQUARE_SAME or (f == "^-1" and len(s) == 2):
            self.square(s)
            return s, False, False
        if f == "^-1":
            return s, row, free
        if f == "^":
            if len(s) == 2:
                raise Fail
            return self.ew(vals[0], vals[1])
        if f == "diag":
            if len(s) == 1:
                return (s[0], s[0]), False, False
            self.square(s)
            return s[:1], False, False
        if f == "transpose":
            return s[::-1], False, False
        if f in ("vector", "matrix"):
            if s:
                raise Fail
            return s, False, False
        if f == "vec" and len(s) in (1, 2):
            return (s[0] if len(s) == 1 else _Var(),), False, False
        if f == "kron" and len(vals) == 2:
            return self.kron(s, vals[1][0])
        if f == "outer" and len(vals) == 2:
            return s + vals[1][0], False, False
        if f == "dot" and len(vals) == 2:
            return self.matmul(vals[0], vals[1], rows=False)
        if f == "expm_frechet" and len(vals) >= 2:  # X and directions of X's shape
            if any(len(v[0]) != 2 for v in vals):
                raise Unknown  # stacks, directions with axes of their own: as declared
            for v in vals:
                self.same(s, v[0])
            self.square(s)
            return s, False, False
        if f == "solve" and len(vals) == 2:
            self.square(s)
            t = vals[1][0]
            if len(t) not in (1, 2):
                raise Fail
            self.unify(s[1], t[0])
            return s[:1] + t[1:], False, False
        raise Unknown

    def kron(self, s, t):
        """kron of two matrices or two vectors: sizes products of theirs, left unknown."""
        if len(s) != len(t) or len(s) not in (1, 2):
            raise Fail
        return tuple(_Var() for _ in s), False, False

    def permute(self, n):
        """transpose(T, (axes...)) and swapaxes(T, i, j) on literal axes."""
        s = self.sh(n.args[0])[0]
        lits = [a.items if isinstance(a, Tuple) else (a,) for a in n.args[1:]]
        ks = [_int(a) for group in lits for a in group]
        if any(k is None for k in ks):
            raise Unknown
        if any(not -len(s) <= k < len(s) for k in ks):
            raise Fail
        ks = [k % len(s) for k in ks]
        if n.func == "swapaxes":
            if len(ks) != 2:
                raise Unknown
            perm = list(range(len(s)))
            perm[ks[0]], perm[ks[1]] = perm[ks[1]], perm[ks[0]]
        elif sorted(ks) == list(range(len(s))):
            perm = ks
        else:
            raise Fail
        return tuple(s[k] for k in perm), False, False

    def square(self, s):
        if len(s) != 2:
            raise Fail
        self.unify(s[0], s[1])

    def einsum(self, n):
        if not n.args or not isinstance(n.args[0], Str):
            raise Unknown
        ins, _, out = n.args[0].value.replace(" ", "").partition("->")
        groups = ins.split(",")
        if len(groups) != len(n.args) - 1:
            raise Unknown
        dims = {}
        for a, g in zip(n.args[1:], groups):
            if isinstance(a, Call) and a.func == "delta":
                s = (_Var(),) * 2
            else:
                s = self.sh(a)[0]
            if len(s) != len(g):
                raise Fail
            for lab, d in zip(g, s):
                if lab in dims:
                    self.unify(dims[lab], d)
                else:
                    dims[lab] = d
        if any(lab not in dims for lab in out):
            raise Unknown
        return tuple(dims[lab] for lab in out), False, False


AXIS_FUNCS = AXIS_REDUCE | {"softmax"}


def _int(a):
    """The value of an integer literal (``-1`` too), else ``None``."""
    sign = 1
    if isinstance(a, Neg):
        sign, a = -1, a.arg
    return sign * int(a.value) if isinstance(a, Num) and a.value == int(a.value) else None


def _dims(n):
    out = []
    for a in n.args:
        if isinstance(a, Num) and a.value == int(a.value) and a.value > 0:
            out.append(int(a.value))
        elif isinstance(a, Name):
            out.append(a.id)
        else:
            raise Unknown
    return tuple(out)


DIMS = {
    "eye": lambda n: _dims(n)[:1] * 2,
    "ones": _dims,
    "zeros": _dims,
    "select": lambda n: tuple(int(a.value) for a in n.args[:2] if isinstance(a, Num)),
}


def matrix_products(tree, shapes, elementwise) -> int:
    """How many of the MATLAB reading's ``*`` multiply two non-scalars, with every variable's
    shape given (0 when the shapes do not type-check)."""
    run = _Check(shapes, {}, elementwise, (), True)
    try:
        run.sh(tree)
    except (Fail, Unknown):
        return 0
    return run.products


def _cost(name, rank):
    return COST[name[:1].isupper()][RANKS.index(rank)]


def search(tree, names, declared, elementwise, fixed=None, square=(), matlab=False):
    """The cheapest rank assignment of ``names`` that type-checks, as full shapes, or ``None``.

    ``declared`` maps names to concrete shapes; ``names`` (undeclared) are in order of first
    appearance, which is also the order their dimensions are named in.  ``fixed`` maps names
    to the one rank they may have; ``square`` names are square matrices; ``matlab``: a column
    vector times a column vector or a matrix does not type-check.
    """
    if not names:
        return {}
    fixed = fixed or {}
    order = {
        name: [fixed[name]] if name in fixed else sorted(RANKS, key=lambda r: _cost(name, r))
        for name in names
    }
    costs = {name: [_cost(name, r) for r in order[name]] for name in names}
    start = (0,) * len(names)
    heap = [(0, start)]
    seen = {start}
    best = None
    tried = 0
    while heap and tried < LIMIT:
        base, choice = heapq.heappop(heap)
        if best is not None and base >= best[0]:
            break
        tried += 1
        ranks = {name: order[name][c] for name, c in zip(names, choice)}
        run = _Check(declared, ranks, elementwise, square, matlab)
        try:
            run.sh(tree)
        except Fail:
            pass
        except Unknown:
            return None
        else:
            total = base + run.penalty
            if best is None or total < best[0]:
                best = (total, run)
        for k in range(len(names)):
            if choice[k] + 1 < len(order[names[k]]):
                nxt = choice[:k] + (choice[k] + 1,) + choice[k + 1 :]
                if nxt not in seen:
                    seen.add(nxt)
                    cost = sum(costs[name][c] for name, c in zip(names, nxt))
                    heapq.heappush(heap, (cost, nxt))
    if best is None:
        return None
    return _name_dims(best[1], names, declared)


def _name_dims(run, names, declared):
    used = {d for s in declared.values() for d in s if isinstance(d, str)} | set(names)
    used |= set(declared)
    pool = [p for p in POOL if p not in used] + [f"n{k}" for k in range(1, 100)]
    named = {}
    out = {}
    for name in names:
        dims = []
        for d in run.vars.get(name, ()):
            d = run.find(d)
            if isinstance(d, _Var):
                if d not in named:
                    named[d] = pool[len(named)]
                d = named[d]
            dims.append(d)
        out[name] = tuple(dims)
    return out
