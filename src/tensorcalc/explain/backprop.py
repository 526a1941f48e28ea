"""The "backprop" style: the computational graph, its local partials, and the backward pass.

The graph's nodes are the named parts (``parts.choose(..., backprop=True)``: seed 002's
a = (w + x + y + z)², b, u, v, f).  Each edge gets its local partial derivative from the
engine (the part's own expression differentiated with respect to the child's name), and the
backward pass accumulates ∂f/∂n = Σ_parents ∂f/∂p · ∂p/∂n, from the root to the inputs.  With
values (``tables``) the forward values and the backward accumulation become two tables of
numbers.  Each step's left side is computed independently by the engine (∂f/∂n with n
treated as a variable), so checking the steps checks the accumulation.

With one input x the explanation also follows seed 002's own order, forward from the input:
dn/dx = Σ over the children c of n of ∂n/∂c · dc/dx for each part n in turn (du/dw, dv/dw,
df/dw), with a third table ``chain``.  Reverse mode accumulates ∂f/∂n from the output; this
accumulates dn/dx from the input; both end at the same ∂f/∂x.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from ..build import add, einsum, substitute
from ..diff.reverse import derivative as reverse
from ..expr import Expr, variables
from ..printing.latex import name as latex_name
from ..printing.matrix import P
from ..printing.text import to_text
from ..simplify import simplify
from .display import Display
from .forward import rule_text
from .parts import choose, topo

FORWARD = "forward pass: name the intermediate values"
LOCAL = "local partial derivative"
MULTIPLY = "multiply out and simplify"
BACKWARD = "backward pass (chain rule): total df/dn = Σ over the uses p of n of df/dp · local ∂p/∂n"
CHAIN = (
    "forward mode (chain rule from the input): dn/dx = Σ over the children c of n of ∂n/∂c · dc/dx"
)
LINE = 90
BACKPROP_NAMES = "abuvcdpqrsgh"  # seed 002: a, b, u, v


def chain(adj: Expr, jac: Expr, f_rank: int, p_rank: int) -> Expr:
    """∂f/∂p · ∂p/∂n: contract the axes of p."""
    fa = tuple(("f", k) for k in range(f_rank))
    pa = tuple(("p", k) for k in range(p_rank))
    na = tuple(("n", k) for k in range(jac.ndim - p_rank))
    return einsum([(adj, fa + pa), (jac, pa + na)], fa + na)


def _dims(shape) -> str:
    """The shape of a printed quantity as it is printed: df/dE of a scalar f is E's shape
    (n×m, the gradient), ∂E/∂V has E's axes then V's; a scalar is 1."""
    return "×".join(str(d) for d in shape) if shape else "1"


class Graph:
    def __init__(self, f: Expr, xs, disp: Display):
        self.f, self.xs, self.disp = f, list(xs), disp
        self.parts = choose(f, set(xs), backprop=True, pool=BACKPROP_NAMES, key=disp.position,
                            given=disp.given)  # fmt: skip
        self.root = self.parts[-1]
        self.back = {p.var: p.node for p in self.parts}
        self.name = {p.node: p.name for p in self.parts} | {x: x.name for x in xs}
        self.var = {p.node: p.var for p in self.parts} | {x: x for x in xs}
        # edges: node -> [child nodes] among the parts and the inputs
        self.children = {}
        for p in self.parts:
            kids = [s.node for s in p.subs]
            kids += [x for x in xs if x in _vars_of(p.local)]
            self.children[p.node] = kids
        self.backward = topo([p.node for p in self.parts], disp.position, reverse=True)
        self.parents = {}
        for n in self.backward:
            for c in self.children[n]:
                self.parents.setdefault(c, []).append(n)
        self.local = {}  # (parent, child) -> partial, in names
        for p in self.parts:
            for c in self.children[p.node]:
                self.local[p.node, c] = reverse(p.local, self.var[c])
        self.adj_formula = {}
        self.chain_formula = {}  # part node -> "∂u/∂a · da/dw + ..." (one input only)
        self.spell = {p.node: disp.local_names(p.node, {s.node: s.var for s in p.subs})
                      for p in self.parts}  # fmt: skip

    def names(self, upto=None):
        return {p.node: P("var", (), p.name, p.node.ndim) for p in self.parts if p is not upto}

    def adjoint_value(self, n: Expr) -> Expr:
        """∂f/∂n by the engine, n treated as an independent variable."""
        if n is self.f:
            return None
        if n in self.xs:
            return reverse(self.f, n)
        v = self.var[n]
        return substitute(reverse(substitute(self.f, {n: v}), v), {v: n})

    def accumulate(self, n: Expr) -> Expr:
        """Σ over the uses p of n of ∂f/∂p · ∂p/∂n, with ∂f/∂p from the engine."""
        terms = []
        for p in self.parents[n]:
            jac = substitute(self.local[p, n], self.back)
            adj = None if p is self.f else self.adjoint_value(p)
            terms.append(jac if adj is None else chain(adj, jac, self.f.ndim, p.ndim))
        return add(*terms)

    def feeds(self, n: Expr, x: Expr) -> list:
        """The children of n through which n depends on the input x."""
        return [c for c in self.children[n] if c is x or (c not in self.xs and x in _vars_of(c))]

    def forward_accumulate(self, n: Expr, x: Expr) -> Expr:
        """Σ over the children c of n of ∂n/∂c · dc/dx, with dc/dx from the engine."""
        terms = []
        for c in self.feeds(n, x):
            jac = substitute(self.local[n, c], self.back)
            terms.append(jac if c is x else chain(jac, reverse(c, x), n.ndim, c.ndim))
        return add(*terms)

    def total(self, a: Expr, b: Expr) -> tuple[str, str]:
        """da/db, the total derivative (text, LaTeX)."""
        na, nb = self.name[a], self.name[b]
        return (
            f"d{na}/d{nb}",
            rf"\frac{{\mathrm{{d}} {latex_name(na)}}}{{\mathrm{{d}} {latex_name(nb)}}}",
        )

    def chain_steps(self) -> list:
        """Seed 002's order: dn/dx for each part n from the input x up to f (one input)."""
        if len(self.xs) != 1:
            return []
        x, out = self.xs[0], []
        rule = CHAIN.replace("dx", f"d{x.name}")
        for p in self.parts:
            n, cs = p.node, self.feeds(p.node, x)
            if not cs or cs == [x]:
                continue  # independent of x, or its local partial ∂n/∂x, listed above
            terms_t, terms_l = [], []
            for c in cs:
                jt, jl = self.frac(n, c)
                ct, cl = self.total(c, x) if c is not x else ("", "")
                terms_t.append(f"{jt} · {ct}" if ct else jt)
                terms_l.append(rf"{jl} \, {cl}" if cl else jl)
            lt, ll = self.total(n, x)
            self.chain_formula[n] = " + ".join(terms_t)
            shape = _dims(n.shape + x.shape) if n.ndim or x.ndim else None
            out.append((rule, partial(reverse, n, x), partial(self.forward_accumulate, n, x),
                        f"{lt} = {self.chain_formula[n]}", f"{ll} = {' + '.join(terms_l)}",
                        shape))  # fmt: skip
        return out

    def captions(self) -> dict:
        """What each table is, in words."""
        f = self.name[self.f]
        out = {
            "forward": "forward pass (the values of the inputs and the named parts)",
            "backward": f"backward pass (reverse mode: the totals d{f}/dn accumulated from the "
            f"output {f} back to the inputs; ∂ marks a local partial)",
        }
        if self.chain_formula:
            x = self.xs[0].name
            out["chain"] = (
                f"forward mode for {x} (dn/d{x} accumulated from the input {x} up to {f}; "
                f"its last row equals d{f}/d{x} of the backward pass)"
            )
        return out

    def frac(self, a: Expr, b: Expr) -> tuple[str, str]:
        na, nb = self.name[a], self.name[b]
        return f"∂{na}/∂{nb}", rf"\frac{{\partial {latex_name(na)}}}{{\partial {latex_name(nb)}}}"

    def steps(self):
        out = []
        lets = []
        for p in self.parts:
            t, lx = self.disp.show(p.node, self.names(upto=p))
            lets.append((f"{p.name} = {t}", f"{latex_name(p.name)} = {lx}"))
        chunk = []
        for item in lets:
            if chunk and len(", ".join(c[0] for c in chunk + [item])) + 4 > LINE:
                out.append(self._let(chunk))
                chunk = []
            chunk.append(item)
        out.append(self._let(chunk))
        part = {p.node: p for p in self.parts}
        for n in self.backward:
            p = part[n]
            for c in self.children[p.node]:
                j = self.local[p.node, c]
                lt, ll = self.frac(p.node, c)
                jt, jl = self.disp.show(j, self.spell[p.node])
                value = partial(substitute, j, self.back)
                shapes = _dims(p.node.shape + c.shape) if p.node.ndim or c.ndim else None
                rule = rule_text(p.local, {self.var[c]})
                if "; " in rule:  # several rules: their names
                    rule = ", ".join(r.split(":")[0] for r in rule.split("; "))
                rule = f"{LOCAL}: {rule}" if rule else f"{LOCAL} of a constant"
                out.append((rule, value, value, f"{lt} = {jt}", f"{ll} = {jl}", shapes))
        f_rank = self.f.ndim
        for n in self.backward[1:] + self.xs:
            ps = self.parents.get(n, [])
            lt, ll = self.total(self.f, n)
            terms_t, terms_l, shapes = [], [], []
            for p in ps:
                at, al = self.total(self.f, p) if p is not self.f else ("", "")
                jt, jl = self.frac(p, n)
                terms_t.append(f"{at} · {jt}" if at else jt)
                terms_l.append(rf"{al} \, {jl}" if al else jl)
                if p.ndim or n.ndim:
                    shapes.append(f"{_dims(p.shape)} · {_dims(p.shape + n.shape)}")
            if not ps:
                continue
            shape = " + ".join(shapes) + f" → {_dims(n.shape)}" if shapes else None
            self.adj_formula[n] = " + ".join(terms_t)
            if len(ps) == 1 and ps[0] is self.f:
                continue  # the local partial of the root, listed above
            out.append((BACKWARD, partial(self.adjoint_value, n), partial(self.accumulate, n),
                        f"{lt} = {' + '.join(terms_t)}", f"{ll} = {' + '.join(terms_l)}",
                        shape if f_rank == 0 else None))  # fmt: skip
        out += self.chain_steps()
        for x in self.xs:  # the answer, always
            g = simplify(reverse(self.f, x))
            t, lx = Display().show(g)
            lt, ll = self.total(self.f, x)
            if len(t) > 2 * LINE:  # repeated parts named once
                t = to_text(simplify(g))
            out.append((MULTIPLY, g, g, f"{lt} = {t}", f"{ll} = {lx}", None))
        return out, reverse(self.f, self.xs[0])

    def _let(self, chunk):
        return (FORWARD, None, self.f, "let " + ", ".join(c[0] for c in chunk),
                r"\text{let } " + r",\ ".join(c[1] for c in chunk), None)  # fmt: skip

    def tables(self, at: dict, evaluate) -> dict:
        vals = {k: np.asarray(v, dtype=float) for k, v in at.items()}

        def ev(e):
            return evaluate(e, vals)

        inputs = sorted(variables(self.f), key=lambda n: self.disp.position(variables(self.f)[n]))
        fwd = [{"quantity": n, "formula": "input", "value": _json(vals[n])}
               for n in inputs if n in vals]  # fmt: skip
        for p in self.parts:
            t, _ = self.disp.show(p.node, self.names(upto=p))
            fwd.append({"quantity": p.name, "formula": t, "value": _json(ev(p.node))})
        bwd = []
        for n in self.backward:
            if n is not self.f and not (self.parents[n] == [self.f]):
                q, _ = self.total(self.f, n)
                bwd.append({"quantity": q, "formula": self.adj_formula[n],
                            "value": _json(ev(self.adjoint_value(n)))})  # fmt: skip
            for c in self.children[n]:
                q, _ = self.frac(n, c)
                t, _ = self.disp.show(self.local[n, c], self.spell[n])
                bwd.append({"quantity": q, "formula": t,
                            "value": _json(ev(substitute(self.local[n, c], self.back)))})  # fmt: skip
        for x in self.xs:
            if self.parents.get(x) == [self.f]:
                continue  # the root's local partial, listed above
            q, _ = self.total(self.f, x)
            bwd.append({"quantity": q, "formula": self.adj_formula[x],
                        "value": _json(ev(reverse(self.f, x)))})  # fmt: skip
        out = {"forward": fwd, "backward": bwd}
        if self.chain_formula:
            x = self.xs[0]
            nodes = [p.node for p in self.parts if p.node in self.chain_formula]
            out["chain"] = [{"quantity": self.total(n, x)[0], "formula": self.chain_formula[n],
                             "value": _json(ev(reverse(n, x)))} for n in nodes]  # fmt: skip
        return out


def _vars_of(e: Expr) -> set:
    return set(variables(e).values())


def _json(v):
    a = np.asarray(v, dtype=float)
    if a.ndim == 0:
        x = float(a)
        return int(x) if x == int(x) and abs(x) < 1e15 else x
    return a.tolist()


def steps(f: Expr, xs, disp: Display):
    """``(steps, result, graph)``; the graph makes the tables later."""
    g = Graph(f, xs, disp)
    return (*g.steps(), g)


def tables(e, at: dict, evaluate) -> dict:
    """The forward and backward tables (and, for one input, the seed's chain table) of numbers
    of a backprop explanation at ``at``; sets ``e.captions``, what each table is in words."""
    e.captions = e.graph.captions()
    return e.graph.tables(at, evaluate)
