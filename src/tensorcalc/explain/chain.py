"""The multivariable chain rule through named intermediates, as a calculus course writes it.

``f where x1 = sin(t), x2 = cos(t)`` keeps ``x1`` and ``x2`` as functions of ``t``: the steps
are the partial derivatives ∂f/∂x₁, ∂f/∂x₂ of ``f`` in its own variables, the derivatives
dx₁/dt, dx₂/dt of the intermediates, and then

    df/dt = ∂f/∂x₁ · dx₁/dt + ∂f/∂x₂ · dx₂/dt,

first with the parts written in the intermediates, then in ``t`` alone.  With several input
variables (``wrt=["p", "q", "r"]``) each total is a partial, ∂f/∂p = Σᵢ ∂f/∂xᵢ · ∂xᵢ/∂p.
Every derivative comes from the engine (``diff.order.one_order``); each step's two sides are
expressions in the inputs, so ``Explanation.verify`` checks the chain rule numerically.
"""

from __future__ import annotations

from ..build import add, mul, substitute
from ..diff.order import one_order
from ..errors import TensorCalcError
from ..expr import variables
from ..parse import parse
from ..parse.lexer import tokenize
from ..parse.lower import infer_shapes
from ..parse.parser import parse_tree
from ..printing.latex import name as latex_name
from ..shapes import as_shape
from ..simplify import simplify
from .display import Display

NAME_THEM = "name the intermediate functions, as written"
PARTIAL = "partial derivative: the other variables held constant"
INNER = "derivative of an intermediate function"
CHAIN = "multivariable chain rule: add ∂f/∂x · dx/dt over the intermediates x"
SUBSTITUTE = "substitute the partial derivatives"
IN_INPUTS = "write the intermediates in the input variables"


MAX_LINE = 110  # the longest final line written out in the inputs


def _paren(t: str) -> str:
    """``t`` in parentheses unless it is one atom: a name, a number or one call ``cos(...)``."""
    if t.startswith("-"):
        return f"({t})"
    head = t.split("(", 1)[0]
    if " " not in head and t.endswith(")") and "(" in t:
        depth = 0
        for k, ch in enumerate(t):
            depth += (ch == "(") - (ch == ")")
            if depth == 0 and k > len(head):
                return t if k == len(t) - 1 else f"({t})"
    return f"({t})" if " " in t else t


def _lparen(shown) -> str:
    """The LaTeX of a (text, latex) pair, in parentheses where the text needs them."""
    t, lx = shown
    return rf"\left({lx}\right)" if _paren(t) != t else lx


def split_where(text: str):
    """``(body, [(name, definition), ...])`` of ``body where a = ..., b = ...`` as texts,
    else ``None`` (no ``where`` at the top level)."""
    try:
        toks = tokenize(text)
    except TensorCalcError:
        return None
    depth, cut = 0, None
    for k, t in enumerate(toks):
        if t.kind == "OP" and t.text in "([":
            depth += 1
        elif t.kind == "OP" and t.text in ")]":
            depth -= 1
        elif t.kind == "NAME" and t.text == "where" and depth == 0:
            cut = k
            break
    if cut is None:
        return None
    defs, depth, start = [], 0, cut + 1
    for k in range(cut + 1, len(toks)):
        t = toks[k]
        if t.kind == "OP" and t.text in "([":
            depth += 1
        elif t.kind == "OP" and t.text in ")]":
            depth -= 1
        if t.kind == "END" or (t.kind == "OP" and t.text == "," and depth == 0):
            name, eq = toks[start], toks[start + 1]
            if name.kind != "NAME" or eq.text != "=":
                return None
            end = t.pos
            defs.append((name.text, text[toks[start + 2].pos : end].strip()))
            start = k + 1
    return text[: toks[cut].pos].strip(), defs


def applies(text, wrt_names, shapes) -> bool:
    """Whether ``text`` has scalar named intermediates that the variables do not name."""
    if not isinstance(text, str):
        return False
    split = split_where(text)
    if split is None:
        return False
    _, defs = split
    names = {n for n, _ in defs}
    return not names & set(wrt_names) and not names & set(shapes or {})


