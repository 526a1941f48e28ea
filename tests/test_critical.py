"""Critical points and classification against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

import tensorcalc as tc

# (f, interval, [(x, kind)]) with the roots of f′ known in closed form
ONE_D = [
    ("3*x^4 - 4*x^3 - 12*x^2", (-3, 3), [(-1, "local minimum"), (0, "local maximum"), (2, "global minimum")]),
    ("x^3", (-1, 2), [(0, "inflection point")]),
    ("(x - 1)^4 + 2", (-1, 2), [(1, "global minimum")]),
    ("(x - 0.3)^3 * (x + 1)", (-2, 2), [(-0.675, "global minimum"), (0.3, "inflection point")]),
    ("sin(x)", (0, 10), [(np.pi / 2, "global maximum"), (3 * np.pi / 2, "global minimum"), (5 * np.pi / 2, "global maximum")]),
    ("x^3 - 3*x", (-3, 3), [(-1, "local maximum"), (1, "local minimum")]),
    ("exp(x) + x", (-2, 2), []),
]  # fmt: skip


@pytest.mark.parametrize("f,interval,expected", ONE_D, ids=[c[0] for c in ONE_D])
def test_one_variable_on_an_interval(f, interval, expected):
    found = tc.critical_points(f, over={"x": interval})
    assert [p.point["x"] for p in found] == pytest.approx([x for x, _ in expected], abs=1e-7)
    assert [p.kind for p in found] == [k for _, k in expected]
    e = tc.parse(f)
    for p in found:
        assert p.value == pytest.approx(float(e.evaluate(p.point)))
        assert abs(float(tc.derivative(e, "x").evaluate(p.point))) < 1e-9


def test_fixed_parameters():
    found = tc.critical_points("x^3 - 3*a*x", over={"x": (-3, 3)}, at={"a": 2})
    assert [p.point["x"] for p in found] == pytest.approx([-np.sqrt(2), np.sqrt(2)])


def test_several_variables_from_starts():
    # f = x³ − 3xy + y³: critical points (0, 0) saddle and (1, 1) minimum
    found = tc.critical_points(
        "x^3 - 3*x*y + y^3",
        start=[{"x": 0.8, "y": 1.3}, {"x": 0.2, "y": -0.1}, {"x": 1.1, "y": 0.9}],
    )
    got = sorted(
        (round(p.point["x"], 9) + 0.0, round(p.point["y"], 9) + 0.0, p.kind) for p in found
    )
    assert got == [(0.0, 0.0, "saddle point"), (1.0, 1.0, "local minimum")]


def test_vector_variable_newton():
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    f = tc.parse("0.5 * x' @ A @ x - b' @ x", {"x": 2, "A": (2, 2), "b": 2})
    f = f.subs({"A": A, "b": np.array([1.0, -1.0])})
    (p,) = tc.critical_points(f, start={"x": [5.0, 5.0]})
    np.testing.assert_allclose(p.point["x"], np.linalg.solve(A, [1.0, -1.0]))
    assert p.kind == "local minimum"
    np.testing.assert_allclose(np.sort(p.eigenvalues), np.linalg.eigvalsh(A))


def test_classify_uses_higher_derivatives_in_one_variable():
    assert tc.classify("x^4", at={"x": 0}).kind == "local minimum"
    assert tc.classify("-x^6", at={"x": 0}).kind == "local maximum"
    assert tc.classify("x^5", at={"x": 0}).kind == "inflection point"


def test_str_and_errors():
    p = tc.classify("x^2 - y^2", at={"x": 0, "y": 0})
    assert str(p) == "saddle point at x = 0, y = 0 (value 0)"
    with pytest.raises(tc.TensorCalcError, match="either over"):
        tc.critical_points("x^2")
    with pytest.raises(tc.TensorCalcError, match="a < b"):
        tc.critical_points("x^2", over={"x": (1, 0)})
    with pytest.raises(tc.TensorCalcError, match="no value given for a"):
        tc.critical_points("x^2 + a", over={"x": (0, 1)})
    with pytest.raises(tc.DifferentiationError, match="scalar expression"):
        tc.classify("x", at={"x": [1, 2]})
