"""The result of ``tc.explain``: numbered ``Step``s and their renderings.

A ``Step`` is one true equation: ``lhs`` and ``rhs`` are expressions in the user's variables
(plus, in the differential style, a direction variable standing for dX), so both sides can be
evaluated and compared; ``text`` and ``latex`` show the same equation with the named parts
(``let E = X - U @ V``) and pending derivatives (``dE``, ``du/dx``) that a student writes.
``verify`` evaluates the two sides at given or random points and records ✓ per step; it takes
the evaluator as an argument because numerics live in a higher layer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

import numpy as np

from ..errors import TensorCalcError
from ..expr import Expr


@dataclass(frozen=True)
class Step:
    """One step of a derivation: an equation ``lhs = rhs`` established by ``rule``.

    ``lhs`` (``None`` for a definition) and ``rhs`` are expressions in the user's variables;
    they are computed when first read (an explanation that is only printed never builds
    them).
    """

    number: int
    rule: str
    sides: tuple  # (lhs, rhs): Exprs, None, or functions computing them
    text: str
    latex: str
    shapes: str | None = None
    verified: bool | None = None

    @property
    def lhs(self) -> Expr | None:
        return self._side(0)

    @property
    def rhs(self) -> Expr:
        return self._side(1)

    def _side(self, k):
        v = self.sides[k]
        if callable(v):
            v = v()
            sides = list(self.sides)
            sides[k] = v
            object.__setattr__(self, "sides", tuple(sides))
        return v

    def line(self) -> str:
        mark = {True: " ✓", False: " ✗", None: ""}[self.verified]
        shapes = f"   [{self.shapes}]" if self.shapes else ""
        head = f"{self.number}. "
        text = wrap(self.text, WIDTH - len(head), " " * (len(head) + 4))
        rule = wrap(f"({self.rule})", WIDTH - 3, "    ")
        return f"{head}{text}{shapes}{mark}\n   {rule}"


WIDTH = 112  # a printed line longer than this is broken, as a long equation is on paper
BREAKS = (" = ", " + ", " - ", " · ", "; ", ", ", " * ", " ")


def wrap(text: str, width: int, indent: str) -> str:
    """``text`` broken into lines of at most ``width`` characters (the first) and of
    ``width`` less the indent (the rest), before a ``=``, ``+`` or ``-`` outside parentheses
    where possible, each continuation line indented.  Lines of the text stay as they are."""
    if "\n" in text:
        first, rest = text.split("\n", 1)
        return wrap(first, width, indent) + "\n" + rest
    lines = []
    while len(text) > width:
        cut = _break(text, width)
        if cut is None:
            break
        lines.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
        width = max(WIDTH - len(indent) - 4, 40)
    lines.append(text)
    return ("\n" + indent).join(lines)


def _break(text: str, width: int):
    """Where to break ``text`` at or before ``width``: the shallowest, then the latest, of the
    places before an operator; ``None`` when there is none."""
    depth, best = 0, {}
    for k, ch in enumerate(text[: width + 1]):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        for rank, sep in enumerate(BREAKS):
            if text.startswith(sep, k) and k > width // 3:
                key = (depth, rank)
                best[key] = k + (len(sep) if sep in ("; ", ", ") else 0)
                break
    if not best:
        return None
    return best[min(best)]


@dataclass
class Explanation:
    """A derivation, step by step (see ``tensorcalc.explain``).

    ``steps`` are numbered ``Step``s, ``result`` is the derivative (the engine's own),
    ``style`` the style used; ``tables`` holds the backprop style's forward and backward tables
    (and, for one input, the seed's ``chain`` table) when values were given, ``captions`` what
    each table is in words.  Renders as text (``str``), LaTeX (``latex()``, an ``align``
    environment), Markdown and JSON, and in Jupyter.

    >>> import tensorcalc as tc
    >>> e = tc.explain("(sin(x^4))^5", "x")
    >>> print(e.result)
    20 * x^3 * sin(x^4)^4 * cos(x^4)
    >>> e.steps[0].rule
    'name the parts'
    """

    title: str
    style: str
    steps: list
    result: Expr
    expr: Expr | None = None  # the input, as an expression
    tables: dict | None = None
    graph: object = None  # the backprop style's graph, which makes the tables
    captions: dict | None = None  # table name -> what it is, in words
    check: object = None  # with verify=True: the result against finite differences (CheckReport)

    def caption(self, name: str) -> str:
        return (self.captions or {}).get(name, f"{name} pass")

    # ------------------------------------------------------------------- rendering

    def text(self) -> str:
        lines = [self.title]
        lines += [s.line() for s in self.steps]
        if self.tables:
            for name, rows in self.tables.items():
                lines.append(f"{self.caption(name)}:")
                lines += _table_lines(rows)
        return "\n".join(lines)

    __str__ = text

    def latex(self) -> str:
        """The steps as a LaTeX ``align*`` environment, one numbered line per step."""
        rows = [rf"&{s.latex} && \text{{({s.number}) {_latex_text(s.rule)}}}" for s in self.steps]
        return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"

    def markdown(self) -> str:
        out = [f"**{self.title}**", ""]
        for s in self.steps:
            mark = {True: " ✓", False: " ✗", None: ""}[s.verified]
            shapes = f" &nbsp; *{s.shapes}*" if s.shapes else ""
            out.append(f"{s.number}. ${s.latex}$ &nbsp; — {s.rule}{shapes}{mark}")
        for name, rows in (self.tables or {}).items():
            out += [
                "",
                f"*{self.caption(name)}*",
                "",
                "| quantity | formula | value |",
                "|---|---|---|",
            ]
            out += [
                f"| {r['quantity']} | `{r['formula']}` | {show_value(r['value'])} |" for r in rows
            ]
        return "\n".join(out)

    def to_dict(self) -> dict:
        d = {
            "style": self.style,
            "title": self.title,
            "steps": [
                {
                    "number": s.number,
                    "rule": s.rule,
                    "text": s.text,
                    "latex": s.latex,
                    "shapes": s.shapes,
                    "verified": s.verified,
                }
                for s in self.steps
            ],
            "result": {"text": str(self.result), "latex": self.result.latex()},
        }
        if self.check is not None:
            c = self.check
            d["check"] = {
                "passed": c.passed,
                "checked": c.checked,
                "max_rel_error": c.max_rel_error,
            }
        if self.tables:
            d["tables"] = self.tables
            d["captions"] = {name: self.caption(name) for name in self.tables}
        return d

    def to_json(self, **kw) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **kw)

    def _repr_markdown_(self):
        return self.markdown()

    def _repr_latex_(self):
        return "$$" + self.latex() + "$$"

    # ---------------------------------------------------------------- verification

    def verify(self, evaluate, values, rtol: float = 1e-7) -> Explanation:
        """Evaluate both sides of every step with ``evaluate(expr, values)`` and mark each.

        ``values`` maps every variable (including the direction variables) to an array.
        Raises ``TensorCalcError`` naming the first step whose sides differ.
        """
        steps = []
        for s in self.steps:
            ok = True
            if s.lhs is not None:
                ok = _close(evaluate(s.lhs, values), evaluate(s.rhs, values), rtol)
            if not ok:
                raise TensorCalcError(f"step {s.number} does not verify: {s.text} ({s.rule})")
            steps.append(replace(s, verified=True))
        self.steps = steps
        return self


def _close(a, b, rtol) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        a, b = np.broadcast_arrays(a, b) if a.size == 1 or b.size == 1 else (a, b)
        if a.shape != b.shape:
            return False
    scale = max(1.0, float(np.max(np.abs(a))) if a.size else 0.0)
    return bool(np.all(np.abs(a - b) <= rtol * scale + rtol * np.abs(b)))


# symbols of the rule texts as math inside \text{...}: plain pdflatex reads ASCII only
MATH_SYMBOLS = {
    "⟨": r"\langle ",
    "⟩": r"\rangle ",
    "ᵀ": r"^\top",
    "⊙": r"\odot ",
    "−": "-",
    "‖": r"\|",
    "⁻": "^{-",
    "¹": "1}",
    "²": "^2",
    "³": "^3",
    "⁴": "^4",
    "ⁿ": "^n",
    "·": r"\cdot ",
    "×": r"\times ",
    "Π": r"\Pi ",
    "Σ": r"\Sigma ",
    "δ": r"\delta ",
    "σ": r"\sigma ",
    "ᵇ": "^b",
    "ᵢ": "_i",
    "ⱼ": "_j",
    "ₖ": "_k",
    "₁": "_1",
    "₂": "_2",
    "ˣ": "^x",
    "→": r"\to ",
    "∂": r"\partial ",
    "∇": r"\nabla ",
    "∖": r"\setminus ",
    "√": r"\surd ",
    "≠": r"\neq ",
    "≥": r"\geq ",
    "û": r"\hat{u}",
    "′": "'",
    "…": r"\ldots ",
    "—": "--",
    "✓": r"\surd ",
    "✗": r"\times ",
}


MATH_SYMBOLS.update({  # the relations and Greek letters the texts use
    "⇔": r"\iff ", "⪰": r"\succeq ", "≤": r"\leq ", "∈": r"\in ", "∞": r"\infty ",
    "α": r"\alpha ", "β": r"\beta ", "γ": r"\gamma ", "ε": r"\varepsilon ", "η": r"\eta ",
    "θ": r"\theta ", "λ": r"\lambda ", "μ": r"\mu ", "π": r"\pi ", "ρ": r"\rho ",
    "τ": r"\tau ", "φ": r"\phi ", "ψ": r"\psi ", "ω": r"\omega ", "Φ": r"\Phi ",
    "Θ": r"\Theta ", "Λ": r"\Lambda ", "Ω": r"\Omega ",
})  # fmt: skip


def _latex_text(s: str) -> str:
    """Plain words for ``\\text{...}``: LaTeX's special characters escaped, symbols written
    in math mode (``$\\langle$``), so that the result is ASCII and compiles with pdflatex."""
    for ch, rep in (("\\", ""), ("{", r"\{"), ("}", r"\}"), ("_", r"\_"), ("&", r"\&"),
                    ("%", r"\%"), ("#", r"\#"), ("^", r"\^{}"), ("~", r"\~{}")):  # fmt: skip
        s = s.replace(ch, rep)
    out = []
    for ch in s:
        if ch == "⁻":  # ⁻¹: one superscript
            out.append("$^{-")
        elif ch == "¹" and out and out[-1] == "$^{-":
            out[-1] = "$^{-1}$"
        elif ch in MATH_SYMBOLS:
            out.append("$" + MATH_SYMBOLS[ch] + "$")
        elif ord(ch) > 127:
            out.append("?")  # pragma: no cover - a symbol the table lacks
        else:
            out.append(ch)
    return "".join(out).replace("$$", "")


def show_value(v) -> str:
    """A table entry: 6 significant digits, arrays on one line."""
    if isinstance(v, (int, float)):
        return f"{v:.6g}"
    text = np.array2string(np.asarray(v, dtype=float), precision=4, separator=", ")
    return " ".join(text.split())


def _table_lines(rows) -> list:
    cols = ("quantity", "formula", "value")
    cells = [[str(r["quantity"]), str(r["formula"]), show_value(r["value"])] for r in rows]
    widths = [max(len(c), *(len(row[k]) for row in cells)) for k, c in enumerate(cols)]
    fmt = "  " + "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*cols).rstrip()] + [fmt.format(*row).rstrip() for row in cells]
