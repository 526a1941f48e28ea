"""The IR's constructors (tensorcalc.build): selections are canonical, so a slice of a slice is
one selection and ``x[::1]`` is ``x`` itself; every case is checked against NumPy's slicing."""

from __future__ import annotations

import numpy as np
import pytest

import tensorcalc as tc
from conftest import central_jacobian
from tensorcalc import build as b
from tensorcalc.ops import Op
from tensorcalc.simplify import is_symmetric

N = 7

# two slices applied one after the other, as Python reads x[s1][s2]
CHAINS = [
    (slice(None, None, -1), slice(None, None, -1)),
    (slice(1, 6), slice(None, None, 2)),
    (slice(None, None, 2), slice(None, None, -1)),
    (slice(6, 0, -2), slice(1, 3)),
    (slice(2, 7, 3), slice(1, 2)),
    (slice(None, None, -1), slice(2, 5)),
]


def _selects(e):
    return [a for a in _nodes(e) if a.op is Op.SELECT]


def _nodes(e):
    yield e
    for a in e.args:
        yield from _nodes(a)


@pytest.mark.parametrize("s1, s2", CHAINS)
def test_a_slice_of_a_slice_is_one_selection_with_numpys_values(s1, s2, rng):
    x = tc.vector("x", N)
    e = x[s1][s2]
    v = rng.standard_normal(N)
    np.testing.assert_array_equal(tc.evaluate(e, x=v), v[s1][s2])
    np.testing.assert_array_equal(tc.compile(e)(x=v), v[s1][s2])
    assert len(_selects(e)) <= 1


def test_a_reversed_reversal_and_a_full_slice_are_the_variable_itself():
    x = tc.vector("x", N)
    assert x[::-1][::-1] is x
    assert x[0:N] is x
    assert b.select(N, N, 0, 1) is b.eye(N)


def test_a_single_row_has_one_spelling():
    assert b.select(1, N, 3, 2) is b.select(1, N, 3, 1) is b.select(1, N, 3, -4)
    x = tc.vector("x", N)
    assert x[3:4] is x[3:4:5]


def test_a_selection_read_back_from_its_text_is_the_same_node(rng):
    x = tc.vector("x", N)
    for s1, s2 in CHAINS:
        e = x[s1][s2]
        assert tc.parse(str(e), {"x": (N,)}) is e


def test_the_gradient_through_two_slices_scatters_into_the_right_entries(rng):
    x = tc.vector("x", N)
    w = rng.standard_normal(3)
    f = tc.parse("w' @ x[6:0:-2][::-1]", {"x": (N,), "w": (3,)})
    g = np.zeros(N)
    g[[2, 4, 6]] = w  # x[6:0:-2][::-1] = (x₂, x₄, x₆)
    got = tc.evaluate(tc.derivative(f, "x"), x=rng.standard_normal(N), w=w)
    np.testing.assert_array_equal(got, g)
    assert x[6:0:-2][::-1].shape == (3,)


def test_the_reversal_is_symmetric_and_a_proper_selection_is_not():
    assert is_symmetric(b.select(N, N, N - 1, -1))
    assert not is_symmetric(b.select(3, N, 0, 2))
    assert not is_symmetric(b.select(1, 1, 0, 1)) or b.select(1, 1, 0, 1) is b.eye(1)


def test_a_power_of_the_identity_is_the_identity_and_stays_placed():
    assert b.pow_(b.eye(3), b.const(2.0, ())) is b.eye(3)
    assert b.pow_(b.eye(3), b.const(0.5, ())) is b.eye(3)
    f = tc.parse("eye(3)^2 * (1 / diag(x))", {"x": (3,)})
    x = np.array([1.0, 2.0, 4.0])
    with np.errstate(all="ignore"):
        want = tc.evaluate(f, x=x)
        got = tc.compile(f)(x=x)
    np.testing.assert_array_equal(want, np.diag(1 / x))  # 0 off the diagonal, as eye(3) * …
    np.testing.assert_array_equal(got, want)
    assert str(tc.parse("eye(3)^-1", {})) == "eye(3)^(-1)"  # 0^-1 = inf off the diagonal: kept


# Hessians through slices: two copies of one selection S meet in S' diag(v) S (S[a, c] S[b, c] =
# δ_ab S[a, c]); each against central differences of the gradient, and the reversal's is diag
PAIRED = [
    ("sum(sin(x[::-1]))", {"x": (5,)}, "x"),
    ("sum(sin(x[1:4]))", {"x": (5,)}, "x"),
    ("sum(exp(x[::2]) * x[::2])", {"x": (5,)}, "x"),
    ("sum(sin(A[::-1, 1:]))", {"A": (3, 4)}, "A"),
    ("sum(x[1:3] * x[1:3])", {"x": (4,)}, "x"),
]


@pytest.mark.parametrize("text,shapes,wrt", PAIRED, ids=[p[0] for p in PAIRED])
def test_hessians_through_paired_selections_match_central_differences(text, shapes, wrt, rng):
    f = tc.parse(text, shapes)
    g, h = tc.derivative(f, wrt), tc.derivative(f, wrt, order=2)
    vals = {k: rng.standard_normal(s) for k, s in shapes.items()}
    want = central_jacobian(lambda v: tc.evaluate(g, **{**vals, wrt: v}), vals[wrt])
    np.testing.assert_allclose(tc.evaluate(h, **vals), want, atol=1e-7)
    np.testing.assert_allclose(tc.compile(h)(**vals), want, atol=1e-7)


def test_the_hessian_through_a_reversal_is_a_diagonal(rng):
    h = tc.derivative(tc.parse("sum(sin(x[::-1]))", {"x": (5,)}), "x", order=2)
    x = rng.standard_normal(5)
    np.testing.assert_allclose(tc.evaluate(h, x=x), -np.diag(np.sin(x)), rtol=1e-14)
    assert str(h) == "-diag(sin(x))"  # J diag(sin(Jx)) J, J the reversal


def test_a_slice_of_an_elementwise_function_of_a_slice_is_one_slice(rng):
    x = tc.vector("x", N)
    assert tc.sin(x[::-1])[::-1] is tc.sin(x)
    assert tc.exp(x[1:6])[::2] is tc.exp(x[1:6:2])
    v = rng.standard_normal(N)
    np.testing.assert_allclose(tc.evaluate(tc.exp(x[6:0:-1])[1:4], x=v), np.exp(v[6:0:-1])[1:4])