def steps(text: str, wrt_names: list, shapes=None):
    """The raw steps and the result (stacked over several inputs, as ``tc.derivative``)."""
    body_text, defs = split_where(text)
    shapes = dict(shapes or {})
    inner = {}  # name -> its definition in the inputs
    for name, d in defs:
        inner[name] = parse(d, shapes, bindings=dict(inner))
        if inner[name].ndim:
            raise TensorCalcError(f"{name} is not a scalar")
    body = parse(body_text, {**shapes, **{n: () for n in inner}})
    found = variables(body)
    xs = [found[n] for n in inner if n in found]  # the intermediates f uses, in their order
    full = substitute(body, {x: inner[x.name] for x in xs})
    ins = variables(full)
    missing = [w for w in wrt_names if w not in ins]
    if missing:
        raise TensorCalcError(f"the expression has no variable {missing[0]!r}")
    ts = [ins[w] for w in wrt_names]
    disp = Display(
        (
            body_text,
            parse_tree(body_text),
            infer_shapes(
                parse_tree(body_text),
                {**{k: as_shape(v) for k, v in shapes.items()}, **{n: () for n in inner}},
            )[0],
        )
    )
    several = len(ts) > 1 or any(len(variables(inner[x.name])) > 1 for x in xs)
    d_sym, d_t = ("∂", r"\partial ") if several else ("d", r"\mathrm{d}")

    def back(e):  # an expression in f's own variables, written in the inputs
        return substitute(e, {x: inner[x.name] for x in xs})

    def show(e):
        return disp.show(e)

    def ln(name):
        return latex_name(name)

    raw = []
    lets = ", ".join(f"{x.name} = {show(inner[x.name])[0]}" for x in xs)
    lets_lx = r",\ ".join(f"{ln(x.name)} = {show(inner[x.name])[1]}" for x in xs)
    raw.append((NAME_THEM, None, full, f"let {lets}, f = {show(body)[0]}",
                rf"\text{{let }} {lets_lx},\ f = {show(body)[1]}", None))  # fmt: skip
    partial = {}
    for x in xs:
        p = simplify(one_order(body, x).result)
        partial[x] = p
        t, lx = show(p)
        raw.append((PARTIAL, back(p), back(p), f"∂f/∂{x.name} = {t}",
                    rf"\frac{{\partial f}}{{\partial {ln(x.name)}}} = {lx}", None))  # fmt: skip
    results = []
    for t in ts:
        dx = {}
        for x in xs:
            dx[x] = simplify(one_order(inner[x.name], t).result)
            tx, lx = show(dx[x])
            raw.append((INNER, dx[x], dx[x], f"{d_sym}{x.name}/{d_sym}{t.name} = {tx}",
                        rf"\frac{{{d_t}{ln(x.name)}}}{{{d_t}{ln(t.name)}}} = {lx}", None))  # fmt: skip
        total = simplify(one_order(full, t).result)
        terms = " + ".join(f"∂f/∂{x.name} · {d_sym}{x.name}/{d_sym}{t.name}" for x in xs)
        terms_lx = " + ".join(
            rf"\frac{{\partial f}}{{\partial {ln(x.name)}}} \frac{{{d_t}{ln(x.name)}}}{{{d_t}{ln(t.name)}}}"
            for x in xs
        )
        lhs_t = f"{d_sym}f/{d_sym}{t.name}"
        lhs_lx = rf"\frac{{{d_t}f}}{{{d_t}{ln(t.name)}}}"
        chained = add(*(mul(back(partial[x]), dx[x]) for x in xs))
        raw.append((CHAIN, total, chained, f"{lhs_t} = {terms}", f"{lhs_lx} = {terms_lx}", None))
        parts = [(show(partial[x]), show(dx[x])) for x in xs]
        mixed = " + ".join(f"{_paren(a[0])} · {_paren(b[0])}" for a, b in parts)
        mixed_lx = " + ".join(rf"{_lparen(a)} {_lparen(b)}" for a, b in parts)
        raw.append(
            (SUBSTITUTE, total, chained, f"{lhs_t} = {mixed}", f"{lhs_lx} = {mixed_lx}", None)
        )
        tt, tlx = show(total)
        if len(f"{lhs_t} = {tt}") <= MAX_LINE:  # else the line above, with the lets, is the answer
            raw.append((IN_INPUTS, total, total, f"{lhs_t} = {tt}", f"{lhs_lx} = {tlx}", None))
        results.append(total)
    return raw, results
