"""Property test: the LaTeX we print reads back, with the LaTeX reader, as the same value.

Over random expressions of every op and rank (the strategy of ``test_properties``) and their
first derivatives, ``tc.parse(e.latex(), shapes, syntax="latex")`` must evaluate to the value of
``e`` at random inputs.  This is what shows the printer never prints a formula that reads as a
different one.  Derandomized; ``TC_LATEX_EXAMPLES`` sets how many (1,000 by default).

Nothing is excluded.  The one construct the reader cannot size, a Kronecker delta whose indices
no other factor carries (``\\delta_{jl}`` in ``[R_{ki} \\delta_{jl}]_{ijkl}``), is printed as
the entries of an identity of stated size, ``\\left(I_{N}\\right)_{jl}``; written by hand it
is a ``ParseError`` (tested below).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tensorcalc as tc
from conftest import assert_close
from tensorcalc.expr import variables
from test_properties import SHAPES, problems, random_env

EXAMPLES = int(os.environ.get("TC_LATEX_EXAMPLES", "1000"))
UNSIZED_DELTA = "is not determined by another factor"


def read_back(e):
    """``e``'s LaTeX read back with the LaTeX reader."""
    text = e.latex()
    try:
        return tc.parse(text, SHAPES, syntax="latex")
    except tc.TensorCalcError as err:
        raise AssertionError(f"cannot read back {text!r} (from {e}): {err}") from err


@settings(
    max_examples=EXAMPLES, deadline=None, derandomize=not os.environ.get("TC_PROPERTY_RANDOM"),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)  # fmt: skip
@given(problems(), st.data())
def test_latex_reads_back_as_the_same_value(problem, data):
    text, _, seed = problem
    env = random_env(seed)
    f = tc.parse(text, SHAPES)
    exprs = [f]
    names = sorted(n for n in SHAPES if n in variables(f))
    if names:
        exprs.append(tc.derivative(f, data.draw(st.sampled_from(names))))
    for e in exprs:
        again = read_back(e)
        assert again.shape == e.shape, (e.latex(), again, e)
        assert_close(again.evaluate(env), e.evaluate(env), rtol=1e-8, atol=1e-9)


def test_an_unsized_delta_prints_its_size_and_reads_back():
    d = tc.derivative(tc.parse("R' @ R", {"R": "M,N"}), "R")
    assert r"\left(I_{N}\right)_{jl}" in d.latex()
    assert tc.parse(d.latex(), {"R": "M,N"}, syntax="latex") is d
    with pytest.raises(tc.ParseError, match=UNSIZED_DELTA):
        tc.parse(r"\left[R_{ki} \delta_{jl}\right]_{ijkl}", {"R": "M,N"}, syntax="latex")


def test_a_sized_delta_reads_back():
    e = tc.parse(
        r"\left[A_{ij} \delta_{jk} x_{k}\right]_{i}", {"A": "n,n", "x": "n"}, syntax="latex"
    )
    A, x = np.arange(9.0).reshape(3, 3), np.arange(3.0)
    assert_close(e.evaluate({"A": A, "x": x}), A @ x)
