"""Step-by-step derivations a student can follow (``tc.explain``).

Styles, each a module: ``rules`` and ``differential`` (``forward``: the chain rule part by
part), ``index`` (Einstein notation with Kronecker deltas), ``backprop`` (the computational
graph, forward values and backward accumulation) and ``limit`` (the difference quotient, for
powers of one variable).  All of them rest on the engine: derivatives of parts come from the
rule table ``diff.rules.PARTIAL`` or from ``diff.reverse``, never from a second calculus.
Each step is an equation whose two sides are expressions; ``Explanation.verify`` (given an
evaluator by the API layer) checks them numerically.
"""

from __future__ import annotations

import re

import numpy as np

from ..build import div as b_div
from ..build import einsum, entry_of, is_symmetric_var, small_shape, substitute, var
from ..build import stack as b_stack
from ..build import sub as b_sub
from ..diff.order import one_order
from ..diff.reverse import wrt_variable
from ..errors import DifferentiationError, TensorCalcError
from ..expr import Expr, variables
from ..ops import Op
from ..parse import parse, resolve_syntax
from ..parse.lower import infer_shapes
from ..parse.parser import parse_tree
from ..printing.latex import name as latex_name
from ..shapes import as_shape
from ..simplify import simplify
from . import backprop, chain, index, limit
from .display import Display
from .forward import Forward, rule_text
from .steps import Explanation, Step
from .texts import GRADIENT, HESSIAN, HIGHER, PARTIAL_OF, SIMPLIFY, SYMMETRIC

__all__ = ["Explanation", "Step", "STYLES", "explain_steps"]

STYLES = ("rules", "differential", "index", "backprop", "limit")


def source_of(f, shapes=None):
    """``(Expr, Display)`` for an ``Expr`` or an expression string (spelled as typed)."""
    if isinstance(f, Expr):
        return f, Display()
    if not isinstance(f, str):
        raise TypeError(f"expected an Expr or an expression string, got {type(f).__name__}")
    e = parse(f, shapes)
    if resolve_syntax(f, "auto") != "text":  # LaTeX: printed in tensorcalc's spelling
        return e, Display()
    tree = parse_tree(f)
    full, _ = infer_shapes(tree, {k: as_shape(v) for k, v in (shapes or {}).items()})
    disp = Display((f, tree, full))
    split = chain.split_where(f)
    if split is not None:  # the names the input gives its parts
        known, bound = {n: v.shape for n, v in variables(e).items()}, {}
        try:
            for name, d in split[1]:
                bound[name] = parse(d, shapes, known=known, bindings=dict(bound))
        except TensorCalcError:
            bound = {}
        disp.given = {node: name for name, node in bound.items()}
    return e, disp


def default_style(f: Expr, x: Expr, order: int) -> str:
    if f.ndim + order * x.ndim >= 3 and index.applies(f):
        return "index"
    return "rules" if x.ndim == 0 else "differential"


