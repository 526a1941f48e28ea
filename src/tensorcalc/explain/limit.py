"""The "limit" style: the power rule from the difference quotient (seed 000).

For f = c·xⁿ (n a whole number) the quotient (f(x + h) − f(x)) / h is expanded by the
binomial theorem, the c·xⁿ terms cancel, h divides out, and the terms that still hold h vanish
as h → 0, leaving c·n·xⁿ⁻¹.  Every step is an equation between expressions in x and h
(h ≠ 0); the last one, the limit, is the value of a polynomial in h at h = 0, checked against
the engine's derivative.
"""

from __future__ import annotations

from math import comb

from ..build import add, const, div, mul, pow_, split_coef, sub, substitute, var
from ..diff.reverse import derivative as reverse
from ..errors import DifferentiationError
from ..expr import Expr, variables
from ..ops import Op
from ..printing.latex import name as latex_name
from ..printing.matrix import P
from ..printing.text import fmt_num
from .display import Display, replace_vars

QUOTIENT = "the difference quotient (f(x + h) - f(x)) / h, expanded by the binomial theorem"
CANCEL = "the c·xⁿ terms cancel"
DIVIDE = "divide by h (h ≠ 0)"
LIMIT = "let h → 0: the terms with h vanish (the derivative is the limit of the quotient)"


def monomial(f: Expr, x: Expr):
    """``(c, n)`` with f = c·xⁿ, n a whole number ≥ 1, or ``None``."""
    c, core = split_coef(f)
    if core is x:
        return c, 1
    if core.op is Op.POW and core.args[0] is x and core.args[1].op is Op.CONST:
        n = core.args[1].attrs[0]
        if n == int(n) and n >= 1:
            return c, int(n)
    return None


def _term(c: float, xp: int, hp: int, x: str, h: str) -> tuple[str, str, bool]:
    """Text and LaTeX of |c|·x^xp·h^hp, and whether c < 0."""
    parts_t, parts_l = [], []
    if abs(c) != 1 or (xp == 0 and hp == 0):
        parts_t.append(fmt_num(abs(c)))
        parts_l.append(fmt_num(abs(c)))
    for name, p in ((x, xp), (h, hp)):
        if p:
            parts_t.append(name if p == 1 else f"{name}^{p}")
            ln = latex_name(name)
            parts_l.append(ln if p == 1 else f"{ln}^{{{p}}}")
    return " * ".join(parts_t), " ".join(parts_l), c < 0


def _poly(terms, x: str, h: str) -> tuple[str, str]:
    text = latex = ""
    for k, (c, xp, hp) in enumerate(terms):
        t, lx, neg = _term(c, xp, hp, x, h)
        sign = ("-" if neg else "") if k == 0 else (" - " if neg else " + ")
        text += sign + t
        latex += sign + lx
    return text or "0", latex or "0"


def _value(terms, xv: Expr, hv: Expr) -> Expr:
    return add(*[mul(const(c), mul(pow_(xv, xp), pow_(hv, hp))) for c, xp, hp in terms])


SERIES = "binomial theorem: (x + h)^n = x^n + n x^(n-1) h + C(n, 2) x^(n-2) h^2 + ... (|h| < |x|)"
DIVIDE_SERIES = "the x^n terms cancel; divide by h (h ≠ 0): every later term still holds h"


def symbolic(f: Expr, x: Expr):
    """``(c, n)`` with f = c·xⁿ for an exponent n that is an expression without x, else
    ``None``."""
    c, core = split_coef(f)
    if core.op is Op.POW and core.args[0] is x and x not in variables(core.args[1]).values():
        if core.args[1].op is not Op.CONST:
            return c, core.args[1]
    return None


