r"""A LaTeX reader: ``parse(text, syntax="latex")`` builds the same parse tree as the language.

It reads formulas as a person reads them rendered, which is what matters for text pasted from
papers and for our own printer's output (the round-trip property test reads every printed
derivative back):

* **Grouping braces are invisible.**  ``{AB}^\top`` renders as A Bᵀ, so it is read as A Bᵀ:
  a superscript or subscript applies to the atom it visibly sits on.  Only visible brackets
  group: ``( )``, ``[ ]``, ``\left( \right)``, ``| |`` (absolute value) and ``\| \|`` (norm).
* **Products.**  Juxtaposition (``A x``, ``2x``, ``UV``: every letter is one symbol) is the
  matrix product, or scaling when one side is a scalar; ``\cdot``, ``\times`` and ``*`` mean
  the same.  ``\odot`` (``\circ``) is the elementwise product and ``/`` the quotient; they bind
  looser than juxtaposition, so ``A B \odot C`` is (AB) ⊙ C.  ``\frac{a}{b}`` is a quotient.
* **Superscripts.**  ``^\top`` (``^T``, ``^{\intercal}``, ``'``) transposes, ``^{-1}`` inverts a
  matrix (a reciprocal otherwise), ``^{-\top}`` is the inverse transpose, ``^{\circ k}`` is an
  elementwise power and ``^{k}`` a power of a scalar or vector; a matrix power ``X^{2}`` is
  ambiguous in the language's elementwise semantics and is an error.
* **Names.**  Single letters, Greek letters (``\theta``), ``\mathbf{x}``, ``\boldsymbol{x}``,
  ``\mathrm{name}``; digit subscripts belong to the name (``W_{2}`` is ``W2``).  ``I_{n}`` is
  the identity, ``\mathbf{1}_{n}`` and ``\mathbf{0}_{n \times m}`` are ones and zeros.  A bare
  name that the declared shapes use as a dimension, and do not declare, is that size
  (``\frac{x}{n}`` with x: n is ``x / sum(ones(n))``, as the printer writes it), with a note.
* **Functions.**  ``\exp \log \ln \sin \cos \tan \tanh \arcsin \arccos \arctan \det``,
  ``\log\det``, ``\sqrt{}``, ``\operatorname{f}`` for every function of the language
  (``\operatorname{tr}``, ``\operatorname{diag}``, ``\operatorname{sum}_{0}``; several axes as
  ``\operatorname{softmax}_{0, 1}``), and ``\sigma(z)`` for the logistic sigmoid.  Without
  parentheses a function applies to the next factor (``\log\det X``, ``\exp x^2``).
* **Index notation.**  ``\left[\sum_{k} A_{ik} B_{kj}\right]_{ij}`` is an einsum (``\delta`` is
  the Kronecker delta, sized by the index it shares), and ``\sum_{i}`` before a term whose
  factors carry the index (``\sum_i x_i^2``) sums that elementwise term.

Errors are ``ParseError`` with a position in the LaTeX text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from ..errors import ParseError
from .ast import Array, BinOp, Call, Index, Name, Neg, Num, Str, Transpose, Tuple
from .parser import _substitute, parse_tree


def _is_where(t) -> bool:
    r"""``\text{where}``, which starts the definitions of named subexpressions."""
    return t.kind == "TEXT" and t.text == "text" and t.arg == "where"


class Token(NamedTuple):
    kind: str  # NUM LETTER CMD TEXT SYM DELIM ROW END
    text: str
    pos: int
    arg: str = ""  # the braced argument of a TEXT command


_SIZE = r"\\(?:left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|Biggl|Biggr|big|Big|bigg|Bigg)"
_TOKEN = re.compile(
    rf"""(?P<ws>\s+|\\[,;:! ]|~|\\q?quad(?![A-Za-z])|{_SIZE}\s*\.)
    |(?P<DELIM>(?P<side>{_SIZE})\s*(?P<d>\\[lr]?[Vv]ert(?![A-Za-z])|\\\||\\[{{}}]|[()\[\]|]))
    |(?P<NUM>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    |(?P<TEXT>\\(?P<cmd>operatorname|mathrm|mathbf|boldsymbol|bm|mathit|mathsf|text|texttt|begin|end)
        \*?\s*\{{(?P<body>[^{{}}]*)\}})
    |(?P<ROW>\\\\)
    |(?P<CMD>\\[A-Za-z]+|\\\||\\[{{}}])
    |(?P<LETTER>[A-Za-z])
    |(?P<SYM>[-+*/^_'(){{}}\[\],|&:=])""",
    re.VERBOSE,
)
_OPEN = {"(": "(", "[": "[", "\\{": "(", "|": "L|", "\\|": "L‖", "\\Vert": "L‖", "\\vert": "L|"}
_OPEN |= {"\\lvert": "L|", "\\lVert": "L‖", "\\rvert": "R|", "\\rVert": "R‖"}
_CLOSE = {")": ")", "]": "]", "\\}": ")", "|": "R|", "\\|": "R‖", "\\Vert": "R‖", "\\vert": "R|"}
_CLOSE |= {"\\lvert": "L|", "\\lVert": "L‖", "\\rvert": "R|", "\\rVert": "R‖"}
_BARE = {"\\|": "‖", "\\Vert": "‖", "\\vert": "|", "\\lvert": "L|", "\\rvert": "R|"}
_BARE |= {"\\lVert": "L‖", "\\rVert": "R‖", "\\{": "(", "\\}": ")"}


def tokenize(text: str) -> list[Token]:
    """Split LaTeX into tokens; sizing commands (``\\left``, ``\\big``) fold into delimiters."""
    if not isinstance(text, str):
        raise TypeError("expression must be a string")
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ParseError(f"unexpected character {text[pos]!r} in LaTeX", text, pos)
        kind = m.lastgroup
        if m.group("DELIM"):
            left = m.group("side").startswith("\\left") or m.group("side").endswith("l")
            right = m.group("side").startswith("\\right") or m.group("side").endswith("r")
            d = m.group("d")
            table = _OPEN if left or not right else _CLOSE
            out.append(Token("DELIM", table[d], pos))
        elif m.group("TEXT"):
            out.append(Token("TEXT", m.group("cmd"), pos, m.group("body").strip()))
        elif kind == "CMD" and m.group() in _BARE:
            out.append(Token("DELIM", _BARE[m.group()], pos))
        elif kind == "SYM" and m.group() in "()[]|":
            out.append(Token("DELIM", m.group(), pos))
        elif kind != "ws":
            out.append(Token(kind, m.group(), pos))
        pos = m.end()
    out.append(Token("END", "", len(text)))
    return out


# ----------------------------------------------------------------------- reader-only nodes


@dataclass(frozen=True)
class Sub:
    """``x_{ij}``: a factor with index labels (inside an index bracket or after ``\\sum``)."""

    arg: object
    labels: str
    pos: int


@dataclass(frozen=True)
class SumOver:
    """``\\sum_{ij} body``."""

    labels: str
    body: object
    pos: int


GREEK = set(
    "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu"
    " xi pi rho sigma tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma"
    " Upsilon Phi Psi Omega".split()
)
FUNCS = {
    "exp": "exp", "log": "log", "ln": "log", "sin": "sin", "cos": "cos", "tan": "tan",
    "tanh": "tanh", "arcsin": "arcsin", "arccos": "arccos", "arctan": "arctan", "det": "det",
}  # fmt: skip
OPNAMES = {"Tr": "tr", "trace": "tr", "Trace": "tr", "diag": "diag", "Diag": "diag"}
OPNAMES |= {"expm\\_frechet": "expm_frechet"}  # the underscore as LaTeX writes it
# names that \mathrm{...} and \text{...} spell as functions (single letters stay variables)
UPRIGHT_FUNCS = set(OPNAMES) | {
    "vec",
    "tr",
    "det",
    "logdet",
    "diag",
    "softmax",
    "sigmoid",
    "relu",
    "logsumexp",
    "sum",
    "norm",
    "inv",
    "softplus",
    "sign",
}
TRANSPOSES = {("CMD", "\\top"), ("LETTER", "T"), ("CMD", "\\intercal"), ("CMD", "\\prime")}
TRANSPOSES |= {("SYM", "'"), ("TEXT", "mathsf:T"), ("TEXT", "mathrm:T"), ("TEXT", "text:T")}
EXPLICIT = {"\\odot": "*", "\\circ": "*", "/": "/", "\\div": "/"}
EXPLICIT |= {"\\otimes": "kron"}  # the Kronecker product, as ⊙ binds
EXPLICIT |= {"\\cdot": " ", "\\times": " ", "*": " ", "\\ast": " "}
JUX = " "  # the BinOp op of juxtaposition: ``@``, or ``*`` beside a scalar (see lower)


def _key(t: Token):
    return (t.kind, f"{t.text}:{t.arg}" if t.kind == "TEXT" else t.text)


class _Reader:
    def __init__(self, text, toks):
        self.text = text
        self.toks = toks
        self.i = 0
        self.braces = [0]  # invisible braces open in the current argument
        self.bars = []  # open | and ‖ delimiters (a bare bar closes the innermost one)

    def error(self, msg, pos=None):
        raise ParseError(msg, self.text, self.peek().pos if pos is None else pos)

    def peek(self) -> Token:
        while True:
            t = self.toks[self.i]
            if t.text == "{" and t.kind == "SYM":
                self.braces[-1] += 1
            elif t.text == "}" and t.kind == "SYM" and self.braces[-1] > 0:
                self.braces[-1] -= 1
            else:
                return t
            self.i += 1

    def next(self) -> Token:
        t = self.peek()
        self.i += 1
        return t

    def raw(self) -> Token:
        return self.toks[self.i]

    def at(self, *texts) -> bool:
        t = self.peek()
        return t.kind in ("SYM", "CMD", "DELIM") and t.text in texts

    def expect(self, text, what=None):
        if not self.at(text):
            t = self.peek()
            self.error(f"expected {what or repr(text)} but found {t.text or 'end of input'!r}")
        return self.next()

    # ------------------------------------------------------------------- top level & sums

    def parse(self):
        if self.peek().kind == "END":
            self.error("empty expression")
        node = self.additive()
        t = self.peek()
        if _is_where(t):
            node = self.where(node)
            t = self.peek()
        if t.kind != "END":
            self.error(f"unexpected {t.text!r}" if t.text != "}" else "unbalanced '}'")
        if self.braces[-1]:
            self.error("a '{' is not closed")
        return node

    def where(self, body):
        r"""``body \quad \text{where } M = …, N = …``: our printer's named subexpressions."""
        self.next()
        defs = {}
        while True:
            t = self.peek()
            lhs = self.atom()
            if not isinstance(lhs, Name) or not self.at("="):
                self.error(r"expected NAME = expression after \text{where}", t.pos)
            self.next()
            defs[lhs.id] = _substitute(self.additive(), defs)
            if not self.at(","):
                return _substitute(body, defs)
            self.next()

    def additive(self):
        t = self.peek()
        if self.at("-", "+"):
            self.next()
            node = self.term()
            node = Neg(node, t.pos) if t.text == "-" else node
        else:
            node = self.term()
        while self.at("+", "-"):
            t = self.next()
            node = BinOp(t.text, node, self.signed(self.term), t.pos)
        return node

    def signed(self, read):
        """``read()``, after any unary signs (``a - -b``, ``a \\odot -b``)."""
        if self.at("-", "+"):
            m = self.next()
            arg = self.signed(read)
            return Neg(arg, m.pos) if m.text == "-" else arg
        return read()

    def term(self):
        node = self.chain()
        while (t := self.peek()).text in EXPLICIT and t.kind in ("SYM", "CMD"):
            self.next()
            node = BinOp(EXPLICIT[t.text], node, self.signed(self.chain), t.pos)
        return node

    def starts_unit(self, t: Token) -> bool:
        if t.kind in ("NUM", "LETTER", "TEXT"):
            return not _is_where(t)
        if t.kind == "CMD":
            return t.text not in EXPLICIT and t.text not in ("\\top", "\\intercal")
        if t.kind == "DELIM":
            if t.text in ("(", "[", "L|", "L‖"):
                return True
            return t.text in ("|", "‖") and (not self.bars or self.bars[-1] != t.text)
        return False

    def chain(self):
        node = self.unit()
        while self.starts_unit(t := self.peek()):
            node = BinOp(JUX, node, self.unit(), t.pos)
        return node

    def unit(self):
        t = self.peek()
        if t.kind == "CMD" and t.text == "\\sum":
            self.next()
            labels = self.sum_labels(t)
            return SumOver(labels, self.term(), t.pos)
        if self.is_function(t):
            return self.function()
        return self.postfix(self.atom())

    def sum_labels(self, t):
        if self.raw().text != "_":
            self.error("write the summation index: \\sum_{i}")
        self.i += 1
        toks = self.script()
        labels = ""
        for s in toks:
            if s.text == "=":
                break
            if s.kind != "LETTER":
                self.error("a summation index is a letter (\\sum_{i} or \\sum_{i=1}^{n})", s.pos)
            labels += s.text
        if self.raw().text == "^":  # the upper limit: \sum_{i=1}^{n}
            self.i += 1
            self.script()
        if not labels:
            self.error("write the summation index: \\sum_{i}", t.pos)
        return labels

    # ----------------------------------------------------------------------- functions

    def is_function(self, t: Token) -> bool:
        if t.kind == "CMD":
            if t.text[1:] in FUNCS:
                return True
            if t.text == "\\sigma":  # the logistic function when applied: \sigma(z)
                nxt = self.toks[self.i + 1]
                return nxt.kind == "DELIM" and nxt.text == "("
            return False
        if t.kind == "TEXT" and t.text in ("mathrm", "text") and t.arg in UPRIGHT_FUNCS:
            return True  # \mathrm{tr}(X), as \operatorname{tr}(X)
        return t.kind == "TEXT" and t.text == "operatorname"

    def function(self):
        t = self.next()
        if t.kind == "TEXT":
            fn = OPNAMES.get(t.arg, t.arg)
            if not fn.isidentifier():
                self.error(f"unknown operator name {t.arg!r}", t.pos)
        elif t.text == "\\sigma":
            fn = "sigmoid"
        else:
            fn = FUNCS[t.text[1:]]
        if fn == "log" and self.raw().kind == "CMD" and self.raw().text == "\\det":
            self.i += 1
            fn = "logdet"
        power, extra = None, []
        while self.raw().text in ("^", "_") and self.raw().kind == "SYM":
            s = self.toks[self.i]
            self.i += 1
            toks = self.script()
            if s.text == "^":
                power = self.sub_expr(toks, s.pos)
            else:
                extra.append(self.axes(toks, s.pos))
        if self.at("("):
            self.next()
            args = [self.additive()]
            while self.at(","):
                self.next()
                args.append(self.additive())
            self.expect(")")
            node = self.postfix(Call(fn, tuple(args) + tuple(extra), (), t.pos))
        else:
            if not self.starts_unit(self.peek()):
                self.error(f"{t.text if t.kind != 'TEXT' else fn} needs an argument")
            node = Call(fn, (self.unit(),) + tuple(extra), (), t.pos)
        return node if power is None else Call("^", (node, power), (), t.pos)

    # --------------------------------------------------------------------------- atoms

    def atom(self):
        t = self.next()
        if t.kind == "NUM":
            return Num(float(t.text), t.pos)
        if t.kind == "LETTER":
            if t.text == "I" and self.raw().text == "_":
                return Call("eye", self.dims_script(t), (), t.pos)
            return Name(t.text, t.pos)
        if t.kind == "CMD" and t.text[1:] in GREEK:
            return Name(t.text[1:], t.pos)
        if t.kind == "CMD" and t.text in ("\\frac", "\\dfrac", "\\tfrac"):
            num = self.group()
            return BinOp("/", num, self.group(), t.pos)
        if t.kind == "CMD" and t.text == "\\sqrt":
            return Call("sqrt", (self.group(),), (), t.pos)
        if t.kind == "TEXT":
            return self.text_atom(t)
        if t.kind == "DELIM":
            return self.bracket(t)
        if t.kind == "END":
            self.error("unexpected end of input: an operand is missing", t.pos)
        self.error(f"unexpected {t.text!r}", t.pos)

    def text_atom(self, t):
        if t.text in ("mathbf", "boldsymbol", "bm") and t.arg in ("1", "0"):
            fn = "ones" if t.arg == "1" else "zeros"
            if self.raw().text != "_":
                self.error(f"\\mathbf{{{t.arg}}} needs its size: \\mathbf{{{t.arg}}}_{{n}}", t.pos)
            return Call(fn, self.dims_script(t), (), t.pos)
        if t.text in ("mathbf", "boldsymbol", "bm", "mathrm", "mathit", "text", "mathsf"):
            name = t.arg.replace("\\_", "_").lstrip("\\").replace(" ", "")
            if not name.isidentifier():
                self.error(f"cannot read {t.arg!r} as a name", t.pos)
            return Name(name, t.pos)
        if t.text == "texttt":
            try:
                node = parse_tree(t.arg)
            except ParseError:
                node = None
            if not isinstance(node, Array):
                self.error("\\texttt{...} is read as an array literal [[...], ...]", t.pos)
            return Array(node.shape, node.values, t.pos)
        if t.text == "begin" and t.arg in ("bmatrix", "pmatrix", "matrix", "vmatrix"):
            return self.matrix(t)
        self.error(f"cannot read \\{t.text}{{{t.arg}}} here", t.pos)

    def matrix(self, t):
        rows, row = [], []
        while True:
            sign = 1.0
            if self.at("-"):
                self.next()
                sign = -1.0
            n = self.next()
            if n.kind != "NUM":
                self.error("a matrix literal holds numbers", n.pos)
            row.append(sign * float(n.text))
            s = self.peek()
            self.next()
            if s.kind == "SYM" and s.text == "&":
                continue
            if s.kind == "ROW" or (s.kind == "TEXT" and s.text == "end"):
                rows.append(row)
                if rows and len(row) != len(rows[0]):
                    self.error("the rows of a matrix literal must have the same length", s.pos)
                row = []
                if s.kind == "TEXT":
                    break
                continue
            self.error("expected '&', '\\\\' or \\end{...} in a matrix literal", s.pos)
        if len(rows[0]) == 1:
            return Array((len(rows),), tuple(r[0] for r in rows), t.pos)
        return Array((len(rows), len(rows[0])), tuple(v for r in rows for v in r), t.pos)

    def bracket(self, t):
        if t.text == "(":
            node = self.additive()
            self.expect(")", "')' (or \\right))")
            return node
        if t.text == "[":
            node = self.additive()
            self.expect("]", "']' (or \\right])")
            if self.raw().text == "_" and self.raw().kind == "SYM":
                self.i += 1
                toks = self.script()
                if all(s.kind == "LETTER" for s in toks):
                    return self.einsum(node, "".join(s.text for s in toks), t.pos)
                self.error("an index bracket [...]_{ij} takes index letters", t.pos)
            if isinstance(node, SumOver) and _product_of_indexed(node.body):
                return self.einsum(node, "", t.pos)  # a full contraction: [\sum_{ij} A_{ij} B_{ji}]
            return node
        kind = "|" if "|" in t.text else "‖"
        if t.text in ("R|", "R‖"):
            self.error(f"a closing {kind} without an opening one", t.pos)
        self.bars.append(kind)
        node = self.additive()
        self.bars.pop()
        c = self.peek()
        if not (c.kind == "DELIM" and c.text in (kind, "R" + kind)):
            self.error(f"expected a closing {kind}")
        self.next()
        if kind == "|":
            return Call("abs", (node,), (), t.pos)
        fn = "norm"
        if self.raw().text == "_" and self.raw().kind == "SYM":
            self.i += 1
            toks = self.script()
            sub = "".join(s.arg if s.kind == "TEXT" else s.text for s in toks)
            fn = {"F": "norm", "2": "norm_2", "1": "norm1"}.get(sub)
            if fn is None and all(s.kind == "LETTER" for s in toks):  # index labels
                return Sub(Call("norm", (node,), (), t.pos), sub, c.pos)
            if fn is None:
                self.error(f"unknown norm {sub!r}: the reader knows _F, _2 and _1", c.pos)
        return Call(fn, (node,), (), t.pos)

    # ----------------------------------------------------------------- scripts & groups

    def script(self) -> list[Token]:
        """The tokens of a sub- or superscript: a braced group or one token."""
        t = self.raw()
        if t.kind == "SYM" and t.text == "{":
            depth, j = 0, self.i
            while True:
                s = self.toks[j]
                if s.kind == "END":
                    self.error("a '{' is not closed", t.pos)
                if s.kind == "SYM" and s.text in "{}":
                    depth += 1 if s.text == "{" else -1
                    if depth == 0:
                        break
                j += 1
            toks = self.toks[self.i + 1 : j]
            self.i = j + 1
            return toks
        if t.kind in ("END", "SYM") and t.text not in ("'",):
            self.error("a sub- or superscript is missing", t.pos)
        if t.kind == "NUM" and len(t.text) > 1:
            self.error(f"write {{{t.text}}} in braces: a bare script is one character", t.pos)
        self.i += 1
        return [t]

    def axes(self, toks, pos):
        """A function's subscript: an axis (``\\operatorname{softmax}_{1}``) or several,
        ``_{0, 1}``, read as the text syntax's tuple ``(0, 1)``."""
        cuts = [k for k, t in enumerate(toks) if t.kind == "SYM" and t.text == ","]
        if not cuts:
            return self.sub_expr(toks, pos)
        bounds = zip([-1] + cuts, cuts + [len(toks)])
        return Tuple(tuple(self.sub_expr(toks[a + 1 : b], pos) for a, b in bounds), pos)

    def sub_expr(self, toks, pos):
        if not toks:
            self.error("empty script", pos)
        sub = _Reader(self.text, list(toks) + [Token("END", "", toks[-1].pos + 1)])
        return sub.parse()

    def group(self):
        """A command argument ``{...}`` (or a single token)."""
        t = self.raw()
        if not (t.kind == "SYM" and t.text == "{"):
            return self.sub_expr(self.script(), t.pos)
        self.i += 1
        self.braces.append(0)
        node = self.additive()
        c = self.peek()
        if not (c.kind == "SYM" and c.text == "}"):
            self.error("expected '}'")
        self.braces.pop()
        self.i += 1
        return node

    def dims_script(self, t):
        if self.raw().text != "_":
            self.error("a size subscript is missing", t.pos)
        self.i += 1
        toks = [s for s in self.script() if s.text != "\\times" and s.text != ","]
        dims = []
        for s in toks:
            if s.kind == "NUM" and s.text.isdigit():
                dims.append(Num(float(s.text), s.pos))
            elif s.kind == "LETTER" or (s.kind == "TEXT" and s.arg.isidentifier()):
                dims.append(Name(s.arg if s.kind == "TEXT" else s.text, s.pos))
            else:
                self.error(
                    "a size is an integer or a name: I_{n}, \\mathbf{1}_{n \\times m}", s.pos
                )
        return tuple(dims)

    # ----------------------------------------------------------------------- postfix

    def postfix(self, node):
        while True:
            while self.raw().kind == "SYM" and self.raw().text == "}" and self.braces[-1] > 0:
                self.braces[-1] -= 1  # {AB}^\top: the superscript sits on B
                self.i += 1
            t = self.raw()
            if t.kind == "SYM" and t.text == "'":
                self.i += 1
                node = Transpose(node, t.pos)
            elif t.kind == "SYM" and t.text == "^":
                self.i += 1
                node = self.superscript(node, self.script(), t.pos)
            elif t.kind == "SYM" and t.text == "_":
                self.i += 1
                node = self.subscript(node, self.script(), t.pos)
            else:
                return node

    def superscript(self, node, toks, pos):
        keys = [_key(s) for s in toks]
        if len(keys) == 1 and keys[0] in TRANSPOSES:
            return Transpose(node, pos)
        if keys == [("SYM", "-"), ("NUM", "1")]:
            return Call("^-1", (node,), (), pos)
        if len(keys) == 2 and keys[0] == ("SYM", "-") and keys[1] in TRANSPOSES:
            return Call("^-T", (node,), (), pos)
        if keys and keys[0] == ("CMD", "\\circ"):
            return BinOp("^", node, self.sub_expr(toks[1:], pos), pos)
        return Call("^", (node, self.sub_expr(toks, pos)), (), pos)

    def subscript(self, node, toks, pos):
        if isinstance(node, Name) and toks and all(s.kind == "NUM" for s in toks):
            digits = "".join(s.text for s in toks)
            if digits.isdigit():
                return Name(node.id + digits, node.pos)
        if all(s.kind == "LETTER" for s in toks):
            return Sub(node, "".join(s.text for s in toks), pos)
        if toks and toks[0].kind == "DELIM" and toks[0].text == "[":
            return Index(node, self.index_items(toks[1:], pos), pos)
        self.error("cannot read this subscript", pos)

    def index_items(self, toks, pos):
        """``[0, 1:3, ::2]`` after ``_{`` (the printer's indexing)."""
        text = "".join(s.text for s in toks)
        try:
            tree = parse_tree("_[" + text)
        except ParseError:
            tree = None
        if not isinstance(tree, Index):
            self.error("cannot read the index; write _{[0, 1:3]}", pos)
        return tree.items

    # ----------------------------------------------------------------- index notation

    def einsum(self, body, out, pos):
        if isinstance(body, SumOver):
            body = body.body
        factors = []

        def flat(n):
            if isinstance(n, BinOp) and n.op == JUX:
                flat(n.left)
                flat(n.right)
            else:
                factors.append(n)

        flat(body)
        groups, args = [], []
        for f in factors:
            if not isinstance(f, Sub):  # a factor with no indices is a scalar (s A_{ij})
                groups.append("")
                args.append(resolve(f, self.text))
                continue
            groups.append(f.labels)
            if isinstance(f.arg, Name) and f.arg.id == "delta":
                args.append(Call("delta", (), (), f.pos))
            else:
                args.append(resolve(f.arg, self.text))
        spec = ",".join(groups) + "->" + out
        return Call("einsum", (Str(spec, pos),) + tuple(args), (), pos)


# ------------------------------------------------------------------------- resolution


def resolve(n, text, bound=""):
    """Replace the reader-only nodes by language nodes: ``\\sum_{i} f(x_i)`` is ``sum(f(x))``."""
    if isinstance(n, SumOver):
        return Call("sum", (resolve(n.body, text, bound + n.labels),), (), n.pos)
    if isinstance(n, Sub):
        if bound and set(n.labels) == set(bound) and len(n.labels) == len(bound):
            arg = resolve(n.arg, text)
            if n.labels == bound or len(n.labels) < 2:
                return arg
            if len(n.labels) == 2:
                return Transpose(arg, n.pos)
            spec = n.labels + "->" + "".join(sorted(n.labels, key=bound.index))
            return Call("einsum", (Str(spec, n.pos), arg), (), n.pos)
        if bound and set(n.labels) & set(bound):
            raise ParseError(
                f"under \\sum_{{{bound}}} every subscripted factor carries all of "
                f"{', '.join(bound)}",
                text,
                n.pos,
            )
        if isinstance(n.arg, Name) and n.labels:
            return Name(n.arg.id + "_" + n.labels, n.arg.pos)
        raise ParseError("an index subscript outside index notation", text, n.pos)
    if isinstance(n, BinOp):
        op = n.op
        if op == JUX and bound and (_indexed(n.left, bound) or _indexed(n.right, bound)):
            op = "*"  # entries multiply: x_i y_i
        return BinOp(op, resolve(n.left, text, bound), resolve(n.right, text, bound), n.pos)
    if isinstance(n, (Neg, Transpose)):
        return type(n)(resolve(n.arg, text, bound), n.pos)
    if isinstance(n, Index):
        return Index(resolve(n.arg, text, bound), n.items, n.pos)
    if isinstance(n, Call):
        args = tuple(resolve(a, text, bound) for a in n.args)
        return Call(n.func, args, n.kwargs, n.pos)
    return n


def _product_of_indexed(n) -> bool:
    """A juxtaposed product of factors with indices (``A_{ij} x_{j}``) and scalars (``s``)."""
    factors = []
    while isinstance(n, BinOp) and n.op == JUX:
        factors.append(n.right)
        n = n.left
    factors.append(n)
    subs = [f for f in factors if isinstance(f, Sub)]
    return bool(subs) and all(isinstance(f, Sub) or not _has_sub(f) for f in factors)


def _has_sub(n) -> bool:
    if isinstance(n, Sub):
        return True
    if hasattr(n, "__dataclass_fields__"):
        return any(_has_sub(getattr(n, f)) for f in n.__dataclass_fields__)
    if isinstance(n, tuple):
        return any(_has_sub(c) for c in n)
    return False


def _indexed(n, bound) -> bool:
    """Whether ``n`` stands for entries (carries an index of the enclosing sum)."""
    if isinstance(n, Sub):
        return bool(set(n.labels) & set(bound))
    if isinstance(n, BinOp):
        return _indexed(n.left, bound) or _indexed(n.right, bound)
    if isinstance(n, (Neg, Transpose)):
        return _indexed(n.arg, bound)
    if isinstance(n, Call):
        return any(_indexed(a, bound) for a in n.args)
    return False


SIZE_NOTE = (
    "read {n} as the size {n}, sum(ones({n})), since the declared shapes use it as a dimension; "
    "declare {n} in shapes to make it a scalar variable"
)
SIZED = ("eye", "ones", "zeros", "select", "commutation")  # their arguments are dimensions
SHAPED = ("reshape",)  # arguments after the first are dimensions


def read_sizes(n, dims: set):
    """``(tree, names)``: each bare name in ``dims`` (a dimension of the declared shapes, not
    itself declared) read as the size it stands for, ``sum(ones(n))``, as the printer writes
    ``\\frac{x}{n}``; ``names`` are those read so (``parse`` notes them).

    >>> read_sizes(Name("n", 0), {"n"})[0].func, read_sizes(Name("n", 0), set())[1]
    ('sum', set())
    """
    found: set = set()

    def walk(n):
        if isinstance(n, Name) and n.id in dims:
            found.add(n.id)
            return Call("sum", (Call("ones", (n,), (), n.pos),), (), n.pos)
        if isinstance(n, tuple):
            return tuple(walk(c) for c in n)
        if not hasattr(n, "__dataclass_fields__") or isinstance(n, Call) and n.func in SIZED:
            return n
        if isinstance(n, Call) and n.func in SHAPED and n.args:
            return type(n)(**{f: getattr(n, f) for f in n.__dataclass_fields__}
                           | {"args": (walk(n.args[0]), *n.args[1:])})  # fmt: skip
        return type(n)(**{f: walk(getattr(n, f)) for f in n.__dataclass_fields__})

    return walk(n) if dims else n, found


def parse_latex_tree(text: str):
    r"""Parse LaTeX into a tree of ``tensorcalc.parse.ast`` nodes (no shapes yet).

    >>> parse_latex_tree(r"x^\top A x").op
    ' '
    """
    reader = _Reader(text, tokenize(text))
    return resolve(reader.parse(), text)
