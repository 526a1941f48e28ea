"""The "rules" and "differential" styles: the chain rule part by part, outside in.

Both name the parts (``parts.choose``), then for each part write its derivative from the
engine's own rule table (``diff.rules.PARTIAL``, applied forwards: dn = Σᵢ ∂n/∂aᵢ[daᵢ]) in
terms of the pending derivatives of the parts below it, and finally put the pieces together.

* ``rules`` (a scalar variable x): the pieces are ``du/dx``; they are substituted as printed,
  then simplified (seed 000: 5 sin(x⁴)⁴ · cos(x⁴) · 4x³ = 20x³ sin(x⁴)⁴ cos(x⁴)).
* ``differential`` (Magnus & Neudecker): the pieces are differentials ``dE``; substituted,
  df is linear in dX, brought to the form df = ⟨G, dX⟩, and ∂f/∂X = G is read off (G comes
  from the engine differentiating that linear form with respect to dX).

Every step's two sides are expressions: names stand for their parts, ``du`` for the
directional derivative of u along the direction variable dX (``du/dx`` for the derivative).
"""

from __future__ import annotations

from functools import partial

from ..build import (
    REBUILD,
    add,
    const,
    einsum,
    is_symmetric_var,
    ones,
    scale,
    split_coef,
    substitute,
)
from ..diff.reverse import derivative as reverse
from ..diff.rules import PARTIAL
from ..expr import Expr, postorder, variables
from ..ops import Op
from ..printing.latex import name as latex_name
from ..printing.matrix import P
from .display import Display
from .parts import choose, depends
from .texts import (
    CANCEL,
    CANONICAL,
    EINSUM_TEXT,
    NAME_PARTS,
    POW_TEXT,
    READ_OFF,
    READ_OFF_JACOBIAN,
    RULE_TEXT,
    SIMPLIFY,
    SUBSTITUTE,
)

LINE = 90  # a "let" line longer than this is split


def contract(j: Expr, d: Expr, rank: int) -> Expr:
    """Σ over the last axes of ``j`` (those of ``d``) of j · d: a Jacobian applied to d."""
    out = tuple(range(rank))
    dl = tuple(range(rank, rank + d.ndim))
    return einsum([(j, out + dl), (d, dl)], out)


def jvp_terms(local: Expr, dmap: dict) -> list:
    """The terms of d(local) by the engine's rules, one per rule application at the top node;
    ``dmap`` maps variables of ``local`` to their differentials (others are constant)."""
    if local in dmap:
        return [dmap[local]]
    memo = dict(dmap)
    for n in postorder([local]):
        if n not in memo and n is not local:
            ts = _node_terms(n, memo)
            memo[n] = add(*ts) if ts else None
    return [t for t in _node_terms(local, memo) if not _is_zero(t)]


def _node_terms(n, memo):
    out = []
    for i, a in enumerate(n.args):
        da = memo.get(a)
        if da is None:
            continue
        for t in PARTIAL[n.op](n, i):
            ops = [(const(t.coef), ())] + list(t.factors) + [(da, t.arg)]
            out.append(einsum(ops, t.out))
    return out


def _is_zero(e):
    return e.op is Op.CONST and e.attrs[0] == 0.0


def rule_text(local: Expr, wrt) -> str:
    """The rules applied to get d(local): one text per op, outside in, each once."""
    dep = depends(local, set(wrt))
    texts = []
    for n in reversed(postorder([local])):
        if n not in dep or not n.args:
            continue
        if n.op is Op.EINSUM:
            used = [a for a in n.args if a in dep]
            kind = "linear" if len(used) < 2 else "product"
            ins, out = n.attrs
            same = [ls for a, ls in zip(n.args, ins) if a in dep]
            alone = len(used) == len([a for a in n.args if a.op is not Op.CONST]) and not out
            square = alone and len(used) == 2 and used[0] is used[1] and same[0] == same[1]
            kind = "square" if square else kind
            t = EINSUM_TEXT[kind]
        elif n.op is Op.POW:
            t = POW_TEXT[n.args[0] in dep, n.args[1] in dep]
        else:
            t = RULE_TEXT[n.op]
        if t not in texts:
            texts.append(t)
    return "; ".join(texts)


