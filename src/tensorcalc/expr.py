"""The one node type of the IR: an immutable, interned ``Expr``.

A node is ``(op, args, attrs)`` plus its shape, which ``SHAPE[op]`` checks when the node is
built.  Nodes are interned: building a structurally equal node returns the same object, so
identity is structural equality and graphs are DAGs that share subexpressions.  ``digest`` is
a structural hash that is stable across runs; canonical forms sort by it.

Attributes by op: ``VAR (name, shape)``, ``CONST (value, shape)``, ``EYE (n,)``,
``ARRAY (shape, flat values)``,
``EINSUM (input index groups, output indices)`` with ints as indices, ``SOFTMAX`` and
``LOGSUMEXP`` ``(axis,)`` when taken along an axis (``()``: over all entries), a symmetric
``VAR (name, shape, "symmetric")``; the rest have none.

The methods users expect on an expression (``str``, ``latex``, ``evaluate``, ``subs``, the
arithmetic operators) live in their own modules; higher layers register them in ``METHODS``,
a table like every other rule table, so this module imports nothing above it.
"""

from __future__ import annotations

import hashlib
import weakref

from .ops import Op
from .shapes import SHAPE

_INTERN: weakref.WeakValueDictionary = weakref.WeakValueDictionary()

METHODS: dict = {}  # name -> function(expr, *args), filled by the front ends and printers
# Notes on a node that are not part of its structure: "assumed" (the shapes parse inferred for
# undeclared variables), "notes" (how parse read text that could mean two things; ``.notes``)
# and "inputs" (name -> VAR of the function a derivative came from, so evaluate binds sizes
# from values of variables the derivative no longer contains).  Nodes are interned, so these
# describe the most recent parse (or derivative) that produced the node.
NOTES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class Expr:
    """An immutable tensor expression node (build with ``tensorcalc`` functions, not directly).

    >>> import tensorcalc as tc
    >>> e = tc.parse("x' @ A @ x", shapes={"x": ("n",), "A": ("n", "n")})
    >>> e.shape, e.ndim
    ((), 0)
    >>> print(e.latex())
    x^\\top A x
    """

    __slots__ = ("op", "args", "attrs", "shape", "digest", "__weakref__")
    __array_priority__ = 1000  # so ndarray @ Expr defers to Expr

    def __init__(self, op: Op, args: tuple, attrs: tuple, shape: tuple):
        self.op = op
        self.args = args
        self.attrs = attrs
        self.shape = shape
        h = hashlib.blake2b(digest_size=12)
        h.update(repr((op.value, attrs)).encode())
        for a in args:
            h.update(a.digest)
        self.digest = h.digest()

    def __hash__(self):
        return hash(self.digest)

    def __eq__(self, other):
        if isinstance(other, Expr) or other is None:
            return self is other
        return self._call("compare", "==", other)

    def __setattr__(self, name, value):
        if hasattr(self, "digest"):
            raise AttributeError("Expr is immutable")
        object.__setattr__(self, name, value)

    def __reduce__(self):
        return (node, (self.op, self.args, self.attrs))

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def notes(self) -> tuple:
        """How the text this node was parsed from was read where it could mean two things (a
        tuple of sentences, ``()`` when nothing needed saying).  Nodes are interned: this is
        the note of the most recent ``parse`` (or derivative) that produced this node."""
        return tuple(NOTES.get(self, {}).get("notes", ()))

    @property
    def name(self) -> str:
        """The variable name of a ``VAR`` node."""
        if self.op is not Op.VAR:
            raise AttributeError("only variables have a name")
        return self.attrs[0]

    def _call(self, method, /, *args, **kwargs):
        return METHODS[method](self, *args, **kwargs)

    def __str__(self):
        return self._call("str")

    def __repr__(self):
        where = METHODS["where"](self) if "where" in METHODS else ""
        return f"Expr({self._call('str')!r}, shape={self.shape}{where and ', where ' + where})"

    def latex(self, where: bool = True) -> str:
        """The expression as LaTeX; ``where=False`` prints repeated subexpressions in full."""
        return self._call("latex", where=where)

    def _repr_latex_(self):
        return "$" + self._call("latex") + "$"

    def evaluate(self, values=None, /, dims=None, **kw):
        """Evaluate numerically with NumPy; ``values`` maps variable names to arrays (variables
        may also be keywords, even ones named ``self``, ``values`` or ``dims``)."""
        return self._call("evaluate", values, dims, **kw)

    def subs(self, mapping, shapes=None):
        """Substitute variables by expressions (``Expr`` or strings in the language)."""
        return self._call("subs", mapping, shapes)

    @property
    def T(self):
        return self._call("transpose")

    def __add__(self, o):
        return self._call("add", o)

    def __radd__(self, o):
        return self._call("radd", o)

    def __sub__(self, o):
        return self._call("sub", o)

    def __rsub__(self, o):
        return self._call("rsub", o)

    def __mul__(self, o):
        return self._call("mul", o)

    def __rmul__(self, o):
        return self._call("rmul", o)

    def __truediv__(self, o):
        return self._call("div", o)

    def __rtruediv__(self, o):
        return self._call("rdiv", o)

    def __pow__(self, o):
        return self._call("pow", o)

    def __rpow__(self, o):
        return self._call("rpow", o)

    def __matmul__(self, o):
        return self._call("matmul", o)

    def __rmatmul__(self, o):
        return self._call("rmatmul", o)

    def __neg__(self):
        return self._call("neg")

    def __pos__(self):
        return self

    def __getitem__(self, index):
        return self._call("getitem", index)

    def __bool__(self):
        return self._call("bool")

    def __lt__(self, o):
        return self._call("compare", "<", o)

    def __le__(self, o):
        return self._call("compare", "<=", o)

    def __gt__(self, o):
        return self._call("compare", ">", o)

    def __ge__(self, o):
        return self._call("compare", ">=", o)

    def __ne__(self, o):
        return not self.__eq__(o)

    def __float__(self):
        return self._call("convert", "float")

    def __int__(self):
        return self._call("convert", "int")

    def __complex__(self):
        return self._call("convert", "complex")

    def __index__(self):
        return self._call("convert", "int")

    def __array__(self, dtype=None, copy=None):
        return self._call("convert", "a NumPy array")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return self._call("array_ufunc", ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return self._call("array_function", func, args, kwargs)


def node(op: Op, args: tuple = (), attrs: tuple = (), shape=None) -> Expr:
    """Build (or fetch the interned) node; checks the shape with ``SHAPE[op]``."""
    args = tuple(args)
    key = (op, tuple(id(a) for a in args), attrs)
    found = _INTERN.get(key)
    if found is not None:
        return found
    out_shape = SHAPE[op](args, attrs)
    e = Expr(op, args, attrs, out_shape)
    _INTERN[key] = e
    return e


def postorder(roots) -> list:
    """All nodes reachable from ``roots``, children before parents, each once."""
    seen = set()
    order = []
    stack = [(r, False) for r in reversed(list(roots))]
    while stack:
        n, done = stack.pop()
        if done:
            order.append(n)
            continue
        if id(n) in seen:
            continue
        seen.add(id(n))
        stack.append((n, True))
        stack.extend((a, False) for a in reversed(n.args) if id(a) not in seen)
    return order


def variables(e: Expr) -> dict:
    """Map from name to ``VAR`` node for every variable in ``e``."""
    return {n.attrs[0]: n for n in postorder([e]) if n.op is Op.VAR}
