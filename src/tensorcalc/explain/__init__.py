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

from ..build import einsum, is_symmetric_var, var
from ..build import stack as b_stack
from ..diff.order import one_order
from ..diff.reverse import wrt_variable
from ..errors import DifferentiationError, TensorCalcError
from ..expr import Expr
from ..parse import parse
from ..parse.lower import infer_shapes
from ..parse.parser import parse_tree
from ..shapes import as_shape
from ..simplify import simplify
from . import backprop, chain, index, limit
from .display import Display
from .forward import Forward
from .steps import Explanation, Step
from .texts import HIGHER, SIMPLIFY, SYMMETRIC

__all__ = ["Explanation", "Step", "STYLES", "explain_steps"]

STYLES = ("rules", "differential", "index", "backprop", "limit")


def source_of(f, shapes=None):
    """``(Expr, Display)`` for an ``Expr`` or an expression string (spelled as typed)."""
    if isinstance(f, Expr):
        return f, Display()
    if not isinstance(f, str):
        raise TypeError(f"expected an Expr or an expression string, got {type(f).__name__}")
    e = parse(f, shapes)
    tree = parse_tree(f)
    full, _ = infer_shapes(tree, {k: as_shape(v) for k, v in (shapes or {}).items()})
    return e, Display((f, tree, full))


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
    if len(xs) != 1:
        raise DifferentiationError("only the backprop style explains several variables at once")
    x = xs[0]
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


SYMMETRIC_DIRECTION = "zqsymqz"  # dS = dS', a variable no display token is named


def _along(g: Expr, ds: Expr) -> Expr:
    """⟨G, dS⟩ over the variable's two axes (the last two of ``g``): sym(G) is the gradient on
    symmetric matrices because ⟨sym(G), dS⟩ = ⟨G, dS⟩ for every symmetric dS."""
    idx = tuple(range(g.ndim))
    return einsum([(g, idx), (ds, idx[-2:])], idx[:-2])


def _simplified(d: Expr, s: Expr) -> list:
    """A last step when the simplifier (``tensorcalc.simplify``) changes how d reads (as s)."""
    t, lx = Display().show(s)
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
