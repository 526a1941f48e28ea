"""Shapes and the shape-rule table.

A dimension is an ``int`` or a symbolic name (``str``); two dims are equal only when they are
identical.  ``SHAPE[op](args, attrs)`` returns the result shape of a node or raises
``ShapeError`` naming the op and the operand shapes; ``expr.node`` calls it for every node.
"""

from __future__ import annotations

import math
import operator
import unicodedata

from .errors import EvaluationError, ShapeError
from .ops import KIND, UNARY, Op

Dim = int | str
Shape = tuple

MAX_DIM = 2**32  # the largest size of one axis (more would not fit in memory anyway)
MAX_RANK = 52  # the einsum alphabet a-z, A-Z: no result or product may carry more indices
MAX_OPERANDS = 32  # NumPy's einsum takes at most 32 operands: longer products stay nested


def check_name(name, what: str = "variable") -> str:
    """Validate an identifier and return its NFKC form (the form Python compares names in).

    ``"ｎ"`` (full width) is ``"n"``, ``"ﬁ"`` is ``"fi"`` and ``"Ⅸ"`` is ``"IX"``.  Every name is
    normalised where it enters: expression text, ``shapes`` keys, dimension names, the Expr API
    (``tc.vector("ｘ", "ｎ")`` is ``tc.vector("x", "n")``), and the keys of values given to
    ``evaluate`` and compiled functions (``normal_keys``).

    >>> check_name("ｎ", "dimension")
    'n'
    """
    if not isinstance(name, str):
        raise ShapeError(what, [], f"bad {what} name {name!r}: names are strings")
    norm = unicodedata.normalize("NFKC", name)
    if not (name.isidentifier() and norm.isidentifier()):
        shown = name if len(name) <= 40 else name[:37] + "..."
        raise ShapeError(
            what, [], f"bad {what} name {shown!r}: use letters, digits and _ (not first a digit)"
        )
    return norm


def check_dim(d) -> Dim:
    """Validate one dimension: a positive int (up to ``MAX_DIM``) or a name.

    NumPy integers count as ints and ASCII digit strings are read as ints; floats, bools,
    bytes and anything else are a ``ShapeError`` naming the problem.

    >>> check_dim("3"), check_dim("n")
    (3, 'n')
    """
    if isinstance(d, str) and d.isascii() and d.isdigit():
        d = int(d) if len(d) <= 20 else MAX_DIM + 1
    if isinstance(d, (bool, float, complex, bytes)) or (
        not isinstance(d, str) and not hasattr(d, "__index__")
    ):
        shown = repr(d) if len(repr(d)) <= 40 else repr(d)[:37] + "..."
        raise ShapeError("shape", [], f"bad dimension {shown}: use a positive int or a name")
    if isinstance(d, str):
        return check_name(d, "dimension")
    d = operator.index(d)
    if d < 1:
        raise ShapeError("shape", [], f"dimension {d} must be positive")
    if d > MAX_DIM:
        raise ShapeError("shape", [], f"dimension {d} is too large (the limit is {MAX_DIM})")
    return d


SYMMETRIC = ("sym", "symmetric")  # the trailing flag of a symmetric matrix: "n,n,sym"


def _parts(shape) -> list:
    """The entries of a user shape, checked: a string is split at commas (an empty entry, as in
    ``"n,,n"``, is an error); an int is one dim; bytes, floats and other non-sequences are
    errors."""
    if shape is None:
        return []
    if isinstance(shape, str):
        parts = [p.strip() for p in shape.split(",")]
        if parts == [""]:
            return []
        if "" in parts:
            raise ShapeError("shape", [], f"empty dimension in {shape!r}")
        return parts
    if isinstance(shape, (bytes, bytearray, dict, set, frozenset)) or not hasattr(
        shape, "__iter__"
    ):
        if hasattr(shape, "__index__") and not isinstance(shape, bool):
            return [shape]
        shown = repr(shape) if len(repr(shape)) <= 40 else repr(shape)[:37] + "..."
        raise ShapeError("shape", [], f"bad shape {shown}: use a tuple of ints and names, or 'n,m'")
    return list(shape)