def explain_steps(f, wrt, order: int = 1, style: str | None = None, shapes=None) -> Explanation:
    """The symbolic explanation (no numbers): steps, result and style.

    >>> from tensorcalc.explain import explain_steps
    >>> e = explain_steps("sin(x^4)^5", "x")
    >>> e.steps[0].text
    'let u = x^4, v = sin(u), f = v^5'
    """
    names = wrt if isinstance(wrt, (list, tuple)) else [wrt]
    if style in (None, "rules") and order == 1 and chain.applies(f, names, shapes):
        try:
            raw, results = chain.steps(f, list(names), shapes)
        except TensorCalcError:
            raw = None  # an intermediate that is not a scalar: the parts as the other styles do
        if raw is not None:
            source = source_of(f, shapes)[0]
            result = results[0] if len(results) == 1 else b_stack(results)
            title = f"d/d{', '.join(names)} {f}"
            return _assemble(title, "rules", raw, simplify(result), source)
    f, disp = source_of(f, shapes)
    if not isinstance(order, int) or isinstance(order, bool) or order < 1:
        raise DifferentiationError(f"order must be a positive integer, got {order!r}")
    if style not in (None, *STYLES):
        raise TensorCalcError(f"unknown style {style!r}; use one of {', '.join(STYLES)}")
    xs = [wrt_variable(f, w) for w in names]
    title = _title(f, xs, disp, order)
    if style == "backprop":
        if order != 1:
            raise DifferentiationError("the backprop style explains first derivatives")
        steps, result, graph = backprop.steps(f, xs, disp)
        e = _assemble(title, "backprop", steps, simplify(result), f)
        e.graph = graph
        return e
    if len(xs) != 1 or isinstance(wrt, (list, tuple)):
        if style not in (None, "rules") or any(x.ndim for x in xs) or order > 2:
            raise DifferentiationError(
                "several variables at once are explained for scalar variables (first and "
                "second derivatives, style 'rules') or in the backprop style"
            )
        steps, result = several(f, xs, order, disp)
        return _assemble(title, "rules", steps, result, f)
    x = xs[0]
    if (
        style in (None, "rules")
        and x.ndim == 1
        and small_shape(x.shape)
        and order <= 2
        and not f.ndim
    ):
        return _components(f, x, order, title)
    style = style or default_style(f, x, order)
    steps, current, used = [], f, set(ROOTS)
    for k in range(order):
        if k:
            disp = Display()
            t, lx = disp.show(current)
            steps.append((HIGHER, None, current, f"now differentiate {t}",
                          r"\text{now differentiate } " + lx, None))  # fmt: skip
        got, _ = _one(current, x, disp, style, ROOTS[k % len(ROOTS)], used)
        steps += got
        used |= {w for _, _, _, text, _, _ in got if text.startswith("let ") for w in _lets(text)}
        # the order as tc.derivative takes it (the steps' result, projected, simplified)
        one = one_order(current, x)
        if is_symmetric_var(x):  # the gradient on symmetric matrices: checked along every dS
            t, lx = Display().show(one.projected)
            ds = var(SYMMETRIC_DIRECTION, x.shape, symmetric=True)
            steps.append((SYMMETRIC, _along(one.raw, ds), _along(one.projected, ds),
                          f"on symmetric {x.name}: sym(G) = (G + G')/2 = {t}",
                          rf"\text{{on symmetric }} {x.name}:\ {lx}", None))  # fmt: skip
        steps += _simplified(one.projected, one.result)
        current = one.result
    return _assemble(title, style, steps, current, f)


def _components(f: Expr, x: Expr, order: int, title: str) -> Explanation:
    """A function of the entries x[0], x[1], ... of a small vector, explained as a function of
    several scalars: each entry is a scalar standing for itself, the steps are written in
    them, and both sides of each step are evaluated with the entries of x."""
    disp = Display()
    idx = list(np.ndindex(*x.shape))
    names = [f"{x.name}[{', '.join(map(str, i))}]" for i in idx]
    marks = [
        disp.token((), n, rf"{latex_name(x.name)}_{{{','.join(map(str, i))}}}")
        for n, i in zip(names, idx)
    ]

    def nested(prefix):
        if len(prefix) == x.ndim:
            return marks[idx.index(prefix)]
        return b_stack([nested(prefix + (k,)) for k in range(x.shape[len(prefix)])])

    g = substitute(f, {x: nested(())})
    steps, result = several(g, marks, order, disp)
    back = {m: entry_of(x, i) for m, i in zip(marks, idx)}
    shown = {m.name: n for m, n in zip(marks, names)}
    shown_lx = {latex_name(m.name): disp.tokens[m.name][1] for m in marks}

    def spelled(s, table):
        for k, v in table.items():
            s = s.replace(k, v)
        return s

    def side(v):
        if v is None:
            return None
        return lambda: substitute(v() if callable(v) else v, back)

    raw = [(rule, side(lhs), side(rhs), spelled(t, shown), spelled(lx, shown_lx), sh)
           for rule, lhs, rhs, t, lx, sh in steps]  # fmt: skip
    return _assemble(title, "rules", raw, simplify(substitute(result, back)), f)


