"""Every derivative rule against central differences of the function itself (float64, random
inputs, first and second order).  Each op in the table gets an expression whose inputs are in
its domain; ``test_registry`` checks the table covers every op."""

from __future__ import annotations

import numpy as np
import pytest

import tensorcalc as tc
from conftest import assert_close, central_hessian, central_jacobian, expr_fun
from tensorcalc.expr import variables
from tensorcalc.ops import Op

N = 3
# op -> (expression, shapes, variable, value generator)
VEC = {"x": (N,)}
MAT = {"X": (N, N)}


def _vec(rng):
    return {"x": rng.uniform(-0.9, 0.9, N)}


def _pos(rng):
    return {"x": rng.uniform(0.3, 2.0, N)}


def _mat(rng):
    return {"X": rng.normal(size=(N, N)) * 0.3 + 2 * np.eye(N)}


def _sym_mat(rng):
    return {"X": np.diag([1.0, 2.5, 4.0]) + rng.normal(size=(N, N)) * 0.2}  # distinct eigenvalues


def _sym_vals(rng):
    return {**_sym_mat(rng), **_vec(rng)}


CASES = {
    Op.VAR: ("x", VEC, "x", _vec),
    Op.CONST: ("2 * x + 3", VEC, "x", _vec),
    Op.EYE: ("eye(3) @ x", VEC, "x", _vec),
    Op.SELECT: ("x[1:3] * x[0:2]", VEC, "x", _vec),
    Op.ARRAY: ("[1, -2, 0.5] * x + [[1, 2, 0], [0, 1, 0], [3, 0, 1]] @ exp(x)", VEC, "x", _vec),
    Op.EINSUM: ('einsum("ij,jk,k->i", X, X, ones(3))', MAT, "X", _mat),
    Op.ADD: ("x + x * x", VEC, "x", _vec),
    Op.EXP: ("exp(x)", VEC, "x", _vec),
    Op.LOG: ("log(x)", VEC, "x", _pos),
    Op.SIN: ("sin(x)", VEC, "x", _vec),
    Op.COS: ("cos(x)", VEC, "x", _vec),
    Op.TAN: ("tan(x)", VEC, "x", _vec),
    Op.ARCSIN: ("arcsin(x)", VEC, "x", _vec),
    Op.ARCCOS: ("arccos(x)", VEC, "x", _vec),
    Op.ARCTAN: ("arctan(x)", VEC, "x", _vec),
    Op.TANH: ("tanh(x)", VEC, "x", _vec),
    Op.SQRT: ("sqrt(x)", VEC, "x", _pos),
    Op.ABS: ("abs(x)", VEC, "x", _pos),
    Op.SIGN: ("sign(x) * x", VEC, "x", _pos),
    Op.STEP: ("step(x) * x^2", VEC, "x", _pos),
    Op.RELU: ("relu(x)^2", VEC, "x", _pos),
    Op.SIGMOID: ("sigmoid(x)", VEC, "x", _vec),
    Op.SOFTPLUS: ("softplus(x)", VEC, "x", _vec),
    Op.LOG1P: ("log1p(x)", VEC, "x", _vec),
    Op.POW: ("x^x + x^3 + 2^x", VEC, "x", _pos),
    Op.DIV: ("x / (2 + x * x)", VEC, "x", _vec),
    Op.INV: ("inv(X)", MAT, "X", _mat),
    Op.DET: ("det(X)", MAT, "X", _mat),
    Op.LOGDET: ("logdet(X)", MAT, "X", _mat),
    Op.NORM: ("norm(x)", VEC, "x", _pos),
    Op.UNIT: ("unit(x) * exp(x)", VEC, "x", _vec),
    Op.SOFTMAX: ("softmax(x)", VEC, "x", _vec),
    Op.LOGSUMEXP: ("logsumexp(x)", VEC, "x", _vec),
    Op.CHOLESKY: ("cholesky(X @ X')", MAT, "X", _mat),
    Op.PHI: ("phi(X @ X)", MAT, "X", _mat),
    Op.EIGVALSH: ("eigvalsh(X + X') * exp(x)", {**VEC, **MAT}, "X", _sym_vals),
    Op.EIGVECSH: ("sum(eigvecsh(X + X')^2 * X)", MAT, "X", _sym_mat),
    Op.SVDVALS: ("svdvals(X)", MAT, "X", _mat),
    Op.PINV: ("pinv(X)", MAT, "X", _mat),
    Op.EXPM: ("expm(X) @ expm(X')", MAT, "X", _mat),
    Op.EXPM_FRECHET: ("expm_frechet(X, X @ X, X')", MAT, "X", _mat),
    Op.STACK: ("[x[0] * x[1], sin(x[2]), x[0]^2] * exp(x)", VEC, "x", _vec),
    Op.RESHAPE: ("reshape(X, 9) * exp(reshape(X', (9,)))", MAT, "X", _mat),
    Op.KRON: ("kron(x, sin(x))", VEC, "x", _vec),
    Op.COMMUTATION: ("commutation(3, 3) @ vec(X * X)", MAT, "X", _mat),
}

