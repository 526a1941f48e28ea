"""Closed-form stationary points, checked by evaluating the gradient there."""

from __future__ import annotations

import numpy as np
import pytest

import tensorcalc as tc
from conftest import assert_close

CASES = [
    ("norm(y - P @ t)^2", "t", {"y": "m", "P": "m,d"}, "solve(P' @ P, P' @ y)"),
    ("norm(y - P @ t)^2 + lam * t' @ t", "t", {"y": "m", "P": "m,d", "lam": ()}, None),
    ("norm(X - U @ V)^2", "V", {"X": "m,n", "U": "m,r", "V": "r,n"}, "solve(U' @ U, U' @ X)"),
    ("norm(X - U @ V)^2", "U", {"X": "m,n", "U": "m,r", "V": "r,n"}, None),
    ("(x - a)^2 + (x - b)^2", "x", None, "0.5 * (a + b)"),
    ("0.5 * x' @ A @ x - b' @ x", "x", {"A": "n,n", "b": "n"}, "2 * solve(A + A', b)"),
]
SIZES = {"m": 6, "d": 3, "n": 5, "r": 2}


@pytest.mark.parametrize("f,wrt,shapes,printed", CASES, ids=[c[0] + " / " + c[1] for c in CASES])
def test_gradient_vanishes_at_the_solution(f, wrt, shapes, printed, rng):
    theta = tc.solve_stationary(f, wrt, shapes=shapes)
    if printed is not None:
        assert str(theta) == printed
    e = tc.parse(f, shapes)
    vals = {}
    for name, v in tc.expr.variables(e).items():
        if name != wrt:
            vals[name] = rng.normal(size=[SIZES.get(d, d) for d in v.shape])
    if "lam" in vals:
        vals["lam"] = np.array(0.7)
    vals[wrt] = theta.evaluate(vals)
    assert_close(tc.gradient(e, wrt).evaluate(vals), np.zeros(np.shape(vals[wrt])), atol=1e-9)


def test_not_affine_is_a_clear_error():
    with pytest.raises(tc.DifferentiationError, match="not affine in x"):
        tc.solve_stationary("sum(exp(x))", "x", shapes={"x": 3})


def test_two_sided_hessian_is_a_clear_error():
    shapes = {"A": "m,m", "B": "n,n", "X": "m,n", "C": "m,n"}
    with pytest.raises(tc.DifferentiationError, match="one side"):
        tc.solve_stationary("norm(A @ X @ B - C)^2", "X", shapes=shapes)