def several(f: Expr, xs: list, order: int, disp) -> tuple:
    """The gradient of f in scalar variables x₁, …, xₖ, one partial derivative after the
    other (the others held constant), assembled as [∂f/∂x₁, …]; for order 2 then each mixed
    partial ∂²f/∂xᵢ∂xⱼ = ∂gᵢ/∂xⱼ of the gradient's entries, assembled into the Hessian H."""
    steps, used, grads = [], set(ROOTS), []
    for x in xs:
        others = [y.name for y in xs if y is not x]
        held = f", {', '.join(others)} held constant" if others else ""
        held_lx = (r",\ " + r",\ ".join(latex_name(y) for y in others) + r"\text{ held constant}"
                   if others else "")  # fmt: skip
        steps.append((PARTIAL_OF, None, f, f"∂f/∂{x.name}{held}:",
                      rf"\frac{{\partial f}}{{\partial {latex_name(x.name)}}}{held_lx}:",
                      None))  # fmt: skip
        got, _ = Forward(f, x, disp, "rules", "f", used, partials=True).steps()
        used |= {w for _, _, _, text, _, _ in got if text.startswith("let ") for w in _lets(text)}
        one = one_order(f, x)
        rule, lhs, _, text, latex, sh = got[-1]
        t, lx = Display().show(one.result)
        head, shown = text.split(" = ", 1)
        if len(t) <= len(shown):  # the simplified form, unless it reads longer
            got[-1] = (
                rule,
                lhs,
                one.result,
                f"{head} = {t}",
                latex.split(" = ", 1)[0] + " = " + lx,
                sh,
            )
        steps += got
        grads.append(one.result)
    g = b_stack(grads)
    names = ", ".join(f"∂f/∂{x.name}" for x in xs)
    names_lx = ", ".join(rf"\frac{{\partial f}}{{\partial {latex_name(x.name)}}}" for x in xs)
    gt, gl = _common_factor(g, Display()) or Display().show(g)
    steps.append((GRADIENT, g, g, f"∇f = [{names}] = {gt}",
                  rf"\nabla f = \left[{names_lx}\right] = {gl}", None))  # fmt: skip
    if order == 1:
        return steps, g
    rows = []
    for i, gi in enumerate(grads):
        row = []
        for j, x in enumerate(xs):
            h = one_order(gi, x).result
            if j < i and _same(h, rows[j].args[i] if rows[j].op is Op.STACK else None):
                h = rows[j].args[i]  # ∂²f/∂y∂x = ∂²f/∂x∂y, written alike
            d2 = f"∂²f/∂{x.name}²" if i == j else f"∂²f/∂{xs[i].name}∂{x.name}"
            d2l = (rf"\frac{{\partial^2 f}}{{\partial {latex_name(x.name)}^2}}" if i == j else
                   rf"\frac{{\partial^2 f}}{{\partial {latex_name(xs[i].name)} \partial {latex_name(x.name)}}}")  # fmt: skip
            gt, gl = Display().show(gi)
            ht, hl = Display().show(h)
            text = f"{d2} = ∂/∂{x.name} ({gt}) = {ht}"
            latex = rf"{d2l} = \frac{{\partial}}{{\partial {latex_name(x.name)}}}\left({gl}\right) = {hl}"
            if len(text) > LINE:
                text, latex = f"{d2} = {ht}", f"{d2l} = {hl}"
            rule = "; ".join(r.split(":")[0] for r in rule_text(gi, {x}).split("; ") if r)
            rule = rule or "a constant: its derivative is 0"
            steps.append((rule, h, h, text, latex, None))
            row.append(h)
        rows.append(b_stack(row))
    hess = b_stack(rows)
    ht, hl = _common_factor(hess, Display()) or Display().show(hess)
    if len(ht) > LINE:  # a row per line, as a matrix is written
        ht = _rows_text(hess, Display())
    steps.append((HESSIAN, hess, hess, f"H = {ht}", f"H = {hl}", None))
    return steps, hess


LINE = 112  # a longer line is written without its middle part


def _same(a: Expr, b: Expr | None) -> bool:
    """Whether two expressions are equal by the simplifier (a - b simplifies to 0)."""
    if b is None:
        return False
    d = simplify(b_sub(a, b))
    return d.op is Op.CONST and d.attrs[0] == 0.0


def _factor_list(e: Expr) -> list:
    """The non-constant factors of a scalar product (the product itself when it is none)."""
    if e.op is Op.EINSUM and not e.ndim and all(not a.ndim for a in e.args):
        return [a for a in e.args if a.op is not Op.CONST]
    return [e]