class Forward:
    """The chain rule over named parts, in the "rules" or "differential" style."""

    def __init__(
        self, f: Expr, x: Expr, disp: Display, style: str, root="f", avoid=(), partials=False
    ):
        self.f, self.x, self.disp, self.style = f, x, disp, style
        self.parts = choose(
            f, {x}, root_name=root, key=disp.position, avoid=avoid, given=disp.given
        )
        self.rules = style == "rules"
        xname = x.name
        if self.rules:
            self.dx = const(1.0)
        else:
            self.dx = disp.token(  # a symmetric variable moves along symmetric directions
                x.shape, "d" + xname, r"\mathrm{d}" + latex_name(xname), is_symmetric_var(x)
            )
        self.tok = {}
        for p in self.parts:
            if self.rules:  # ∂u/∂x1 where f has other variables held constant
                d, dl = ("∂", r"\partial ") if partials else ("d", r"\mathrm{d}")
                t, lx = (
                    f"{d}{p.name}/{d}{xname}",
                    rf"\frac{{{dl}{latex_name(p.name)}}}{{{dl}{latex_name(xname)}}}",
                )
            else:
                t, lx = f"d{p.name}", r"\mathrm{d}" + latex_name(p.name)
            self.tok[p] = disp.token(p.node.shape, t, lx)
        self._dval = {}
        self._values = None

    # values (for the two sides of each step)
    def dvalue(self, node: Expr) -> Expr:
        """The derivative (rules) or differential along dX (differential) of a node."""
        if node not in self._dval:
            self._dval[node] = contract(reverse(node, self.x), self.dx, node.ndim)
        return self._dval[node]

    def values(self) -> dict:
        """Names and pending derivatives → their values (built once, when first needed)."""
        if self._values is None:
            self._values = {p.var: p.node for p in self.parts}
            self._values.update({self.tok[p]: self.dvalue(p.node) for p in self.parts})
        return self._values

    def names(self, upto=None) -> dict:
        return {p.node: P("var", (), p.name, p.node.ndim) for p in self.parts if p is not upto}

    # ----------------------------------------------------------------- the steps

    def steps(self) -> tuple[list, Expr]:
        out = []
        if len(self.parts) > 1:
            out += self._lets()
        dep = depends(self.f, {self.x})
        rhs_expr, rhs_tree = {}, {}
        for p in self._outside_in():
            dmap = {s.var: self.tok[s] for s in p.subs if s.node in dep}
            if self.x in depends(p.local, {self.x}):
                dmap[self.x] = self.dx
            terms = jvp_terms(p.local, dmap)
            if p is not self.parts[-1] and p.local.op is not Op.VAR:  # dE = -E @ dX @ E
                terms = [substitute(t, {p.local: p.var}) for t in terms]
            terms.sort(key=partial(_first_token, [self.tok[s] for s in p.subs]))
            rhs_expr[p] = add(*terms) if terms else const(0.0, p.node.shape)
            self.spell = self.disp.local_names(p.node, {s.node: s.var for s in p.subs})
            rhs_tree[p] = self._terms_tree(terms, p.node.ndim, set(dmap.values()))
            lhs_t, lhs_l = self.disp.tokens[self.tok[p].attrs[0]]
            t, lx = self.disp.render(rhs_tree[p])
            rule = rule_text(p.local, dmap)
            out.append((rule, partial(self.dvalue, p.node),
                        partial(self._subst, rhs_expr[p]),
                        f"{lhs_t} = {t}", f"{lhs_l} = {lx}", None))  # fmt: skip
        root = self.parts[-1]
        result = reverse(self.f, self.x)
        if self.rules:
            out += self._rules_end(root, rhs_tree, rhs_expr, result)
        else:
            out += self._differential_end(root, rhs_expr, result)
        return out, result

    def _outside_in(self):
        seen, order = set(), []

        def visit(p):
            if p in seen:
                return
            seen.add(p)
            order.append(p)
            for s in p.subs:
                visit(s)

        visit(self.parts[-1])
        return order

    def _lets(self):
        out, chunk = [], []
        for p in self.parts:
            t, lx = self.disp.show(p.node, self.names(upto=p))
            item = (f"{p.name} = {t}", f"{latex_name(p.name)} = {lx}", _shape_of(p))
            if chunk and len(", ".join(c[0] for c in chunk + [item])) + 4 > LINE:
                out.append(chunk)
                chunk = []
            chunk.append(item)
        out.append(chunk)
        return [
            (NAME_PARTS, None, self.f, "let " + ", ".join(c[0] for c in ch),
             r"\text{let } " + r",\ ".join(c[1] for c in ch),
             ", ".join(c[2] for c in ch if c[2]) or None)
            for ch in out
        ]  # fmt: skip

    def _terms_tree(self, terms, rank, tokens) -> P:
        counts = {}
        for t in terms:  # equal terms (the two halves of ⟨E, E⟩) are collected
            counts[t] = counts.get(t, 0) + 1
        trees = []
        for t, k in counts.items():
            t = scale(k, t) if k > 1 else t
            neg = split_coef(t)[0] < 0 or (t.op is Op.CONST and t.attrs[0] < 0)
            trees.append((neg, self._term_tree(scale(-1.0, t) if neg else t, rank, tokens)))
        if not trees:
            return P("num", (), 0.0, 0)
        if len(trees) == 1:
            neg, tree = trees[0]
            return P("neg", (tree,), None, rank) if neg else tree
        return P("add", tuple(t for _, t in trees), tuple(n for n, _ in trees), rank)

    def _term_tree(self, t, rank, tokens) -> P:
        """``J * du`` with the factor first, for elementwise terms; else the printer's tree."""
        if t in tokens:
            return self.disp.tree(t)
        if t.op is Op.EINSUM:
            ins, out = t.attrs
            for k, (a, labels) in enumerate(zip(t.args, ins)):
                if a in tokens and (labels == out or not labels):
                    rest = [(b, ls) for j, (b, ls) in enumerate(zip(t.args, ins)) if j != k]
                    if {i for _, ls in rest for i in ls} >= set(out) or not labels:
                        keep = (
                            out
                            if labels
                            else tuple(i for i in out if any(i in ls for _, ls in rest))
                        )
                        if keep != out:
                            break
                        r = einsum(rest, out)
                        tok = self.disp.tree(a)
                        if r.op is Op.CONST and r.attrs[0] == 1.0:
                            return tok
                        return P("mul", (self.disp.tree(r, self.spell), tok), None, rank)
        return self.disp.tree(t, self.spell)

    # ------------------------------------------------------------ the last steps

    def _expand(self, tree: P, rhs_tree: dict) -> P:
        """Replace the pending derivatives by their right-hand sides, names by the input."""
        table = {self.tok[p].attrs[0]: rhs_tree[p] for p in rhs_tree}
        spelled = {p.name: self.disp.tree(p.node) for p in self.parts}

        def go(q):
            if q.kind == "var" and q.value in table:
                return go(table[q.value])
            if q.kind == "var" and q.value in spelled:
                return spelled[q.value]
            if not q.children:
                return q
            kids = tuple(go(c) for c in q.children)
            if q.kind == "mul" and _is_one(kids[1]):  # ... * du/dx with du/dx = 1
                return kids[0]
            return P(q.kind, kids, q.value, q.rank)

        return go(tree)

    def _subst(self, e: Expr) -> Expr:
        return substitute(e, self.values())

    def _rules_end(self, root, rhs_tree, rhs_expr, result):
        lhs_t, lhs_l = self.disp.tokens[self.tok[root].attrs[0]]
        out = []
        if len(self.parts) > 1:
            full = self._expand(rhs_tree[root], rhs_tree)
            t, lx = self.disp.render(full)
            value = self._full_value(root, rhs_expr)
            out.append((SUBSTITUTE, partial(self.dvalue, root.node), value,
                        f"{lhs_t} = {t}", f"{lhs_l} = {lx}", None))  # fmt: skip
        t, lx = self.disp.show(result)
        out.append((SIMPLIFY, partial(self.dvalue, root.node), result,
                    f"{lhs_t} = {t}", f"{lhs_l} = {lx}", None))  # fmt: skip
        return out

    def _full_value(self, root, rhs_expr):
        """d(root) with every pending derivative replaced (names stay as variables)."""
        full = {}
        for p in self.parts:
            if p in rhs_expr:
                full[p] = substitute(
                    rhs_expr[p], {self.tok[s]: full[s] for s in p.subs if s in full}
                )
        return substitute(full[root], {p.var: p.node for p in self.parts})

    def _differential_end(self, root, rhs_expr, result):
        out = []
        full = {}
        for p in self.parts:
            if p in rhs_expr:
                full[p] = substitute(
                    rhs_expr[p], {self.tok[s]: full[s] for s in p.subs if s in full}
                )
        df = full[root]
        lhs_t, lhs_l = self.disp.tokens[self.tok[root].attrs[0]]
        back = {p.var: p.node for p in self.parts}
        if len(self.parts) > 1:
            t, lx = self.disp.show(df)
            out.append((SUBSTITUTE, partial(self.dvalue, root.node), substitute(df, back),
                        f"{lhs_t} = {t}", f"{lhs_l} = {lx}", None))  # fmt: skip
            cancelled = _cancelled(df)
            ct, cl = self.disp.show(cancelled)
            if cancelled is not df and len(ct) < len(t):  # the step where terms cancel, shown
                out.append((CANCEL, partial(self.dvalue, root.node), substitute(cancelled, back),
                            f"{lhs_t} = {ct}", f"{lhs_l} = {cl}", None))  # fmt: skip
        g = reverse(df, self.dx)
        names = self.names()
        gt, gl = self.disp.show(g)
        dxt, dxl = self.disp.tokens[self.dx.attrs[0]]
        fx = f"∂{root.name}/∂{self.x.name}"
        fxl = rf"\frac{{\partial {latex_name(root.name)}}}{{\partial {latex_name(self.x.name)}}}"
        if self.f.ndim == 0:
            if self.x.ndim:
                text, latex = f"⟨{gt}, {dxt}⟩", rf"\left\langle {gl}, {dxl} \right\rangle"
            else:
                text, latex = f"{_wrap(gt)} * {dxt}", rf"{gl} \, {dxl}"
            out.append((CANONICAL, partial(self.dvalue, root.node),
                        contract(substitute(g, back), self.dx, 0),
                        f"{lhs_t} = {text}", f"{lhs_l} = {latex}", None))  # fmt: skip
            rule = READ_OFF
        else:
            rule = READ_OFF_JACOBIAN
        spelled = {p.var: self.disp.tree(p.node) for p in self.parts}
        full_t, full_l = self.disp.render(_subst_tree(self.disp.tree(g), spelled))
        if not self.x.ndim and not self.f.ndim:  # a scalar: its factors in textbook order
            full_t, full_l = Display().show(substitute(g, back))
        if full_t != gt:
            text, latex = f"{fx} = {gt} = {full_t}", f"{fxl} = {gl} = {full_l}"
            if len(text) > LINE:
                text, latex = f"{fx} = {full_t}", f"{fxl} = {full_l}"
        else:
            text, latex = f"{fx} = {gt}", f"{fxl} = {gl}"
        del names
        out.append((rule, result, substitute(g, back), text, latex, None))
        return out