# linear and structural maps whose derivatives are pure index bookkeeping
STRUCTURAL = [
    ("X'", MAT, "X", _mat),
    ("tr(X)", MAT, "X", _mat),
    ("diag(X)", MAT, "X", _mat),
    ("diag(x)", VEC, "x", _vec),
    ("sum(X, 0)", MAT, "X", _mat),
    ("sum(X, 1)", MAT, "X", _mat),
    ("sum(X)", MAT, "X", _mat),
    ("X @ X", MAT, "X", _mat),
    ("outer(x, x)", VEC, "x", _vec),
    ("x @ x'", VEC, "x", _vec),
    ("dot(x, x)", VEC, "x", _vec),
    ("norm1(x)", VEC, "x", _pos),
    ("X * X'", MAT, "X", _mat),
    ("tr(X @ X' @ X)", MAT, "X", _mat),
    ("logdet(X) * det(X) + tr(inv(X))", MAT, "X", _mat),
    ("inv(X) @ inv(X)'", MAT, "X", _mat),
    ("solve(X, X' @ X)", MAT, "X", _mat),
    ("softmax(X, 1)", MAT, "X", _mat),  # row-wise reductions
    ("softmax(X, 0) * X", MAT, "X", _mat),
    ("logsumexp(X, 1)", MAT, "X", _mat),
    ("logsumexp(X, axis=0) @ X", MAT, "X", _mat),
    ("mean(X) * mean(X, 0) + mean(X, 1)", MAT, "X", _mat),
    ("softmax(X @ X' / 2, 1) @ X", MAT, "X", _mat),  # attention with Q = K = V = X
    ("unit(X) @ X", MAT, "X", _mat),  # X / ‖X‖_F
    ("[[x[0], x[1], 1], [x[2], x[0] * x[1], 0], [2, x[1], x[2]]] @ x", VEC, "x", _vec),  # [[..]]
    ("[[X[0, 0], X[1, 2]], [sin(X[2, 1]), 1]]' @ X[0:2, 0]", MAT, "X", _mat),
]


def test_every_op_has_a_case():
    assert set(CASES) == set(Op)


ALL = [pytest.param(*c, id=op.value) for op, c in CASES.items()] + [
    pytest.param(*c, id=c[0]) for c in STRUCTURAL
]


@pytest.mark.parametrize("text,shapes,wrt,gen", ALL)
@pytest.mark.parametrize("seed", [0, 1])
def test_first_derivative(text, shapes, wrt, gen, seed):
    rng = np.random.default_rng(seed)
    f = tc.parse(text, shapes)
    vals = gen(rng)
    d = tc.derivative(f, wrt)
    assert d.shape == f.shape + variables(f)[wrt].shape
    fd = central_jacobian(expr_fun(f, vals, wrt), vals[wrt])
    assert_close(d.evaluate(vals, dims={"n": N}), fd)


@pytest.mark.parametrize("text,shapes,wrt,gen", ALL)
def test_second_derivative(text, shapes, wrt, gen):
    rng = np.random.default_rng(7)
    f = tc.parse(text, shapes)
    vals = gen(rng)
    H = tc.derivative(f, wrt, order=2)
    fd = central_hessian(expr_fun(f, vals, wrt), vals[wrt])
    assert_close(H.evaluate(vals), fd, rtol=1e-4, atol=1e-5)


def test_third_derivative_of_cubic():
    d3 = tc.derivative("x^3 - 2*x^2", "x", order=3)
    assert str(d3) == "6"
    rng = np.random.default_rng(3)
    x = rng.normal(size=N)
    f = tc.parse("(x' @ x)^2", {"x": (N,)})
    T = tc.derivative(f, "x", order=3).evaluate(x=x)
    # closed form: ∂³(xᵀx)²/∂xᵢ∂xⱼ∂xₖ = 8(δᵢⱼxₖ + δᵢₖxⱼ + δⱼₖxᵢ)
    I = np.eye(N)
    expected = 8 * (
        np.einsum("ij,k->ijk", I, x) + np.einsum("ik,j->ijk", I, x) + np.einsum("jk,i->ijk", I, x)
    )
    assert_close(T, expected)


def test_fourth_order_matrix_function():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(2, 2)) * 0.2 + 2 * np.eye(2)
    f = tc.parse("logdet(X)", {"X": (2, 2)})
    H = tc.derivative(f, "X", order=2)
    g = tc.derivative(f, "X")
    fd = central_jacobian(expr_fun(g, {}, "X"), X)
    assert_close(H.evaluate(X=X), fd)
    T3 = tc.derivative(f, "X", order=3)
    fd3 = central_jacobian(expr_fun(H, {}, "X"), X)
    assert T3.shape == (2,) * 6
    assert_close(T3.evaluate(X=X), fd3, rtol=1e-4)


def test_nonsmooth_points_documented_values():
    # relu'(0) and |x|'(0) are taken as 0 (step(0) = 0, sign(0) = 0)
    assert float(tc.derivative("relu(x)", "x").evaluate(x=0.0)) == 0.0
    assert float(tc.derivative("abs(x)", "x").evaluate(x=0.0)) == 0.0
    assert float(tc.derivative("relu(x)", "x").evaluate(x=2.0)) == 1.0
    assert float(tc.derivative("abs(x)", "x").evaluate(x=-2.0)) == -1.0
