"""Bounded work and the numeric traps: the derivative order and graph-size limits, the
polynomial form of σ and tanh derivatives, Taylor polynomials of high order, ``check`` at an
exact zero, ``critical`` on infinite or NaN input, and norm powers finite at 0."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import tensorcalc as tc
from conftest import central_hessian, central_jacobian
from tensorcalc.cli import main
from tensorcalc.diff import reverse
from tensorcalc.expr import postorder

# -- limits ------------------------------------------------------------------------------------


def test_order_limit_is_checked_before_any_work():
    with pytest.raises(tc.DifferentiationError, match=str(tc.MAX_ORDER)):
        tc.derivative(tc.parse("x"), "x", order=10**18)
    with pytest.raises(tc.DifferentiationError, match="MAX_ORDER"):
        tc.taylor("exp(x)", at={"x": 0}, order=tc.MAX_ORDER + 1)
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(tc.DifferentiationError, match="order"):
            tc.derivative(tc.parse("x^2"), "x", order=bad)


def test_cli_refuses_a_huge_order(capsys):
    assert main(["diff", "x", "--wrt", "x", "--order", "1000000000"]) == 2
    assert "64" in capsys.readouterr().err


def test_graph_size_limit(monkeypatch):
    f = tc.parse("sum(exp(A @ x) * sin(x))", {"A": ("n", "n")})
    monkeypatch.setattr(reverse, "MAX_NODES", 12)
    with pytest.raises(tc.DifferentiationError, match="limit of 12"):
        tc.derivative(f, "x", order=2)


# -- σ and tanh: derivatives are polynomials in the function value ----------------------------


def _sympy_derivative(text, order):
    sympy = pytest.importorskip("sympy")
    x = sympy.Symbol("x")
    fn = {"sigmoid": 1 / (1 + sympy.exp(-x)), "tanh": sympy.tanh(x), "tan": sympy.tan(x)}[text]
    return sympy.lambdify(x, sympy.diff(fn, x, order), "numpy")


@pytest.mark.parametrize("fn,order", [("sigmoid", 6), ("tanh", 6), ("tan", 5), ("sigmoid", 3)])
def test_high_order_derivatives_are_small_polynomials(fn, order):
    d = tc.derivative(tc.parse(f"{fn}(x)"), "x", order=order)
    assert len(postorder([d])) <= 5 * order + 10  # linear in the order, not exponential
    xs = np.array([-1.3, -0.2, 0.0, 0.4, 1.1])
    want = _sympy_derivative(fn, order)(xs)
    got = np.array([float(d.evaluate(x=v)) for v in xs])
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9 * np.max(np.abs(want)))


@pytest.mark.parametrize(
    "fn,order,fprime,value",
    [("tanh", 14, [1.0, 0.0, -1.0], np.tanh), ("sigmoid", 10, [0.0, 1.0, -1.0], None)],
)
def test_high_orders_against_the_chain_rule_on_coefficients(fn, order, fprime, value):
    # dᵏ f = Pₖ(f) with Pₖ₊₁(y) = Pₖ′(y) f′(y): coefficients by numpy, not by the engine
    P = np.polynomial.Polynomial([0.0, 1.0])
    for _ in range(order):
        P = P.deriv() * np.polynomial.Polynomial(fprime)
    d = tc.derivative(tc.parse(f"{fn}(x)"), "x", order=order)
    assert len(postorder([d])) <= 5 * order + 10
    value = value or (lambda v: 1 / (1 + np.exp(-v)))
    for v in (-0.7, 0.1, 0.9):
        want = P(value(v))
        assert float(d.evaluate(x=v)) == pytest.approx(want, rel=1e-8, abs=1e-8 * abs(P.coef).max())


def test_polynomial_form_reads_by_degree():
    d = tc.derivative(tc.parse("sigmoid(x)"), "x", order=3)
    assert str(d) == "sigmoid(x) - 7 * sigmoid(x)^2 + 12 * sigmoid(x)^3 - 6 * sigmoid(x)^4"
    assert str(tc.derivative(tc.parse("tanh(x)"), "x")) == "1 - tanh(x)^2"  # low degrees as built


def test_vector_sigmoid_high_order_matches_central_differences(rng):
    f = tc.parse("sum(sigmoid(x) * y)", {"x": (3,), "y": (3,)})
    vals = {"x": rng.normal(size=3), "y": rng.normal(size=3)}
    d5 = tc.derivative(f, "x", order=5)
    d4 = tc.derivative(f, "x", order=4)
    want = central_jacobian(lambda v: d4.evaluate({**vals, "x": v}), vals["x"], h=1e-5)
    np.testing.assert_allclose(d5.evaluate(vals), want, rtol=1e-5, atol=1e-7)


def test_two_variable_taylor_of_order_12():
    q = tc.taylor("exp(x - 2 * y)", at={"x": 0, "y": 0}, order=12)
    x, y = 0.3, -0.2
    t = x - 2 * y
    want = sum(t**m / math.factorial(m) for m in range(13))
    assert float(q.evaluate(x=x, y=y)) == pytest.approx(want, rel=1e-13)


def test_taylor_mixed_terms_are_weighted_by_their_orderings():
    q = tc.taylor("x^2 * y + x * y^2", at={"x": 1, "y": 1}, order=3)  # a cubic: exact
    for x, y in [(0.0, 0.0), (2.0, -1.0), (0.5, 3.0)]:
        assert float(q.evaluate(x=x, y=y)) == pytest.approx(x * x * y + x * y * y, abs=1e-12)


# -- check at an exact zero --------------------------------------------------------------------


@pytest.mark.parametrize("text,order", [("x^2", 3), ("x^3", 4), ("x^2 * y", 3)])
def test_exact_zero_derivatives_pass(text, order):
    assert tc.check(tc.parse(text), "x", order=order).passed


def test_check_cli_third_derivative_of_a_square(capsys):
    assert main(["check", "x^2", "--wrt", "x", "--order", "3"]) == 0
    assert capsys.readouterr().out.startswith("PASS")


def test_a_wrong_nonzero_third_derivative_still_fails():
    from tensorcalc.numeric.check import compare
    from tensorcalc.numeric.fd import derivative as numerical

    fun = lambda v: v**4  # noqa: E731
    expected, err = numerical(fun, np.array(0.7), 3, "richardson", full_output=True)
    assert compare(24 * 0.7, expected, err).passed
    assert not compare(24 * 0.7 * (1 + 1e-4), expected, err).passed


# -- critical on non-finite input --------------------------------------------------------------


@pytest.mark.parametrize(
    "kw",
    [
        {"over": {"x": (-math.inf, math.inf)}},
        {"over": {"x": (math.nan, 1.0)}},
        {"start": {"x": math.nan}},
        {"start": {"x": "a"}},
    ],
)
def test_critical_refuses_non_finite_input(kw):
    with pytest.raises(tc.TensorCalcError, match="finite|numeric|two numbers"):
        tc.critical_points("x^2 - 1", **kw)


def test_classify_refuses_nan():
    with pytest.raises(tc.TensorCalcError, match="finite"):
        tc.classify("x^2", at={"x": math.nan})


@pytest.mark.parametrize(
    "argv", [["--over", "x=-Infinity:Infinity"], ["--at", "x=NaN"], ["--start", "x=NaN"]]
)
def test_critical_cli_exits_2(argv, capsys):
    assert main(["critical", "x^2-1", *argv]) == 2
    err = capsys.readouterr().err
    assert "finite" in err and "Traceback" not in err


# -- powers of norms ---------------------------------------------------------------------------


@pytest.mark.parametrize("p", [3, 4, 6])
def test_norm_powers_are_finite_at_zero(p):
    f = tc.parse(f"norm(x)^{p}", {"x": (3,)})
    g = tc.derivative(f, "x")
    assert np.array_equal(g.evaluate(x=np.zeros(3)), np.zeros(3))
    if p != 3:  # the Hessian of ‖x‖³ has x xᵀ/‖x‖, a 0/0 at the origin (see the report)
        H = tc.derivative(f, "x", order=2)
        assert np.array_equal(H.evaluate(x=np.zeros(3)), np.zeros((3, 3)))


def test_norm_fourth_power_reads_as_the_math():
    f = tc.parse("norm(x)^4", {"x": ("n",)})
    assert str(f) == "norm(x)^4"
    g = tc.derivative(f, "x")  # d‖x‖⁴ = 4‖x‖² xᵀdx: no division by ‖x‖ left
    assert "/" not in str(g) and "norm" not in str(g)
    x = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(g.evaluate(x=x), 4 * (x @ x) * x)


@pytest.mark.parametrize(
    "text,shapes",
    [
        ("norm(x)^3", {"x": (3,)}),
        ("norm(x)^4", {"x": (3,)}),
        ("norm(x)^2.5", {"x": (3,)}),
        ("norm(A)^4", {"A": (2, 3)}),
        ("norm(x)^5 / norm(x)", {"x": (3,)}),
    ],
)
def test_norm_power_rules_match_central_differences(text, shapes, rng):
    f = tc.parse(text, shapes)
    (name,) = shapes
    v = rng.normal(size=shapes[name])
    fun = lambda a: f.evaluate({name: a})  # noqa: E731
    g, H = tc.derivative(f, name), tc.derivative(f, name, order=2)
    np.testing.assert_allclose(g.evaluate({name: v}), central_jacobian(fun, v), rtol=1e-6)
    np.testing.assert_allclose(H.evaluate({name: v}), central_hessian(fun, v), rtol=1e-4, atol=1e-6)


def test_minimize_norm_fourth_power_from_zero():
    r = tc.minimize("norm(x)^4", "x", x0={"x": [0.0, 0.0]}, method="newton", steps=5)
    assert "diverged" not in str(r)
    assert np.array_equal(np.asarray(r.iterates[-1]), np.zeros(2))


def test_check_refuses_orders_beyond_reach(capsys):
    with pytest.raises(tc.DifferentiationError, match="MAX_ORDER"):
        tc.check(tc.parse("x^2"), "x", order=10**9)
    from tensorcalc.numeric.fd import MAX_EVALUATIONS

    with pytest.raises(tc.TensorCalcError, match=re.escape(f"{MAX_EVALUATIONS:.0e}")):
        tc.check(tc.parse("x^2"), "x", order=9)  # 8⁹ nested Richardson calls
    assert main(["check", "x^2", "--wrt", "x", "--order", "1000000000"]) == 2