def _common_factor(m: Expr, disp) -> tuple | None:
    """``s * [[...]]``: a stack of scalars whose entries all share the factor s (an
    exponential, say) as text and LaTeX with s in front, as a textbook writes a Hessian."""
    leaves, stack = [], [m]
    while stack:
        n = stack.pop()
        if n.op is Op.STACK:
            stack.extend(n.args)
        else:
            leaves.append(n)
    if not leaves or any(n.ndim for n in leaves):
        return None
    common = [f for f in _factor_list(leaves[0]) if f.op not in (Op.VAR,)]
    common = [f for f in common if all(f in _factor_list(n) for n in leaves)]
    if not common:
        return None
    s = common[0]
    rest = _divide_entries(m, s)
    st, sl = disp.show(s)
    rt, rl = disp.show(rest)
    return f"{st} * {rt}", rf"{sl} {rl}"


def _rows_text(m: Expr, disp) -> str:
    """A matrix of entries with one row per line (``s * [[a, b],`` / ``[c, d]]``)."""
    found = _common_factor(m, disp)
    head = ""
    if found is not None:
        s = next(
            f
            for f in _factor_list(_first_entry(m))
            if disp.show(f)[0] + " * " == found[0][: len(disp.show(f)[0]) + 3]
        )
        head, m = disp.show(s)[0] + " * ", _divide_entries(m, s)
    rows = [disp.show(r)[0] for r in m.args]
    pad = " " * (len(head) + 7)
    return head + "[" + (",\n" + pad + " ").join(rows) + "]"


def _first_entry(m: Expr) -> Expr:
    while m.op is Op.STACK:
        m = m.args[0]
    return m


def _divide_entries(m: Expr, s: Expr) -> Expr:
    if m.op is Op.STACK:
        return b_stack([_divide_entries(a, s) for a in m.args])
    return simplify(b_div(m, s))


SYMMETRIC_DIRECTION = "zqsymqz"  # dS = dS', a variable no display token is named


def _along(g: Expr, ds: Expr) -> Expr:
    """⟨G, dS⟩ over the variable's two axes (the last two of ``g``): sym(G) is the gradient on
    symmetric matrices because ⟨sym(G), dS⟩ = ⟨G, dS⟩ for every symmetric dS."""
    idx = tuple(range(g.ndim))
    return einsum([(g, idx), (ds, idx[-2:])], idx[:-2])


def _simplified(d: Expr, s: Expr, before: str | None = None) -> list:
    """A last step when the simplifier (``tensorcalc.simplify``) changes how d reads (as s),
    and reads shorter than the line ``before`` it (a simplify step never lengthens)."""
    t, lx = Display().show(s)
    if before is not None:  # the line before shows d already, perhaps as typed
        shown = before.split(" = ", 1)[-1]
        return (
            []
            if t == shown or len(t) > len(shown)
            else [(SIMPLIFY, d, s, f"= {t}", f"= {lx}", None)]
        )
    if s is d or t == Display().show(d)[0]:
        return []
    return [(SIMPLIFY, d, s, f"= {t}", f"= {lx}", None)]


ROOTS = "fghk"


def _lets(text: str) -> set:
    """The names a "let u = ..., v = ..." line defines."""
    return {m.group(1) for m in re.finditer(r"(?:let |, )(\w+) = ", text)}


def _one(f, x, disp, style, root, avoid):
    if style in ("rules", "differential"):
        if style == "rules" and x.ndim:
            raise DifferentiationError(
                f"the rules style is for a scalar variable; {x.name} has shape {x.shape}: "
                "use style='differential' or 'index'"
            )
        return Forward(f, x, disp, style, root, avoid).steps()
    if style == "index":
        return index.steps(f, x, disp, root, avoid)
    return limit.steps(f, x, disp)


def _title(f, xs, disp, order):
    t, _ = disp.show(f)
    if disp.given:  # the input as typed, its named parts kept
        t = disp.text
    xs_t = ", ".join(x.name for x in xs)
    head = f"d/d{xs_t}" if order == 1 else f"d^{order}/d{xs_t}^{order}"
    return f"{head} {t}"


def _assemble(title, style, raw, result, f) -> Explanation:
    """Number the steps, dropping a line that repeats an earlier one."""
    steps, seen = [], set()
    for rule, lhs, rhs, text, latex, shapes in raw:
        if text in seen:
            continue
        seen.add(text)
        steps.append(Step(len(steps) + 1, rule, (lhs, rhs), text, latex, shapes))
    return Explanation(title, style, steps, result, f)
