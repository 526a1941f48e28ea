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
        return f"{self.number}. {self.text}{shapes}{mark}\n   ({self.rule})"


@dataclass
class Explanation:
    """A derivation, step by step (see ``tensorcalc.explain``).

    ``steps`` are numbered ``Step``s, ``result`` is the derivative (the engine's own),
    ``style`` the style used; ``tables`` holds the backprop style's forward and backward tables
    (and, for one input, the seed's ``chain`` table) when values were given, ``captions`` what
    each table is in words.  Renders as text (``str``), LaTeX (``latex()``, an ``align``
    environment), Markdown and JSON, and in Jupyter.
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


def _latex_text(s: str) -> str:
    """Plain words for ``\\text{...}``: LaTeX's special characters escaped."""
    for ch, rep in (("\\", ""), ("{", r"\{"), ("}", r"\}"), ("_", r"\_"), ("&", r"\&"),
                    ("%", r"\%"), ("#", r"\#"), ("^", r"\^{}"), ("~", r"\~{}")):  # fmt: skip
        s = s.replace(ch, rep)
    return s


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
