"""The "index" style: Einstein notation (seed 001's xᵀAx, seed 000's aᵀXb and dK/dR).

f is written in components (``f = x_i A_ij x_j``; repeated indices are summed), the product
rule gives one term per factor that depends on x, each derivative of the variable is a
product of Kronecker deltas (∂x_i/∂x_k = δ_ik), the deltas are contracted, the dummy indices
renamed, common factors pulled out and transposes written so that the indices chain, and the
matrix form is recognised (``[(A + A') @ x]_k``).  Parts that are not sums or products get
their index-form partials from the engine's rule table (``diff.rules.PARTIAL``, whose terms
are already written with index labels and Kronecker deltas).

Every line is an einsum of the parts, so each step's right side is an expression.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial

from ..build import add, const, einsum, eye, ones, substitute, transpose, var
from ..diff.reverse import derivative as reverse
from ..diff.rules import PARTIAL
from ..errors import ShapeError
from ..expr import Expr, variables
from ..ops import Op
from ..printing.latex import name as latex_name
from .display import Display
from .forward import rule_text
from .parts import Part, choose, depends


def sb(base: str, sub: str) -> str:
    """``base`` with the subscript ``sub`` (none when empty); a base that has a subscript of
    its own (x_{2}) is braced, so that LaTeX never sees a double subscript."""
    if not sub:
        return base
    return (f"{{{base}}}" if "_" in base else base) + f"_{{{sub}}}"


DUMMIES = "ijklmnopqrstuvwxyzabcdefgh"
X_LETTERS = {0: [""], 1: ["k", "l", "m"], 2: ["ab", "pq", "rs", "uv"]}
F_LETTERS = "pqrsuvwxyz"

COMPONENTS = "write in components (repeated indices are summed)"
DELTAS = "∂x_i/∂x_k = δ_ik, and substitute"
CONTRACT = "contract the Kronecker deltas: Σ_i δ_ik a_i = a_k"
REINDEX = "rename the summed indices"
FACTOR = "factor out the common factor"
TRANSPOSE = "transpose so that the indices chain: A_ji = [A']_ij"
MATRIX = "recognise the matrix form"


def applies(f: Expr) -> bool:
    """Index notation can write every expression (products, sums and the engine's partials)."""
    return True


@dataclass(frozen=True)
class Fac:
    kind: str  # "t" tensor, "d" Kronecker delta, "p" pending derivative ∂part/∂x
    e: Expr  # the tensor with names as variables; eye(n) for "d"; a token for "p"
    idx: tuple
    label: str = ""  # the tensor's (or the differentiated part's) name, as text
    lab: str = ""  # ... as LaTeX
    part: object = None  # the Part (or the variable) of a pending derivative
    tr: bool = False  # shown transposed
    xname: str = ""  # pending derivatives: the variable

    @property
    def text(self) -> str:
        if self.kind == "p":
            n = len(self.idx) - len(self.xname[1])
            top, bot = "".join(self.idx[:n]), "".join(self.idx[n:])
            return f"∂{self.label}{_sub(top)}/∂{self.xname[0]}{_sub(bot)}"
        return self.label + _sub("".join(self.idx))

    @property
    def latex(self) -> str:
        if self.kind == "p":
            n = len(self.idx) - len(self.xname[1])
            top, bot = "".join(self.idx[:n]), "".join(self.idx[n:])
            return rf"\frac{{\partial {sb(self.lab, top)}}}{{\partial {sb(self.xname[2], bot)}}}"
        sub = "".join(self.idx)
        return sb(self.lab, sub)


def _sub(s: str) -> str:
    return f"_{s}" if s else ""


@dataclass(frozen=True)
class Term:
    coef: float
    facs: tuple


class Index:
    def __init__(self, f: Expr, x: Expr, disp: Display, root="f", avoid=()):
        self.f, self.x, self.disp, self.root, self.avoid = f, x, disp, root, avoid
        self.names = set(variables(f))
        single = {n for n in self.names if len(n) == 1}
        self.xl = next(c for c in X_LETTERS.get(x.ndim, ["abcdefgh"[: x.ndim]])
                       if not set(c) & single) if x.ndim <= 2 else "abcdefgh"[: x.ndim]  # fmt: skip
        self.fl = "".join([c for c in F_LETTERS if c not in single and c not in self.xl][: f.ndim])
        self.pool = [c for c in DUMMIES if c not in single and c not in self.xl + self.fl]
        self.parts = self._choose()
        self.dep = depends(f, {x})
        self.tok = {}
        self._dval = {}

    # ---------------------------------------------------------------- parts

    def _choose(self):
        return choose(self.f, {self.x}, index=True, key=self.disp.position, root_name=self.root,
                      given=self.disp.given,
                      avoid=self.avoid)  # fmt: skip

    def part_of(self, e):
        return next((p for p in self.parts if p.node is e), None)

    # ----------------------------------------------------------- components

    def fresh(self, used):
        """A summation index not in ``used`` (i, j, …, then i', j', …)."""
        r = 0
        while True:
            c = next((c + "'" * r for c in self.pool if c + "'" * r not in used), None)
            if c is not None:
                used.add(c)
                return c
            r += 1

    def tensor(self, e: Expr, idx, show: Expr | None = None) -> Fac:
        p = self.part_of(e)
        if p is not None:
            return Fac("t", p.var, tuple(idx), p.name, latex_name(p.name))
        if e.op is Op.VAR:
            return Fac("t", e, tuple(idx), e.name, latex_name(e.name))
        t, lx = self.disp.show(e)
        return Fac("t", e, tuple(idx), f"[{t}]", rf"\left[{lx}\right]")

    def components(self, node: Expr, out, used) -> list:
        """The terms of ``node[out]`` (the node itself, not its name)."""
        if node.op is Op.ADD:
            terms = [t for a in node.args for t in self.components(a, out, used)]
            return sorted(terms, key=lambda t: t.coef < 0)  # X_ij - U_ik V_kj
        if node.op is Op.EINSUM:
            ins, o = node.attrs
            letter = dict(zip(o, out))
            coef, facs = 1.0, []
            for a, labels in chain_order(list(zip(node.args, ins)), o):
                for lab in labels:
                    if lab not in letter:
                        letter[lab] = self.fresh(used)
                idx = tuple(letter[lab] for lab in labels)
                if a.op is Op.CONST and not a.shape:
                    coef *= a.attrs[0]
                elif a.op is Op.EYE:
                    facs.append(delta(idx, a.attrs[0]))
                else:
                    facs.append(self.tensor(a, idx))
            return [Term(coef, tuple(facs))]
        if node.op is Op.CONST and not node.shape:
            return [Term(node.attrs[0], ())]
        return [Term(1.0, (self.tensor(node, out),))]

    # ---------------------------------------------------------- derivatives

    def pending(self, e: Expr, idx) -> Fac:
        """∂e_idx/∂x_J for a part or the variable itself."""
        target = self.x if e is self.x else self.part_of(e)
        key = "x" if e is self.x else target
        if key not in self.tok:
            self.tok[key] = var(f"zqpend{len(self.tok)}", e.shape + self.x.shape)
        name = self.x.name if e is self.x else target.name
        xn = (self.x.name, self.xl, latex_name(self.x.name))
        return Fac("p", self.tok[key], tuple(idx) + tuple(self.xl), name, latex_name(name),
                   target, False, xn)  # fmt: skip

    def differentiate(self, terms, out) -> list:
        """The product rule over the factors of each term (free indices ``out``)."""
        terms_out = []
        for t in terms:
            for k, fac in enumerate(t.facs):
                if fac.kind != "t":
                    continue
                node = self._node(fac)
                if node not in self.dep:
                    continue
                rest = t.facs[:k] + (self.pending(node, fac.idx),) + t.facs[k + 1 :]
                terms_out.append(Term(t.coef, rest))
        return collect(terms_out, tuple(out) + tuple(self.xl))

    def _node(self, fac):
        p = next((p for p in self.parts if p.var is fac.e), None)
        return p.node if p else fac.e

    def partial_terms(self, p: Part, out, used) -> list:
        """∂p_out/∂x_J of a part that is not a sum or product, from the engine's table."""
        n = p.local
        terms = []
        for i, a in enumerate(n.args):
            node = substitute(a, {s.var: s.node for s in p.subs}) if p.subs else a
            if node not in self.dep:
                continue
            for t in PARTIAL[n.op](n, i):
                letter = dict(zip(t.out, out))
                for lab in list(t.arg) + [lab for _, ls in t.factors for lab in ls]:
                    if lab not in letter:
                        letter[lab] = self.fresh(used)
                facs = [self.tensor(e, [letter[lab] for lab in ls], show=e) for e, ls in t.factors]
                arg_idx = tuple(letter[lab] for lab in t.arg)
                facs.append(self.pending(node, arg_idx))
                terms.append(Term(t.coef, tuple(facs)))
        return terms

    def part_derivative(self, p: Part, out, used) -> list:
        if p.local is self.x:
            return [Term(1.0, (self.pending(self.x, out),))]
        if p.node.op in (Op.ADD, Op.EINSUM):
            return self.differentiate(self.components(p.local, out, used), out)
        return self.partial_terms(p, out, used)

    # ------------------------------------------------------------- values

    def value(self, terms, out) -> Expr:
        """The terms as an expression in the user's variables."""
        back = {p.var: p.node for p in self.parts}
        for key, tok in self.tok.items():
            if tok not in self._dval:
                self._dval[tok] = reverse(self.x if key == "x" else key.node, self.x)
            back[tok] = self._dval[tok]

        def val(fc):
            e = back.get(fc.e)
            e = e if e is not None else substitute(fc.e, back)
            return transpose(e) if fc.tr else e

        parts = [einsum([(const(t.coef), ())] + [(val(f), f.idx) for f in t.facs], out)
                 for t in terms]  # fmt: skip
        return add(*parts) if parts else const(0.0, self.f.shape + self.x.shape)

    # -------------------------------------------------------------- steps

    def steps(self):
        f, x = self.f, self.x
        fl, xl = tuple(self.fl), tuple(self.xl)
        out_idx = fl + xl
        lhs_value = reverse(f, x)
        fsub = "".join(fl)
        r = self.parts[-1].name
        lhs_t = f"∂{r}{_sub(fsub)}/∂{x.name}{_sub(self.xl)}"
        lhs_l = rf"\frac{{\partial {sb(r, fsub)}}}{{\partial {sb(latex_name(x.name), self.xl)}}}"
        steps = []
        # 1. components of f and of the parts that are sums or products
        root = self.parts[-1]
        used = set(fl + xl)
        comps = []
        for p in reversed(self.parts):
            used = set(fl + xl)
            letters = tuple(fl) if p is root else tuple(self.fresh(used) for _ in p.node.shape)
            if p.node.op in (Op.ADD, Op.EINSUM):
                terms = self.components(p.local, letters, set(used) | set(letters))
                t, lx = show_sum(terms, letters)
            else:
                t, lx = self.disp.show(p.local)
                letters = ()
            sub = "".join(letters)
            name = p.name + (f"_{sub}" if sub else "")
            comps.append((f"{name} = {t}", rf"{sb(latex_name(p.name), sub)} = {lx}"))
        steps.append((COMPONENTS, None, f, ", ".join(c[0] for c in comps),
                      r",\ ".join(c[1] for c in comps), None))  # fmt: skip
        # 2. the product rule on f, then on each part
        used = set(fl + xl)
        top = self.part_derivative(root, fl, used)
        rule = rule_text(root.local, self._vars(root))
        steps.append(self._eq(rule, lhs_value, top, out_idx, lhs_t, lhs_l))
        expansions = {}
        for p in self.parts[-2::-1]:
            if not any(
                fac.kind == "p" and fac.part is p
                for t in self._all(top, expansions)
                for fac in t.facs
            ):
                continue
            mine = set(used)
            letters = tuple(self.fresh(mine) for _ in p.node.shape)
            own = self.part_derivative(p, letters, set(used) | set(letters))
            expansions[p] = (letters, own)
            sub = "".join(letters)
            pt = f"∂{p.name}{_sub(sub)}/∂{x.name}{_sub(self.xl)}"
            pl = rf"\frac{{\partial {sb(latex_name(p.name), sub)}}}{{\partial {sb(latex_name(x.name), self.xl)}}}"
            steps.append(self._eq(rule_text(p.local, self._vars(p)), partial(reverse, p.node, x), own,
                                  letters + xl, pt, pl))  # fmt: skip
        # 3. substitute the expansions and the deltas of the variable
        cur = self.expand(top, expansions)
        steps.append(self._eq(DELTAS, lhs_value, cur, out_idx, lhs_t, lhs_l))
        for rule, fn in ((CONTRACT, contract_deltas), (REINDEX, self.reindex)):
            cur = collect([fn(t, out_idx) for t in cur], out_idx)
            steps.append(self._eq(rule, lhs_value, cur, out_idx, lhs_t, lhs_l))
        common = common_factor(cur)
        if common is not None:
            t, lx = show_factored(cur, common, out_idx)
            steps.append((FACTOR, lhs_value, partial(self.value, list(cur), out_idx), f"{lhs_t} = {t}",
                          f"{lhs_l} = {lx}", None))  # fmt: skip
        if len(out_idx) <= 2:
            cur = [Term(t.coef, chain_facs([transposed(fc, out_idx) for fc in t.facs], out_idx))
                   for t in cur]  # fmt: skip
            common = common_factor(cur)
            if common is not None:
                t, lx = show_factored(cur, common, out_idx)
                steps.append((TRANSPOSE, lhs_value, partial(self.value, list(cur), out_idx), f"{lhs_t} = {t}",
                              f"{lhs_l} = {lx}", None))  # fmt: skip
            else:
                steps.append(self._eq(TRANSPOSE, lhs_value, cur, out_idx, lhs_t, lhs_l))
        # 4. the matrix form
        named = substitute(lhs_value, {p.node: p.var for p in self.parts[:-1]})
        mt, ml = self.disp.show(named)
        if "einsum(" not in mt and len(out_idx) <= 2:
            ft, fl_ = self.disp.show(lhs_value)
            sub = "".join(out_idx)
            if sub:
                text = f"{lhs_t} = [{mt}]_{sub}" + (f" = [{ft}]_{sub}" if ft != mt else "")
                latex = rf"{lhs_l} = \left[{ml}\right]_{{{sub}}}"
            else:
                text = f"{lhs_t} = {mt}" + (f" = {ft}" if ft != mt else "")
                latex = rf"{lhs_l} = {ml}"
            steps.append((MATRIX, lhs_value, lhs_value, text, latex, None))
        return steps, lhs_value

    def _vars(self, p):
        return [s.var for s in p.subs if s.node in self.dep] + [self.x]

    def _all(self, top, expansions):
        yield from top
        for _, own in expansions.values():
            yield from own

    def _eq(self, rule, lhs_value, terms, out, lhs_t, lhs_l):
        t, lx = show_sum(terms, out)
        return (
            rule,
            lhs_value,
            partial(self.value, list(terms), out),
            f"{lhs_t} = {t}",
            f"{lhs_l} = {lx}",
            None,
        )

    def expand(self, terms, expansions) -> list:
        """Replace each pending ∂part by its expansion and ∂x_I/∂x_J by δ's."""
        out = []
        work = list(terms)
        while work:
            t = work.pop(0)
            k = next((k for k, fc in enumerate(t.facs) if fc.kind == "p"), None)
            if k is None:
                out.append(t)
                continue
            fc = t.facs[k]
            rest = t.facs[:k] + t.facs[k + 1 :]
            if fc.part is self.x:
                n = self.x.ndim
                ds = tuple(delta((fc.idx[m], fc.idx[n + m]), self.x.shape[m]) for m in range(n))
                work.insert(0, Term(t.coef, rest[:k] + ds + rest[k:]))
                continue
            letters, own = expansions[fc.part]
            used = {c for g in t.facs for c in g.idx}
            ren = dict(zip(letters, fc.idx[: len(letters)]))
            new = []
            for o in own:
                for g in o.facs:
                    for c in g.idx:
                        if c not in ren and c not in self.xl:
                            ren[c] = self.fresh(used)
                new.append(
                    Term(
                        t.coef * o.coef, rest[:k] + tuple(rename(g, ren) for g in o.facs) + rest[k:]
                    )
                )
            work[:0] = new
        return collect(out, tuple(self.fl) + tuple(self.xl))

    def reindex(self, t: Term, out) -> Term:
        ren, k = {}, 0
        for fc in t.facs:
            for c in fc.idx:
                if c not in out and c not in ren:
                    ren[c] = self.pool[k]
                    k += 1
        return Term(t.coef, tuple(rename(fc, ren) for fc in t.facs))


def chain_order(ops, out) -> list:
    """Factors in reading order: a chain x_i A_ij x_j, starting where an index begins."""
    rest = [(a, ls) for a, ls in ops if a.op is Op.CONST and not a.shape]
    todo = [(a, ls) for a, ls in ops if not (a.op is Op.CONST and not a.shape)]
    order = []
    while todo:
        last = order[-1][1][-1] if order and order[-1][1] else None
        nxt = next((k for k, (_, ls) in enumerate(todo) if ls and ls[0] == last), None)
        if nxt is None:
            firsts = {ls[0] for _, ls in todo if len(ls) > 1}
            nxt = next(
                (k for k, (_, ls) in enumerate(todo) if len(ls) == 1 and ls[0] in firsts), None
            )
        if nxt is None:
            nxt = next((k for k, (_, ls) in enumerate(todo) if ls and ls[0] in out), 0)
        order.append(todo.pop(nxt))
    return rest + order


def chain_facs(facs, out) -> tuple:
    """Factors reordered so that the indices chain from the first output index."""
    todo, order = list(facs), []
    nxt = out[0] if out else None
    while todo:
        k = next((k for k, f in enumerate(todo) if f.idx and f.idx[0] == nxt), None)
        if k is None:
            order += todo
            break
        order.append(todo.pop(k))
        nxt = order[-1].idx[-1]
    return tuple(order)


def delta(idx, n) -> Fac:
    return Fac("d", eye(n), tuple(idx), "δ", r"\delta")


def rename(fc: Fac, ren: dict) -> Fac:
    idx = tuple(ren.get(c, c) for c in fc.idx)
    return fc if idx == fc.idx else replace(fc, idx=idx)


def f_value(fc: Fac) -> Expr:
    return transpose(fc.e) if fc.tr else fc.e


def contract_deltas(t: Term, out) -> Term:
    facs, coef = list(t.facs), t.coef
    changed = True
    while changed:
        changed = False
        for k, fc in enumerate(facs):
            if fc.kind != "d":
                continue
            p, q = fc.idx
            if p in out and q in out:
                continue
            keep, drop = (p, q) if q not in out else (q, p)
            rest = facs[:k] + facs[k + 1 :]
            if keep == drop:
                continue
            facs = [rename(g, {drop: keep}) for g in rest]
            if not any(keep in g.idx for g in facs):  # Σ_i δ_ik = 1 for every k
                facs.append(Fac("t", ones((fc.e.attrs[0],)), (keep,), "1", r"\mathbf{1}"))
            changed = True
            break
    return Term(coef, tuple(facs))


def transposed(fc: Fac, out) -> Fac:
    """A matrix factor written so that its indices chain towards the output's order."""
    if fc.kind != "t" or len(fc.idx) != 2 or not out:
        return fc
    a, b = fc.idx
    last = out[-1] if len(out) > 1 else None
    if b == out[0] or (last is not None and a == last and b != last):
        base = fc.label[1:-1] if fc.label.startswith("[") else fc.label
        return replace(fc, idx=(b, a), label=f"[{base}']", lab=rf"\left[{fc.lab}^\top\right]",
                       tr=not fc.tr)  # fmt: skip
    return fc


def _key(t: Term, out):
    ops = [(const(1.0), ())] + [(f_value(f), f.idx) for f in t.facs]
    try:
        return einsum(ops, tuple(out))
    except ShapeError:  # an unusual term is simply not merged
        return t


def collect(terms, free) -> list:
    """Merge terms that are equal up to the names of summed indices (free indices ``free``)."""
    out, where = [], {}
    for t in terms:
        if t.coef == 0.0:
            continue
        k = _key(t, free)
        if k in where:
            i = where[k]
            facs = t.facs if _pending_at(t) > _pending_at(out[i]) else out[i].facs
            out[i] = Term(out[i].coef + t.coef, facs)
        else:
            where[k] = len(out)
            out.append(t)
    return [t for t in out if t.coef != 0.0]


def _pending_at(t: Term) -> int:
    return max((k for k, f in enumerate(t.facs) if f.kind == "p"), default=-1)


def common_factor(terms):
    if len(terms) < 2:
        return None
    for fc in terms[0].facs:
        if all(any(g.text == fc.text for g in t.facs) for t in terms[1:]) and fc.kind == "t":
            return fc
    return None


def show_term(t: Term, out=(), skip=None) -> tuple[str, str, bool]:
    facs = [f for f in t.facs if skip is None or f.text != skip.text]
    c = abs(t.coef)
    ct = "" if c == 1.0 and facs else _num(c) + (" " if facs else "")
    seen = [i for f in t.facs for i in f.idx]
    lone = "".join(dict.fromkeys(i for i in seen if seen.count(i) == 1 and i not in out))
    st, sl = (f"Σ_{lone} ", rf"\sum_{{{lone}}} ") if lone else ("", "")
    body_t, body_l = " ".join(f.text for f in facs), " ".join(f.latex for f in facs)
    return ct + st + body_t, ct + sl + body_l, t.coef < 0


def show_sum(terms, out=()) -> tuple[str, str]:
    if not terms:
        return "0", "0"
    text = latex = ""
    for k, t in enumerate(terms):
        tt, tl, neg = show_term(t, out)
        sign = ("-" if neg else "") if k == 0 else (" - " if neg else " + ")
        text += sign + tt
        latex += sign + tl
    return text, latex


def show_factored(terms, common: Fac, out) -> tuple[str, str]:
    """``Σ_i (a_i + b_i) c_i``: the common factor outside, its summed indices written out."""
    inner = [Term(t.coef, tuple(f for f in t.facs if f.text != common.text)) for t in terms]
    t, lx = show_sum(inner, tuple(out) + common.idx)
    lone = "".join(
        i for i in common.idx
        if i not in out and not all(any(i in f.idx for f in t.facs) for t in inner)
    )  # fmt: skip
    st, sl = (f"Σ_{lone} ", rf"\sum_{{{lone}}} ") if lone else ("", "")
    if common is terms[0].facs[0] or any(f.text == common.text for f in terms[0].facs[:1]):
        return f"{st}{common.text} ({t})", rf"{sl}{common.latex} \left({lx}\right)"
    return f"{st}({t}) {common.text}", rf"{sl}\left({lx}\right) {common.latex}"


def _num(v: float) -> str:
    return str(int(v)) if v == int(v) else repr(v)


def steps(f: Expr, x: Expr, disp: Display, root="f", avoid=()):
    return Index(f, x, disp, root, avoid).steps()
