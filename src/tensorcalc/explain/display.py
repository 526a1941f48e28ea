"""How explanations show expressions: print trees in the user's own spelling.

The library's printers turn an ``Expr`` into a print tree (``printing.matrix.P``) and render
it as text or LaTeX.  An explanation shows three more things, and builds its trees here:

* the input as typed: when the expression came from a string, each part is drawn from the
  parse tree (``log(1 + exp(t))`` stays so, although the IR holds ``softplus(t)``), otherwise
  from the IR;
* named parts (``E``), as variables of the part's shape;
* pending derivatives (``dE``, ``du/dx``, ``∂f/∂a``): variables with token names that the
  renderers print as atoms; ``Display.render`` swaps the tokens for their text or LaTeX.
"""

from __future__ import annotations

from ..build import substitute, var
from ..errors import TensorCalcError
from ..expr import NOTES, Expr, postorder
from ..ops import Op
from ..parse.ast import Array, BinOp, Call, Index, Name, Neg, Num, Stack, Str, Transpose, Tuple
from ..parse.lower import DIM_FUNCS, Lowering
from ..printing import latex as L
from ..printing import text as T
from ..printing.matrix import P, call, named_sizes, num, to_tree

_LETTERS = "abcdefghijklmnopqrstuvwxyz"


class Display:
    """Placeholder variables, their renderings, and the spelling of the input's parts."""

    def __init__(self, source=None):
        self.tokens = {}  # token name -> (text, latex)
        self.spelled = {}  # Expr -> AST node of its first occurrence in the input
        self.low = None
        self.given = {}  # node -> the name the input gave it (... where a = ...)
        self.text = source[0] if source is not None else None
        if source is not None:
            text, tree, shapes = source
            self.low = _Memo(text, shapes)
            self._index(tree)

    def _index(self, n):
        e = self.lowered(n)
        top = n
        while isinstance(top, Neg):
            top = top.arg
        vector_t = isinstance(top, Transpose) and e is not None and e.ndim == 1
        if e is not None and not vector_t:  # (x - y)' of a vector is x - y, spelled without '
            self.spelled.setdefault(e, n)
        for c in _children(n):
            self._index(c)

    def position(self, e: Expr) -> float:
        """Where ``e`` starts in the input (for the reading order of parts)."""
        n = self.spelled.get(e)
        return _start(n) if n is not None else float("inf")

    def lowered(self, n):
        if isinstance(n, Str) or (isinstance(n, Name) and n.id not in self.low.shapes):
            return None
        try:
            return self.low.lower(n).e
        except (TensorCalcError, KeyError):
            return None

    def token(self, shape, text: str, latex: str, symmetric: bool = False) -> Expr:
        """A placeholder variable of ``shape`` shown as ``text`` / ``latex`` (``symmetric``:
        declared S' = S, as the direction dS of a symmetric variable is)."""
        k = len(self.tokens)
        name = "zq" + _LETTERS[k % 26] + _LETTERS[k // 26 % 26] + "qz"
        self.tokens[name] = (text, latex)
        return var(name, shape, symmetric)

    # ------------------------------------------------------------------- trees

    def tree(self, e: Expr, names: dict | None = None) -> P:
        """The print tree of ``e``; nodes in ``names`` (Expr → P) are shown by their trees."""
        names = names or {}
        if e in names:
            return names[e]
        n = self.spelled.get(e)
        if n is not None:
            return self._ast(n, names)
        if self.spelled:  # subexpressions of the input keep their spelling
            names = dict(names)
            for m in postorder([e]):
                if m.args and m in self.spelled and m not in names and m is not e:
                    names[m] = self._ast(self.spelled[m], names)
        return _ir_tree(e, names)

    def _ast(self, n, names) -> P:
        e = self.lowered(n)
        if e is not None and e in names:
            return names[e]
        rank = e.ndim if e is not None else 0
        sub = lambda c: self._ast(c, names)  # noqa: E731
        if isinstance(n, Num):
            return num(n.value)
        if isinstance(n, Name):
            return P("var", (), n.id, rank)
        if isinstance(n, Array):
            return P("array", (), (n.shape, n.values), rank)
        if isinstance(n, Stack):
            return P("stack", tuple(sub(i) for i in n.items), None, rank)
        if isinstance(n, Neg):
            return P("neg", (sub(n.arg),), None, rank)
        if isinstance(n, Transpose):
            return P("T", (sub(n.arg),), None, rank)
        if isinstance(n, Index):
            items = tuple(_item(i) for i in n.items)
            return P("index", (sub(n.arg),), items, rank)
        if isinstance(n, BinOp):
            a, b = sub(n.left), sub(n.right)
            if n.op in "+-":
                neg = n.op == "-"
                if a.kind == "add":
                    return P("add", a.children + (b,), a.value + (neg,), rank)
                return P("add", (a, b), (False, neg), rank)
            kind = {"*": "mul", "/": "div", "^": "pow", "@": "matmul"}[n.op]
            return P(kind, (a, b), None, rank)
        if isinstance(n, Tuple):  # axes: (0, 2, 1)
            return P("dim", (), "(" + ", ".join(_dim(a).value for a in n.items) + ")")
        if isinstance(n, Call):
            if n.func in DIM_FUNCS:
                return call(n.func, *(_dim(a) for a in n.args), rank=rank)
            if n.func == "einsum" and n.args and isinstance(n.args[0], Str):
                return P("einsum", tuple(sub(a) for a in n.args[1:]), n.args[0].value, rank)
            extra = tuple(_dim(a).value for _, a in n.kwargs)
            return call(n.func, *(sub(a) for a in n.args), rank=rank, extra=extra)
        return _ir_tree(e, names)  # pragma: no cover - every parse node is handled above

    def local_names(self, node: Expr, subs: dict) -> dict:
        """Trees in the input's spelling for the subexpressions of ``node`` with its named
        parts replaced (``subs``: node → variable), so that derivatives of a part's own
        expression print as typed (``2 * (u + v)``, not ``2 * (v + u)``)."""
        names = {n: P("var", (), v.attrs[0], v.ndim) for n, v in subs.items()}
        out = {}
        for m in postorder([node]):
            if m.args and m in self.spelled and m not in subs:
                local = substitute(m, subs) if subs else m
                if local.args:
                    out[local] = self._ast(self.spelled[m], names)
        return out

    # --------------------------------------------------------------- rendering

    def render(self, p: P) -> tuple[str, str]:
        """``(text, latex)`` of a print tree, tokens replaced by their renderings, and a count
        ``sum(ones(n))`` shown as the size ``n`` (unless a variable is so named)."""
        p = named_sizes(p, self.low.shapes if self.low is not None else ())
        text, latex = T.render(p), L.render(p)
        for name, (t, lx) in self.tokens.items():
            if name in text:
                text = text.replace(name, t)
                latex = latex.replace(L.name(name), lx)
        return text, latex

    def show(self, e: Expr, names: dict | None = None) -> tuple[str, str]:
        return self.render(self.tree(e, names))


class _Memo(Lowering):
    """The parser's lowering, each subtree lowered once."""

    def __init__(self, text, shapes):
        super().__init__(text, shapes)
        self.memo = {}

    def lower(self, n):
        if n not in self.memo:
            self.memo[n] = super().lower(n)
        return self.memo[n]


def _start(n) -> int:
    return min([n.pos] + [_start(c) for c in _children(n)])


def _children(n):
    if isinstance(n, (Neg, Transpose, Index)):
        return (n.arg,)
    if isinstance(n, BinOp):
        return (n.left, n.right)
    if isinstance(n, Call) and n.func not in DIM_FUNCS:
        return tuple(n.args) + tuple(a for _, a in n.kwargs)
    if isinstance(n, Stack):
        return n.items
    return ()


def _item(i) -> str:
    if isinstance(i, slice):
        parts = ["" if v is None else str(v) for v in (i.start, i.stop, i.step)]
        return ":".join(parts[:2] if i.step is None else parts)
    return str(i)


def _dim(a) -> P:
    if isinstance(a, Num):
        return P("dim", (), T.fmt_num(a.value))
    if isinstance(a, Neg) and isinstance(a.arg, Num):
        return P("dim", (), T.fmt_num(-a.arg.value))
    return P("dim", (), getattr(a, "id", "?"))


def _ir_tree(e: Expr, names: dict) -> P:
    """The IR printer's tree of ``e`` with the nodes in ``names`` replaced by their trees."""
    if not names:
        return to_tree(e)
    holders = {}
    for node, p in names.items():
        if node.op is Op.VAR and p.kind == "var" and p.value == node.attrs[0]:
            continue
        # one name per held node (its digest), so that a holder always stands for one node
        holders[node] = var(f"zqholder{node.digest.hex()[:16]}", node.shape)
        NOTES.setdefault(holders[node], {})["holds"] = node  # the printer orders by it
    tree = to_tree(substitute(e, holders) if holders else e)
    back = {h.attrs[0]: names[node] for node, h in holders.items()}
    return replace_vars(tree, back)


def replace_vars(p: P, table: dict) -> P:
    if p.kind == "var" and p.value in table:
        return table[p.value]
    if not p.children:
        return p
    kids = tuple(replace_vars(c, table) for c in p.children)
    return P(p.kind, kids, p.value, p.rank)