def as_shape(shape) -> Shape:
    """Normalise a user shape (``()``, ``"n"``, ``("n", 3)``, ``"n,m"``, ``3``) to a tuple of dims.

    A trailing ``"sym"`` / ``"symmetric"`` flag (``"n,n,sym"``) is not a dimension: it is
    dropped here and read by ``is_symmetric_spec``.  Bad entries (``"n,,n"``, ``1.5``,
    ``b"n"``) and a rank above ``MAX_RANK`` are a ``ShapeError``.

    >>> as_shape("n, 3")
    ('n', 3)
    """
    parts = _parts(shape)
    if parts and isinstance(parts[-1], str) and parts[-1] in SYMMETRIC:
        parts = parts[:-1]
        if len(parts) != 2 or parts[0] != parts[1]:
            raise ShapeError("shape", [tuple(parts)], "only a square matrix can be symmetric")
    if len(parts) > MAX_RANK:
        raise ShapeError("shape", [], f"rank {len(parts)} is above the limit of {MAX_RANK}")
    return tuple(check_dim(d) for d in parts)


def is_symmetric_spec(shape) -> bool:
    """Whether a user shape carries the symmetric flag (``("n", "n", "symmetric")``)."""
    parts = _parts(shape)
    return bool(parts) and isinstance(parts[-1], str) and parts[-1] in SYMMETRIC


def as_shapes(shapes) -> dict:
    """Validate a ``{name: shape}`` mapping: names NFKC-normalised, shapes by ``as_shape``.

    Two keys that are different spellings of one name (``"ｔ0"`` and ``"t0"``) are an error.

    >>> as_shapes({"ｘ": "n"})
    {'x': ('n',)}
    """
    if shapes is None:
        return {}
    if not isinstance(shapes, dict):
        raise ShapeError("shapes", [], f"shapes must be a dict of name to shape, not {shapes!r}")
    for key in shapes:
        check_name(key)
    out = {}
    for name, shape in normal_keys(shapes, "shapes").items():
        try:
            out[name] = as_shape(shape)
        except ShapeError as err:  # say whose shape it is
            raise ShapeError(f"the shape of {name}", err.shapes, err.detail) from None
    return out


def normal_keys(mapping, what: str = "values") -> dict:
    """``mapping`` with its string keys in NFKC form (other keys, ``Expr`` nodes, kept), so
    that ``{"ｘ": v}`` finds variable ``x``.  Two keys that are spellings of one name
    (``"ﬁ"`` and ``"fi"``) are a ``ShapeError`` naming both.

    >>> normal_keys({"ｘ": 1, "y": 2})
    {'x': 1, 'y': 2}
    """
    out, spelled = {}, {}
    for key, value in mapping.items():
        name = unicodedata.normalize("NFKC", key) if isinstance(key, str) else key
        if name in spelled:
            raise ShapeError(
                what, [], f"{key!r} and {spelled[name]!r} are the same name after Unicode "
                f"normalisation (NFKC: {name!r}); spell it one way"
            )  # fmt: skip
        spelled[name] = key
        out[name] = value
    return out


def bind_shape(name: str, shape, got, dims: dict, strict: bool = True):
    """Bind the symbolic dims of variable ``name``'s ``shape`` from an array shape ``got`` into
    ``dims``; ``EvaluationError`` on a rank or size mismatch.  ``strict=False`` binds nothing
    on a mismatch and returns the error instead (raised by the caller only where a size is then
    missing): for a variable the expression does not have (the inputs of the function a
    derivative came from, which an equal interned node may have from elsewhere)."""
    if not strict:
        trial = dict(dims)
        try:
            bind_shape(name, shape, got, trial)
        except EvaluationError as err:
            return err
        dims.update(trial)
        return None
    if len(got) != len(shape):
        raise EvaluationError(f"{name!r} should have {len(shape)} axes {shape}, got shape {got}")
    for d, k in zip(shape, got):
        if isinstance(d, int) and d != k:
            raise EvaluationError(f"{name!r} should have shape {shape}, got {got}")
        if isinstance(d, str) and dims.setdefault(d, k) != k:
            raise EvaluationError(f"dimension {d!r} is {dims[d]} elsewhere but {k} in {name!r}")


