"""Recursive-descent parser for the expression language (math-friendly NumPy syntax).

Precedence, loosest first: ``+ -``; ``* / @`` (left-associative); unary ``-``; ``^``/``**``
(right-associative, so ``-x^2`` is ``-(x^2)`` and ``2^-1`` works); postfix ``'`` and ``.T``.
"""

from __future__ import annotations

from dataclasses import replace

from ..errors import ParseError
from .ast import Array, BinOp, Call, Index, Name, Neg, Num, Str, Transpose
from .lexer import tokenize


class _Parser:
    def __init__(self, text):
        self.text = text
        self.toks = tokenize(text)
        self.i = 0

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
        node = self.multiplicative()
        while (t := self.accept("+", "-")) is not None:
            node = BinOp(t.text, node, self.multiplicative(), t.pos)
        return node

    def multiplicative(self):
        node = self.unary()
        while (t := self.accept("*", "/", "@")) is not None:
            node = BinOp(t.text, node, self.unary(), t.pos)
        return node

    def unary(self):
        if (t := self.accept("-")) is not None:
            return Neg(self.unary(), t.pos)
        if self.accept("+") is not None:
            return self.unary()
        return self.power()

    def power(self):
        node = self.postfix()
        if (t := self.accept("^", "**")) is not None:
            return BinOp("^", node, self.unary(), t.pos)
        return node

    def postfix(self):
        node = self.atom()
        while True:
            if (t := self.accept("'", ".T")) is not None:
                node = Transpose(node, t.pos)
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
                return self.call(t)
            return Name(t.text, t.pos)
        if self.accept("("):
            node = self.additive()
            self.expect(")")
            return node
        if self.accept("["):
            shape, values = self.array_items()
            return Array(shape, tuple(values), t.pos)
        if t.kind == "END":
            self.error("unexpected end of input: an operand is missing")
        self.error(f"unexpected {t.text!r}")

    def array_items(self):
        """The rest of a literal ``[1, 2]`` or ``[[1, 2], [3, 4]]`` after its ``[``."""
        shapes, values = [], []
        while True:
            t = self.tok
            if self.accept("["):
                shape, vals = self.array_items()
            else:
                sign = -1.0 if self.accept("-") else 1.0
                if self.tok.kind != "NUM":
                    self.error("an array literal holds numbers or nested [...] lists")
                shape, vals = (), [sign * float(self.tok.text)]
                self.i += 1
            if shapes and shape != shapes[0]:
                self.error("the rows of an array literal must have the same length", t.pos)
            shapes.append(shape)
            values.extend(vals)
            if self.accept("]"):
                return (len(shapes),) + shapes[0], values
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
