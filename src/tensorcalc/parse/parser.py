"""Recursive-descent parser for the expression language (math-friendly NumPy syntax).

Precedence, loosest first: ``+ -``; ``* / @`` (left-associative); unary ``-``; ``^``/``**``
(right-associative, so ``-x^2`` is ``-(x^2)`` and ``2^-1`` works); postfix ``'`` and ``.T``.
``.*``, ``./`` and ``.^`` are ``*``, ``/`` and ``^``.

**MATLAB syntax** (``matlab=True``, matrixcalculus.org's dialect) is the same grammar with
other meanings for three operators: ``*`` is the matrix product, scaling beside a scalar (the
LaTeX reader's juxtaposition, op ``" "``); ``/`` divides by a scalar only (``"m/"``) and ``^``
is MATLAB's power (``"m^"``: of scalars, or an integer power of a square matrix), both calls
the lowering checks; ``.*``, ``./`` and ``.^`` stay elementwise, and a bare ``eye`` is the
identity of the size its use implies.  Products and quotients read left to right.

**Any length, bounded depth.**  Flat chains are read by loops, never by recursion: runs of
signs and of transposes fold to their parity, and a long run of ``+ -`` (or of ``* /``) becomes
a balanced tree of the same value (``a - b + c`` is ``a - (b - c)``), so a sum of thousands of
terms is shallow.  True nesting (parentheses, calls, array literals, ``^`` towers and chains of
``@``) is limited to ``MAX_DEPTH`` levels of the tree; deeper input is a ``ParseError`` that
says so.  The limit is chosen so that everything downstream (lowering, derivatives, printing,
evaluation and compiled code, all partly recursive) works on any tree the parser accepts.
"""

from __future__ import annotations

from dataclasses import replace

from ..errors import ParseError
from .ast import Array, BinOp, Call, Index, Name, Neg, Num, Stack, Str, Transpose, Tuple
from .lexer import tokenize

MAX_DEPTH = 100  # levels of nesting in a parse tree (see the module docstring)
_BALANCE = 16  # chains of more terms than this become balanced trees
_INVERSE = {"+": "-", "-": "+", "*": "/", "/": "*"}
_ELEMENTWISE = {".*": "*", "./": "/", ".^": "^"}  # MATLAB's spellings, elementwise in both
MATLAB_CALLS = {"/": "m/", "^": "m^"}  # calls only the MATLAB syntax makes (see ``lower``)


def _fold(first, rest: list):
    """``first op1 t1 op2 t2 ...`` as a tree: left-deep when short, else balanced (same value).

    A right half that follows a ``-`` (``/``) has its own operators inverted, since
    ``a - (b - c) = a - b + c`` and ``a / (b / c) = a / b * c``.
    """
    if len(rest) < _BALANCE:
        node = first
        for op, term, pos in rest:
            node = BinOp(op, node, term, pos)
        return node
    mid = len(rest) // 2
    op, term, pos = rest[mid]
    tail = rest[mid + 1 :]
    if op in ("-", "/"):
        tail = [(_INVERSE[o], t, p) for o, t, p in tail]
    return BinOp(op, _fold(first, rest[:mid]), _fold(term, tail), pos)


def _drop_redundant_parens(toks: list) -> list:
    """Tokens without the outer pair of each ``((...))`` (iteratively): parentheses that only
    wrap other parentheses add no nesting, so ``((((x))))`` is as deep as ``(x)``."""
    match, stack = {}, []
    for i, t in enumerate(toks):
        if t.kind == "OP" and t.text == "(" and not (i and toks[i - 1].kind == "NAME"):
            stack.append(i)
        elif t.kind == "OP" and t.text == "(":
            stack.append(None)  # a call's parenthesis is not a grouping
        elif t.kind == "OP" and t.text == ")" and stack:
            j = stack.pop()
            if j is not None:
                match[j] = i
    drop = {j for j, i in match.items() if match.get(j + 1) == i - 1}
    drop |= {match[j] for j in drop}
    return [t for k, t in enumerate(toks) if k not in drop] if drop else toks


def _children(n):
    if isinstance(n, BinOp):
        return (n.left, n.right)
    if isinstance(n, (Neg, Transpose, Index)):
        return (n.arg,)
    if isinstance(n, Call):
        return n.args + tuple(v for _, v in n.kwargs)
    if isinstance(n, (Tuple, Stack)):
        return n.items
    return ()


def check_depth(tree, text: str) -> None:
    """``ParseError`` if ``tree`` is more than ``MAX_DEPTH`` levels deep (iterative)."""
    stack = [(tree, 1)]
    while stack:
        n, d = stack.pop()
        if d > MAX_DEPTH:
            raise ParseError(
                f"the expression is nested too deeply (more than {MAX_DEPTH} levels of "
                "parentheses, calls, powers or @); split it into parts",
                text,
                n.pos,
            )
        stack.extend((c, d + 1) for c in _children(n))