def _same(op, args):
    shapes = [a.shape for a in args]
    if any(s != shapes[0] for s in shapes):
        raise ShapeError(op.value, shapes, "operands must have the same shape")
    return shapes[0]


def _square(op, args):
    """A square matrix, or a stack of them (NumPy's ``linalg``: the last two axes)."""
    (x,) = args
    if len(x.shape) < 2 or x.shape[-1] != x.shape[-2]:
        raise ShapeError(op.value, [x.shape], "needs a square matrix (or a stack of them)")
    return x.shape


def _matrix(op, args):
    (x,) = args
    if x.ndim < 2:
        raise ShapeError(op.value, [x.shape], "needs a matrix (or a stack of them)")
    return x.shape


def _svdvals(args):
    """min(m, n) singular values per matrix: the smaller of two sizes must be known."""
    (x,) = args
    if x.ndim < 2:
        raise ShapeError("svdvals", [x.shape], "needs a matrix (or a stack of them)")
    m, n = x.shape[-2:]
    if m != n and not (isinstance(m, int) and isinstance(n, int)):
        raise ShapeError(
            "svdvals", [x.shape], f"cannot tell which of {m} and {n} is smaller: give int sizes"
        )
    return x.shape[:-2] + (n if m == n or n < m else m,)


def reshape_parts(old: Shape, new: Shape):
    """``(p, q)``: the lengths of the longest common prefix and suffix of dims (names included)
    that a row-major reshape from ``old`` to ``new`` keeps, when the dims between them are ints
    of one product, so the reshape is valid at every size of the names; else ``None``.

    >>> reshape_parts(("n", 2, 3), ("n", 6)), reshape_parts(("m", "n"), (6,))
    ((1, 0), None)
    """
    p = 0
    while p < min(len(old), len(new)) and old[p] == new[p]:
        p += 1
    q = 0
    while q < min(len(old), len(new)) - p and old[-1 - q] == new[-1 - q]:
        q += 1
    mid_old, mid_new = old[p : len(old) - q], new[p : len(new) - q]
    if not all(isinstance(d, int) for d in mid_old + mid_new):
        return None
    return (p, q) if math.prod(mid_old) == math.prod(mid_new) else None


def _reshape(args, attrs):
    """A row-major reshape: the sizes must agree for every value of the dimension names."""
    (x,) = args
    if reshape_parts(x.shape, attrs) is None:
        raise ShapeError(
            "reshape", [x.shape, attrs], f"cannot reshape {x.shape} to {attrs}: the sizes "
            "differ, or depend on dimension names (give int sizes; names may only stay in "
            "place, as in reshape(X, (n, 6)) of an n×2×3 X)"
        )  # fmt: skip
    return attrs


def _kron(args):
    """``kron(A, B)``: two matrices (or two vectors); axis k has size a_k·b_k, which must be an
    int (or one of the two a 1)."""
    a, b = args
    if a.ndim != b.ndim or a.ndim not in (1, 2):
        raise ShapeError("kron", [a.shape, b.shape], "needs two matrices or two vectors")
    out = []
    for m, p in zip(a.shape, b.shape):
        if isinstance(m, int) and isinstance(p, int):
            out.append(check_dim(m * p))
        elif m == 1 or p == 1:
            out.append(p if m == 1 else m)
        else:
            raise ShapeError(
                "kron", [a.shape, b.shape], f"the size {m}·{p} is not an int: give int sizes"
            )
    return tuple(out)


def _frechet(args):
    """Dᵏ e^X[E₁, …, Eₖ]: X square (a stack S of them), each Eᵢ of shape Pᵢ + X's (Pᵢ: the
    direction's own leading axes, any); the result has shape P₁ + … + Pₖ + X's."""
    x, *es = args
    _square(Op.EXPM_FRECHET, [x])
    if not es or any(e.shape[e.ndim - x.ndim :] != x.shape or e.ndim < x.ndim for e in es):
        raise ShapeError(
            "expm_frechet", [a.shape for a in args], f"needs directions of shape (...,) + {x.shape}"
        )
    return sum((e.shape[: e.ndim - x.ndim] for e in es), ()) + x.shape


