"""A declared variable that does not occur: its derivative is a zero of the right shape (as in
SymPy and JAX) with a note; an undeclared name that does not occur is an error with the
nearest name (likely a typo)."""

from __future__ import annotations

import numpy as np
import pytest

import tensorcalc as tc
from conftest import central_jacobian
from tensorcalc.cli import main

SHAPES = {"x": (3,), "A": (3, 3), "B": (2, 4), "s": ()}


@pytest.mark.parametrize(
    "text,wrt,order,shape",
    [
        ("x' @ A @ x", "B", 1, (2, 4)),
        ("x' @ A @ x", "B", 2, (2, 4, 2, 4)),
        ("A @ x", "s", 1, (3,)),
        ("A @ x", "B", 1, (3, 2, 4)),
        ("sin(s)", "x", 2, (3, 3)),
    ],
)
def test_declared_variable_that_does_not_occur_gives_zero(text, wrt, order, shape, rng):
    f = tc.parse(text, SHAPES)
    found = tc.derivation(f, wrt, order=order)
    assert found.result.shape == shape
    assert found.notes and f"{wrt} does not occur" in found.notes[0]
    values = {k: rng.normal(size=v) for k, v in SHAPES.items()}
    got = found.result.evaluate(values)
    assert got.shape == shape and not np.any(got)
    if order == 1:  # the finite-difference oracle agrees: f does not move with wrt
        fun = lambda v: f.evaluate({**values, wrt: v})  # noqa: E731
        np.testing.assert_array_equal(central_jacobian(fun, values[wrt]), got)


def test_declared_in_the_same_call_and_symmetric():
    assert tc.derivative("x^2", "y", shapes={"y": "n"}).shape == ("n",)
    assert tc.gradient("x' @ x", "S", shapes={"x": "n", "S": "n,n,sym"}).shape == ("n", "n")
    assert tc.hessian("sum(x)", "z", shapes={"x": "n", "z": "m"}).shape == ("m", "m")


def test_a_name_that_occurs_has_no_note():
    assert tc.derivation("x' @ x", "x", shapes={"x": "n"}).notes == []


@pytest.mark.parametrize(
    "text,shapes,wrt,message",
    [
        ("x' @ A @ x", {"x": "n", "A": "n,n"}, "xx", "did you mean 'x'"),
        ("x^2", None, "z", "no variable 'z'"),
        ("sin(alpha)", {}, "alpah", "did you mean 'alpha'"),
    ],
)
def test_an_undeclared_name_is_an_error_with_a_suggestion(text, shapes, wrt, message):
    with pytest.raises(tc.DifferentiationError, match=message):
        tc.derivative(text, wrt, shapes=shapes)


def test_declarations_are_per_parse():
    tc.parse("x^2", {"x": (), "y": (3,)})
    with pytest.raises(tc.DifferentiationError, match="no variable 'y'"):
        tc.derivative(tc.parse("x^2", {"x": ()}), "y")


def test_cli_prints_the_zero_and_the_note(capsys):
    argv = ["diff", "x' @ A @ x", "--wrt", "B", "--shape", "x=n", "--shape", "A=n,n"]
    assert main(argv + ["--shape", "B=m,n"]) == 0
    done = capsys.readouterr()  # the result on stdout, the note on stderr (as every note)
    assert "zeros(m, n)" in done.out and "note: B does not occur" in done.err
    assert main(["diff", "x^2", "--wrt", "xx"]) == 2
    assert "did you mean 'x'" in capsys.readouterr().err


def test_a_shared_zero_does_not_carry_another_derivatives_shapes():
    # the zero is one interned node: the note of the derivative that made it (x a scalar) must
    # not make the same zero reject a value of another x elsewhere
    assert tc.derivative("x^2", "y", shapes={"x": (), "y": ()}).evaluate(x=1.0, y=2.0) == 0.0
    assert tc.parse("3 - 3").evaluate({"x": np.ones(3)}) == 0.0
