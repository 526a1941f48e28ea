"""Shapes and the shape-rule table.

A dimension is an ``int`` or a symbolic name (``str``); two dims are equal only when they are
identical.  ``SHAPE[op](args, attrs)`` returns the result shape of a node or raises
``ShapeError`` naming the op and the operand shapes; ``expr.node`` calls it for every node.
"""

from __future__ import annotations

from .errors import EvaluationError, ShapeError
from .ops import KIND, UNARY, Op

Dim = int | str
Shape = tuple


def check_dim(d) -> Dim:
    """Validate one dimension: a positive int or an identifier-like name."""
    if isinstance(d, bool):
        raise ShapeError("shape", [], f"bad dimension {d!r}")
    if isinstance(d, int):
        if d < 1:
            raise ShapeError("shape", [], f"dimension {d} must be positive")
        return d
    if isinstance(d, str) and d.isidentifier():
        return d
    raise ShapeError("shape", [], f"bad dimension {d!r}: use a positive int or a name")


SYMMETRIC = ("sym", "symmetric")  # the trailing flag of a symmetric matrix: "n,n,sym"


def _parts(shape) -> list:
    if shape is None:
        return []
    if isinstance(shape, str):
        return [s.strip() for s in shape.split(",") if s.strip()]
    return [shape] if isinstance(shape, int) else list(shape)


def as_shape(shape) -> Shape:
    """Normalise a user shape (``()``, ``"n"``, ``("n", 3)``, ``"n,m"``) to a tuple of dims.

    A trailing ``"sym"`` / ``"symmetric"`` flag (``"n,n,sym"``) is not a dimension: it is
    dropped here and read by ``is_symmetric_spec``."""
    parts = _parts(shape)
    if parts and isinstance(parts[-1], str) and parts[-1] in SYMMETRIC:
        parts = parts[:-1]
        if len(parts) != 2 or parts[0] != parts[1]:
            raise ShapeError("shape", [tuple(parts)], "only a square matrix can be symmetric")
    return tuple(check_dim(int(d) if isinstance(d, str) and d.isdigit() else d) for d in parts)


def is_symmetric_spec(shape) -> bool:
    """Whether a user shape carries the symmetric flag (``("n", "n", "symmetric")``)."""
    parts = _parts(shape)
    return bool(parts) and isinstance(parts[-1], str) and parts[-1] in SYMMETRIC


def bind_shape(name: str, shape, got, dims: dict) -> None:
    """Bind the symbolic dims of variable ``name``'s ``shape`` from an array shape ``got`` into
    ``dims``; ``EvaluationError`` on a rank or size mismatch."""
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
    (x,) = args
    if len(x.shape) != 2 or x.shape[0] != x.shape[1]:
        raise ShapeError(op.value, [x.shape], "needs a square matrix")
    return x.shape


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
    return tuple(dims[lab] for lab in out)


SHAPE = {
    Op.EINSUM: lambda args, attrs: _einsum(Op.EINSUM, args, attrs),
    Op.ADD: lambda args, attrs: _same(Op.ADD, args),
    Op.POW: lambda args, attrs: _same(Op.POW, args),
    Op.DIV: lambda args, attrs: _same(Op.DIV, args),
    Op.INV: lambda args, attrs: _square(Op.INV, args),
    Op.DET: lambda args, attrs: _square(Op.DET, args) and (),
    Op.LOGDET: lambda args, attrs: _square(Op.LOGDET, args) and (),
    Op.NORM: lambda args, attrs: (),
    Op.SOFTMAX: lambda args, attrs: args[0].shape,
    Op.LOGSUMEXP: lambda args, attrs: (),
    Op.EYE: lambda args, attrs: (attrs[0], attrs[0]),
    Op.VAR: lambda args, attrs: attrs[1],
    Op.SELECT: lambda args, attrs: attrs[:2],
    Op.CONST: lambda args, attrs: attrs[1],
    Op.ARRAY: lambda args, attrs: attrs[0],
}
for _op in Op:
    if KIND[_op] == UNARY:
        SHAPE[_op] = lambda args, attrs: args[0].shape
