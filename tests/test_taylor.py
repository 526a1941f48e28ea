"""Taylor polynomials: remainders shrink like |h|^(order+1), exact for polynomials, printed in
matrix notation; the truth comes from the function itself and closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tensorcalc as tc
from conftest import assert_close

# (f, shapes, point, direction): scalar, several-scalar, vector and matrix variables
REMAINDER = [
    ("exp(x) * sin(x)", None, {"x": 0.4}, {"x": 1.0}),
    ("x * exp(-x^2 - y^2)", None, {"x": -1.0, "y": 0.0}, {"x": 0.6, "y": -0.8}),
    ("log(1 + x' @ x)", {"x": 3}, {"x": [0.3, -0.2, 0.5]}, {"x": [1.0, -0.5, 0.7]}),
    ("logsumexp(x)", {"x": 3}, {"x": [0.1, 0.7, -0.4]}, {"x": [-0.3, 0.8, 0.2]}),
    ("logdet(X)", {"X": (2, 2)}, {"X": [[2.0, 0.3], [0.1, 1.5]]}, {"X": [[0.5, -1], [0.2, 0.7]]}),
]


def _at(point, direction, t):
    return {k: np.asarray(point[k]) + t * np.asarray(direction[k]) for k in point}


@pytest.mark.parametrize("order", [0, 1, 2, 3])
@pytest.mark.parametrize("f,shapes,point,direction", REMAINDER, ids=[c[0] for c in REMAINDER])
def test_remainder_log_log_slope_is_order_plus_one(f, shapes, point, direction, order):
    e = tc.parse(f, shapes)
    p = tc.taylor(e, at=point, order=order)
    assert float(p.evaluate(point)) == pytest.approx(float(e.evaluate(point)), abs=1e-12)
    radii = 0.08 * 0.5 ** np.arange(4)
    errs = [abs(float(e.evaluate(_at(point, direction, t)) - p.evaluate(_at(point, direction, t))))
            for t in radii]  # fmt: skip
    slopes = np.diff(np.log(errs)) / np.diff(np.log(radii))
    assert np.all(np.abs(slopes - (order + 1)) < 0.35), slopes


def test_exp_series_coefficients():
    p = tc.taylor("exp(x)", at={"x": 0}, order=6)
    assert str(p).startswith("1 + x + 0.5 * x^2")
    for x in (-0.7, 0.2, 1.3):
        want = sum(x**k / math.factorial(k) for k in range(7))
        assert float(p.evaluate(x=x)) == pytest.approx(want, rel=1e-14)


def test_vector_quadratic_term_prints_in_matrix_notation():
    p = tc.taylor("sum(exp(x))", at={"x": [0, 1]}, order=2)
    e = np.e
    assert str(p) == (
        f"{1 + e!r} + [1, {e!r}]' @ (x - [0, 1]) + 0.5 * (x - [0, 1])' @ [[1, 0], [0, {e!r}]] @ (x - [0, 1])"
    )
    assert r"\begin{bmatrix}" in p.latex()
    assert_close(
        tc.parse(str(p), {"x": 2}).evaluate(x=np.array([0.3, 0.2])), p.evaluate(x=[0.3, 0.2])
    )


def test_symbolic_point_gives_formula_coefficients(rng):
    shapes = {"x": "n", "A": "n,n"}
    p = tc.taylor("x' @ A @ x", at={"x": "a"}, order=2, shapes=shapes)
    assert str(p) == "a' @ A @ a + a' @ (A + A') @ (x - a) + 0.5 * (x - a)' @ (A + A') @ (x - a)"
    A, a, x = rng.normal(size=(3, 3)), rng.normal(size=3), rng.normal(size=3)
    assert float(p.evaluate(A=A, a=a, x=x)) == pytest.approx(x @ A @ x)


def test_parameters_stay_symbolic(rng):
    p = tc.taylor("exp(c * x)", at={"x": 0}, order=2)
    assert {"c", "x"} <= set(tc.expr.variables(p))
    c, x = 0.7, 0.01
    assert float(p.evaluate(c=c, x=x)) == pytest.approx(1 + c * x + (c * x) ** 2 / 2)


def test_taylor_errors():
    with pytest.raises(tc.DifferentiationError, match="non-negative integer"):
        tc.taylor("x^2", at={"x": 0}, order=-1)
    with pytest.raises(tc.DifferentiationError, match="no variable 'z'"):
        tc.taylor("x^2", at={"z": 0})
    with pytest.raises(tc.DifferentiationError, match="has shape"):
        tc.taylor("sum(x)", at={"x": [1, 2, 3]}, shapes={"x": 2})
    with pytest.raises(tc.DifferentiationError, match="expansion point"):
        tc.taylor("x^2", at={})
