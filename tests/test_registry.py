"""Every op has an entry in every table: shape, derivative, evaluator, printer, rebuild.

Adding an op to ``Op`` without its rules fails here."""

from __future__ import annotations

import pytest

from tensorcalc import build
from tensorcalc.codegen import BACKENDS
from tensorcalc.diff.rules import D1, D2, PARTIAL, RULE_NAME
from tensorcalc.explain.texts import RULE_TEXT
from tensorcalc.numeric.evaluate import EVAL
from tensorcalc.ops import BINARY, KIND, LEAF, UNARY, Op
from tensorcalc.parse.lower import ELEMENTWISE, FUNCTIONS, MANY_ARGS, ONE_ARG, TWO_ARG
from tensorcalc.printing.matrix import NAMES
from tensorcalc.shapes import SHAPE

NON_LEAF = [op for op in Op if KIND[op] != LEAF]


@pytest.mark.parametrize("op", list(Op), ids=lambda o: o.value)
def test_shape_rule(op):
    assert op in SHAPE


@pytest.mark.parametrize("op", NON_LEAF, ids=lambda o: o.value)
def test_derivative_rule(op):
    assert op in PARTIAL
    assert op in RULE_NAME
    if KIND[op] == UNARY:
        assert op in D1
    if KIND[op] == BINARY:
        assert op in D2


@pytest.mark.parametrize("op", NON_LEAF, ids=lambda o: o.value)
def test_evaluator_and_rebuild(op):
    assert op in EVAL
    assert op in build.REBUILD


@pytest.mark.parametrize("op", NON_LEAF, ids=lambda o: o.value)
def test_printer_and_parser(op):
    assert op in NAMES
    if KIND[op] == UNARY:
        assert ELEMENTWISE[NAMES[op]] is op  # the printed name parses back to the op
    elif op is Op.STACK:  # printed as a list literal [a, b], which parses back to the op
        assert build.stack([build.var("a"), build.var("b")]).op is Op.STACK
    elif op is Op.KRON:
        assert NAMES[op] in TWO_ARG
    elif op is Op.RESHAPE:  # reshape(X, (2, 3)): its sizes are read by the parser itself
        assert NAMES[op] in FUNCTIONS and build.vec(build.var("X", (2, 3))).op is Op.RESHAPE
    elif op not in (Op.EINSUM, Op.ADD, Op.POW, Op.DIV):
        assert NAMES[op] in ONE_ARG or NAMES[op] in MANY_ARGS  # f(X) or f(X, E1, ..., Ek)


def test_kind_covers_every_op():
    assert set(KIND) == set(Op)


@pytest.mark.parametrize("op", NON_LEAF, ids=lambda o: o.value)
def test_explanation_and_backends(op):
    assert op in RULE_TEXT
    if op not in (Op.EINSUM, Op.ADD, Op.POW, Op.DIV):
        for backend in BACKENDS.values():
            assert NAMES[op] in backend.funcs, (backend.name, op)