def _einsum(op, args, attrs):
    ins, out = attrs
    if len(ins) != len(args):
        raise ShapeError("einsum", [a.shape for a in args], "wrong number of index groups")
    dims = {}
    for a, labels in zip(args, ins):
        if len(labels) != len(a.shape):
            raise ShapeError(
                "einsum", [a.shape for a in args], f"index group {labels} has wrong rank"
            )
        for lab, d in zip(labels, a.shape):
            if dims.setdefault(lab, d) != d:
                raise ShapeError(
                    "einsum", [a.shape for a in args], f"index {lab} has dims {dims[lab]} and {d}"
                )
    if len(set(out)) != len(out) or any(lab not in dims for lab in out):
        raise ShapeError("einsum", [a.shape for a in args], f"bad output indices {out}")
    if len(dims) > MAX_RANK:
        raise ShapeError(
            "einsum",
            [a.shape for a in args],
            f"a product over {len(dims)} indices is beyond the einsum alphabet of {MAX_RANK} "
            "letters; split it with intermediate results",
        )
    return tuple(dims[lab] for lab in out)


def _ranked(rule):
    """``rule`` with the check that its result has rank at most ``MAX_RANK``."""

    def checked(args, attrs):
        shape = rule(args, attrs)
        if len(shape) > MAX_RANK:
            raise ShapeError(
                "rank", [a.shape for a in args], f"a result of rank {len(shape)} is above the "
                f"limit of {MAX_RANK} (the einsum alphabet a-z, A-Z)"
            )  # fmt: skip
        return shape

    return checked


SHAPE = {
    Op.EINSUM: lambda args, attrs: _einsum(Op.EINSUM, args, attrs),
    Op.ADD: lambda args, attrs: _same(Op.ADD, args),
    Op.POW: lambda args, attrs: _same(Op.POW, args),
    Op.DIV: lambda args, attrs: _same(Op.DIV, args),
    Op.INV: lambda args, attrs: _square(Op.INV, args),
    Op.DET: lambda args, attrs: _square(Op.DET, args)[:-2],  # one per matrix of a stack
    Op.LOGDET: lambda args, attrs: _square(Op.LOGDET, args)[:-2],
    Op.CHOLESKY: lambda args, attrs: _square(Op.CHOLESKY, args),
    Op.PHI: lambda args, attrs: _square(Op.PHI, args),
    Op.EIGVALSH: lambda args, attrs: _square(Op.EIGVALSH, args)[:-1],  # one per row
    Op.EIGVECSH: lambda args, attrs: _square(Op.EIGVECSH, args),
    Op.SVDVALS: lambda args, attrs: _svdvals(args),
    Op.PINV: lambda args, attrs: _matrix(Op.PINV, args)[:-2] + args[0].shape[:-3:-1],
    Op.EXPM: lambda args, attrs: _square(Op.EXPM, args),
    Op.EXPM_FRECHET: lambda args, attrs: _frechet(args),
    Op.NORM: lambda args, attrs: (),
    Op.UNIT: lambda args, attrs: args[0].shape,
    Op.SOFTMAX: lambda args, attrs: args[0].shape,
    Op.LOGSUMEXP: lambda args, attrs: (
        tuple(d for k, d in enumerate(args[0].shape) if k not in attrs) if attrs else ()
    ),  # over all entries, or along the axes in attrs
    Op.STACK: lambda args, attrs: (len(args),) + _same(Op.STACK, args),  # [a, b]: (2,) + a.shape
    Op.RESHAPE: lambda args, attrs: _reshape(args, attrs),
    Op.KRON: lambda args, attrs: _kron(args),
    Op.EYE: lambda args, attrs: (attrs[0], attrs[0]),
    Op.VAR: lambda args, attrs: attrs[1],
    Op.SELECT: lambda args, attrs: attrs[:2],
    Op.COMMUTATION: lambda args, attrs: (attrs[0] * attrs[1],) * 2,
    Op.CONST: lambda args, attrs: attrs[1],
    Op.ARRAY: lambda args, attrs: attrs[0],
}
for _op in Op:
    if KIND[_op] == UNARY:
        SHAPE[_op] = lambda args, attrs: args[0].shape
SHAPE = {op: _ranked(rule) for op, rule in SHAPE.items()}