class _Parser:
    def __init__(self, text, matlab=False):
        self.text = text
        self.matlab = matlab
        self.toks = _drop_redundant_parens(tokenize(text))
        self.i = 0
        self.depth = 0  # current nesting, bounded by MAX_DEPTH before the recursion goes on

    def nest(self, pos):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ParseError(
                f"the expression is nested too deeply (more than {MAX_DEPTH} levels of "
                "parentheses, calls, powers or @); split it into parts",
                self.text,
                pos,
            )

    @property
    def tok(self):
        return self.toks[self.i]

    def error(self, msg, pos=None):
        raise ParseError(msg, self.text, self.tok.pos if pos is None else pos)

    def accept(self, *texts):
        if self.tok.kind == "OP" and self.tok.text in texts:
            self.i += 1
            return self.toks[self.i - 1]
        return None

    def expect(self, text):
        if not self.accept(text):
            found = self.tok.text or "end of input"
            self.error(f"expected {text!r} but found {found!r}")

    def parse(self):
        if self.tok.kind == "END":
            self.error("empty expression")
        node = self.additive()
        if self.tok.kind == "NAME" and self.tok.text == "where":
            node = self.where(node)
        if self.tok.kind != "END":
            what = "operator" if self.tok.kind in ("NUM", "NAME", "STR") else "end of input"
            self.error(f"expected an {what} but found {self.tok.text!r}")
        check_depth(node, self.text)
        return node

    def where(self, body):
        """``body where M = EXPR, N = EXPR``: each name stands for its expression (printed
        results name a repeated subexpression once); a definition may use earlier names."""
        self.i += 1
        defs = {}
        while True:
            t = self.tok
            if t.kind != "NAME" or self.toks[self.i + 1].text != "=":
                self.error("expected NAME = expression after 'where'")
            self.i += 2
            defs[t.text] = _substitute(self.additive(), defs)
            if not self.accept(","):
                return _substitute(body, defs)

    def additive(self):
        first, rest = self.multiplicative(), []
        while (t := self.accept("+", "-")) is not None:
            rest.append((t.text, self.multiplicative(), t.pos))
        return _fold(first, rest)

    def multiplicative(self):
        """Runs of elementwise ``* /`` fold like sums; ``@`` (and MATLAB's ``*`` and ``/``)
        keeps its left-to-right order."""
        node, run = self.unary(), []
        while (t := self.accept("*", "/", "@", ".*", "./")) is not None:
            if t.text == "@" or (self.matlab and t.text in ("*", "/")):
                left, right = _fold(node, run), self.unary()
                if t.text == "/":
                    node = Call(MATLAB_CALLS["/"], (left, right), (), t.pos)
                else:
                    node = BinOp("@" if t.text == "@" else " ", left, right, t.pos)
                run = []
            else:
                run.append((_ELEMENTWISE.get(t.text, t.text), self.unary(), t.pos))
        return _fold(node, run)

    def unary(self):
        """Signs fold to their parity: ``--x`` is ``x``."""
        neg = None
        while (t := self.accept("-", "+")) is not None:
            if t.text == "-":
                neg = None if neg is not None else t.pos
        node = self.power()
        return node if neg is None else Neg(node, neg)

    def power(self):
        if self.matlab:
            return self.matlab_power()
        node = self.postfix()
        if (t := self.accept("^", "**", ".^")) is not None:
            self.nest(t.pos)
            exponent = self.unary()
            bare = exponent.arg if isinstance(exponent, Neg) else exponent
            if isinstance(bare, Transpose) and isinstance(bare.arg, Num):
                # x^2' reads as x^(2'): the transpose of a number, surely meant for the power
                self.error("this transposes the exponent, a number; write (x^2)' for the "
                           "transpose of a power", bare.pos)  # fmt: skip
            node = BinOp("^", node, exponent, t.pos)
            self.depth -= 1
        return node

    def matlab_power(self):
        """MATLAB's precedence: ``^``, ``.^`` and ``'`` share one level, read left to right, so
        ``A^2'`` is ``(A^2)'``, ``2^3^2`` is ``(2^3)^2`` and ``A.^2.^3`` is ``(A.^2).^3``; an
        exponent is a signed operand without transposes (``2^-1``)."""
        node = self.postfix()
        while (t := self.accept("^", "**", ".^")) is not None:
            self.nest(t.pos)
            neg = None
            while (s := self.accept("-", "+")) is not None:
                if s.text == "-":
                    neg = None if neg is not None else s.pos
            exponent = self.atom()
            while (i := self.accept("[")) is not None:
                exponent = Index(exponent, self.index_items(), i.pos)
            if neg is not None:
                exponent = Neg(exponent, neg)
            self.depth -= 1
            if t.text == "^":
                node = Call(MATLAB_CALLS["^"], (node, exponent), (), t.pos)
            else:
                node = BinOp("^", node, exponent, t.pos)
            node = self.postfix(node)
        return node

    def postfix(self, node=None):
        node = self.atom() if node is None else node
        while True:
            if (t := self.accept("'", ".T")) is not None:
                # x'' is x: a pair of transposes cancels (for row vectors too)
                node = node.arg if isinstance(node, Transpose) else Transpose(node, t.pos)
            elif (t := self.accept("[")) is not None:
                node = Index(node, self.index_items(), t.pos)
            else:
                return node

    def index_items(self):
        """Constant ints and slices: ``[0]``, ``[1:3]``, ``[:, ::2]``."""
        items = []
        while True:
            parts = [self.int_or_none()]
            while self.accept(":") is not None:
                parts.append(self.int_or_none())
            if len(parts) > 3 or (len(parts) == 1 and parts[0] is None):
                self.error("an index is an integer or a slice start:stop:step")
            items.append(parts[0] if len(parts) == 1 else slice(*parts))
            if self.accept("]") is not None:
                return tuple(items)
            self.expect(",")

    def int_or_none(self):
        sign = -1 if self.accept("-") is not None else 1
        t = self.tok
        if t.kind == "NUM":
            if not t.text.isdigit():
                self.error("indices must be integers")
            if len(t.text) > 18:
                self.error(f"the index {t.text[:18]}... is out of range")
            self.i += 1
            return sign * int(t.text)
        if sign == -1:
            self.error("expected an integer")
        return None

    def atom(self):
        t = self.tok
        if t.kind == "NUM":
            self.i += 1
            return Num(float(t.text), t.pos)
        if t.kind == "STR":
            self.i += 1
            return Str(t.text[1:-1], t.pos)
        if t.kind == "NAME":
            self.i += 1
            if self.accept("("):
                self.nest(t.pos)
                node = self.call(t)
                self.depth -= 1
                return node
            return Name(t.text, t.pos)
        if self.accept("("):
            self.nest(t.pos)
            node = self.additive()
            if self.accept(","):  # (0, 2, 1): a tuple of axes
                items = [node]
                while not self.accept(")"):
                    items.append(self.additive())
                    if not self.accept(","):
                        self.expect(")")
                        break
                node = Tuple(tuple(items), t.pos)
            else:
                self.expect(")")
            self.depth -= 1
            return node
        if self.accept("["):
            self.nest(t.pos)
            node = self.array_items(t.pos)
            self.depth -= 1
            return node
        if t.kind == "END":
            self.error("unexpected end of input: an operand is missing")
        self.error(f"unexpected {t.text!r}")

    def array_items(self, pos):
        """The rest of a literal after its ``[``: numbers (``[1, 2]``, ``[[1, 2], [3, 4]]``) make
        an ``Array``; expressions of one shape (``[x1^2, sin(x2)]``) a ``Stack``."""
        items = []
        while True:
            items.append(self.additive())
            if self.accept("]"):
                return _literal(items, pos, self)
            self.expect(",")

    def call(self, name):
        args, kwargs = [], []
        if not self.accept(")"):
            while True:
                if self.tok.kind == "NAME" and self.toks[self.i + 1].text == "=":
                    key = self.tok.text
                    self.i += 2
                    kwargs.append((key, self.additive()))
                else:
                    if kwargs:
                        self.error("positional argument after a keyword argument")
                    args.append(self.additive())
                if self.accept(")"):
                    break
                self.expect(",")
        return Call(name.text, tuple(args), tuple(kwargs), name.pos)