def _cancelled(df: Expr) -> Expr:
    """``df`` with each quotient (a ⊙ u + b ⊙ u) / u written a + b: a factor over itself is 1,
    the cancellation that the canonical form would otherwise make silently."""
    memo = {}
    for n in postorder([df]):
        args = tuple(memo.get(a, a) for a in n.args)
        m = n if args == n.args else REBUILD[n.op](n, args)
        memo[n] = _cancel_in(m) if m.op is Op.EINSUM else m
    return memo[df]


def _cancel_in(e: Expr) -> Expr:
    ins, out = e.attrs
    ops = list(zip(e.args, ins))
    for k, (d, lk) in enumerate(ops):
        if d.op is not Op.DIV or d.args[0].op is not Op.CONST or d.args[0].attrs[0] != 1.0:
            continue
        u = d.args[1]
        for j, (s, lj) in enumerate(ops):
            if s.op is not Op.ADD or lj != lk:
                continue
            terms = [_without(t, u) for t in s.args]
            if all(t is not None for t in terms):
                rest = [op for i, op in enumerate(ops) if i not in (j, k)]
                return einsum(rest + [(add(*terms), lj)], out)
    return e


def _without(t: Expr, u: Expr):
    """``t`` with one elementwise factor ``u`` removed (t = u ⊙ rest), else ``None``."""
    if t.op is not Op.EINSUM:
        return None
    ins, out = t.attrs
    ops = list(zip(t.args, ins))
    for i, (a, ls) in enumerate(ops):
        if a is u and ls == out:
            return einsum([op if m != i else (ones(u.shape), ls) for m, op in enumerate(ops)], out)
    return None


def _shape_of(p) -> str:
    """``E: n×m`` for a named matrix or vector (the shapes a student writes under a line)."""
    return f"{p.name}: {'×'.join(str(d) for d in p.node.shape)}" if p.node.ndim else ""


def _first_token(tokens: list, term: Expr) -> int:
    """Where the first pending derivative of ``term`` comes among ``tokens`` (du before dv)."""
    present = set(variables(term).values())
    return min((k for k, t in enumerate(tokens) if t in present), default=len(tokens))


def _is_one(p: P) -> bool:
    return p.kind == "num" and p.value == 1.0


def _wrap(t: str) -> str:
    return f"({t})" if any(c in t for c in " +-") else t


def _subst_tree(p: P, table: dict) -> P:
    names = {v.attrs[0]: t for v, t in table.items()}

    def go(q):
        if q.kind == "var" and q.value in names:
            return names[q.value]
        if not q.children:
            return q
        return P(q.kind, tuple(go(c) for c in q.children), q.value, q.rank)

    return go(p)