def _symbolic_steps(f: Expr, x: Expr, c: float, n: Expr, disp: Display):
    """d/dx c·xⁿ for a symbolic n: the quotient, the binomial series, h divided out, the
    limit.  The series steps are statements (an infinite sum); the limit is checked."""
    taken = set(variables(f))
    hs = next(v for v in ("h", "eps", "delta_x") if v not in taken)
    xs = x.name
    nt, nl = disp.show(n)
    nw = nt if n.op is Op.VAR else f"({nt})"
    cw = "" if c == 1 else f"{fmt_num(c)} * "
    ft, fl = disp.show(f)
    lx, lh = latex_name(xs), latex_name(hs)
    lhs_t = f"({cw}({xs} + {hs})^{nw} - {ft}) / {hs}"
    shifted = fl.replace(lx, rf"\left({lx} + {lh}\right)", 1)
    lhs_l = rf"\frac{{{shifted} - {fl}}}{{{lh}}}"
    series = (f"({cw}({xs}^{nw} + {nw} * {xs}^({nt} - 1) * {hs} + {nw} * ({nt} - 1) / 2 * "
              f"{xs}^({nt} - 2) * {hs}^2 + ...) - {ft}) / {hs}")  # fmt: skip
    series_l = (rf"\frac{{{c if c != 1 else ''}\left({lx}^{{{nl}}} + {nl} {lx}^{{{nl} - 1}} {lh} + "
                rf"\binom{{{nl}}}{{2}} {lx}^{{{nl} - 2}} {lh}^{{2}} + \ldots\right) - {fl}}}{{{lh}}}")  # fmt: skip
    divided = f"{cw}({nw} * {xs}^({nt} - 1) + {nw} * ({nt} - 1) / 2 * {xs}^({nt} - 2) * {hs} + ...)"
    divided_l = (rf"{c if c != 1 else ''}\left({nl} {lx}^{{{nl} - 1}} + \binom{{{nl}}}{{2}} "
                 rf"{lx}^{{{nl} - 2}} {lh} + \ldots\right)")  # fmt: skip
    d = reverse(f, x)
    dt, dl = Display().show(d)
    out = [
        (SERIES, None, f, f"{lhs_t} = {series}", f"{lhs_l} = {series_l}", None),
        (DIVIDE_SERIES, None, f, f"{lhs_t} = {divided}", f"{lhs_l} = {divided_l}", None),
    ]
    value = mul(const(c), mul(n, pow_(x, sub(n, 1))))
    out.append((LIMIT, d, value, f"d/d{xs} {ft} = lim_{hs}→0 {divided} = {dt}",
                rf"\frac{{\mathrm{{d}}}}{{\mathrm{{d}}{lx}}} {fl} = \lim_{{{lh} \to 0}} "
                rf"{divided_l} = {dl}", None))  # fmt: skip
    return out, d


def steps(f: Expr, x: Expr, disp: Display):
    found = monomial(f, x) if x.ndim == 0 else None
    if found is None and x.ndim == 0 and (sym := symbolic(f, x)) is not None:
        return _symbolic_steps(f, x, *sym, disp)
    if found is None:
        raise DifferentiationError(
            "the limit style derives the power rule for c * x^n (n a whole number) "
            "of a scalar x; use style='rules' for other expressions"
        )
    c, n = found
    taken = set(variables(f))
    hname = next(v for v in ("h", "eps", "delta_x") if v not in taken)
    h = var(hname)
    xs, hs = x.name, hname
    xp = add(x, h)
    quotient = div(sub(mul(c, pow_(xp, n)), mul(c, pow_(x, n))), h)
    ft, fl = disp.show(f)
    shifted = P("add", (P("var", (), xs, 0), P("var", (), hs, 0)), (False, False), 0)
    fht, fhl = disp.render(replace_vars(disp.tree(f), {xs: shifted}))
    lhs_t = f"({fht} - {ft}) / {hs}"
    lhs_l = rf"\frac{{{fhl} - {fl}}}{{{latex_name(hs)}}}"
    expanded = [(c * comb(n, i), n - i, i) for i in range(n + 1)] + [(-c, n, 0)]
    cancelled = expanded[1:-1]
    divided = [(k, xp_, hp - 1) for k, xp_, hp in cancelled]
    out = []
    for rule, terms, over_h in ((QUOTIENT, expanded, True), (CANCEL, cancelled, True),
                                (DIVIDE, divided, False)):  # fmt: skip
        t, lx = _poly(terms, xs, hs)
        value = _value(terms, x, h)
        if over_h:
            t, lx, value = f"({t}) / {hs}", rf"\frac{{{lx}}}{{{latex_name(hs)}}}", div(value, h)
        out.append((rule, quotient, value, f"{lhs_t} = {t}", f"{lhs_l} = {lx}", None))
    d = reverse(f, x)
    t, lx = _poly(divided, xs, hs)
    limit = [(k, xp_, hp) for k, xp_, hp in divided if hp == 0]
    lt, ll = _poly(limit, xs, hs)
    value = substitute(_value(divided, x, h), {h: const(0.0)})
    out.append((LIMIT, d, value,
                f"d/d{xs} {ft} = lim_{hs}→0 ({t}) = {lt}",
                rf"\frac{{\mathrm{{d}}}}{{\mathrm{{d}}{latex_name(xs)}}} {fl} = "
                rf"\lim_{{{latex_name(hs)} \to 0}} \left({lx}\right) = {ll}", None))  # fmt: skip
    return out, d