def _number(n):
    if isinstance(n, Num):
        return n.value
    return -n.arg.value if isinstance(n, Neg) and isinstance(n.arg, Num) else None


def _literal(items, pos, parser):
    """An ``Array`` when every item is a number or every item an ``Array`` of one shape,
    else a ``Stack`` of the items (whose shapes lowering checks)."""
    values = [_number(n) for n in items]
    if all(v is not None for v in values):
        return Array((len(items),), tuple(values), pos)
    if all(isinstance(n, Array) for n in items):
        if any(n.shape != items[0].shape for n in items):
            parser.error("the rows of an array literal must have the same length", items[-1].pos)
        return Array((len(items),) + items[0].shape, tuple(v for n in items for v in n.values), pos)
    return Stack(tuple(items), pos)


def _substitute(n, defs):
    """``n`` with every ``Name`` in ``defs`` replaced by its definition."""
    if isinstance(n, Name):
        return defs.get(n.id, n)
    if isinstance(n, (tuple, list)):
        return type(n)(_substitute(c, defs) for c in n)
    if hasattr(n, "__dataclass_fields__"):
        kids = {f: _substitute(getattr(n, f), defs) for f in n.__dataclass_fields__}
        return replace(n, **kids)
    return n


def parse_tree(text: str):
    """Parse ``text`` into a tree of ``tensorcalc.parse.ast`` nodes (no shapes yet)."""
    return _Parser(text).parse()


def parse_matlab_tree(text: str):
    """Parse ``text`` in MATLAB syntax (matrixcalculus.org's): ``*`` is the matrix product.

    >>> parse_matlab_tree("x'*A").op
    ' '
    """
    return _Parser(text, matlab=True).parse()
