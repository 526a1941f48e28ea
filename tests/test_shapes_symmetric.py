"""Symmetric matrix variables: S' = S when built, and derivatives in both conventions, checked
against central differences along symmetric perturbations and the Matrix Cookbook."""

from __future__ import annotations

import numpy as np
import pytest

import tensorcalc as tc
from conftest import assert_close
from tensorcalc.cli import main

SHAPES = {"S": ("n", "n", "symmetric"), "x": "n", "A": "n,n"}
N = 3
FUNCS = [
    "x' @ S @ x",
    "tr(S @ A)",
    "logdet(S)",
    "tr(S @ S @ A)",
    "x' @ inv(S) @ x",
    "det(S)",
    "sum(exp(S))",
    "norm(S @ x)^2 + tr(A @ S')",
]


def values(rng):
    M = rng.normal(size=(N, N))
    return {"S": M @ M.T + N * np.eye(N), "x": rng.normal(size=N), "A": rng.normal(size=(N, N))}


def directional(f, vals, E, h=1e-5):
    """(f(S + hE) - f(S - hE)) / 2h: central differences along a symmetric direction E."""
    up = f.evaluate({**vals, "S": vals["S"] + h * E})
    down = f.evaluate({**vals, "S": vals["S"] - h * E})
    return (up - down) / (2 * h)


def test_transpose_of_a_symmetric_variable_is_itself():
    S = tc.parse("S", SHAPES)
    assert tc.parse("S'", SHAPES) is S
    assert tc.parse("x' @ S' @ x", SHAPES) is tc.parse("x' @ S @ x", SHAPES)
    assert tc.parse("inv(S)'", SHAPES) is tc.parse("inv(S)", SHAPES)
    assert tc.parse("S'", {"S": "n,n,sym"}) is S  # the CLI's spelling
    with pytest.raises(tc.ShapeError, match="square matrix"):
        tc.parse("S", {"S": ("n", "m", "symmetric")})


@pytest.mark.parametrize("text", FUNCS)
def test_default_is_the_gradient_on_symmetric_matrices(text, rng):
    f = tc.parse(text, SHAPES)
    g = tc.derivative(f, "S")
    vals = values(rng)
    G = g.evaluate(vals)
    assert_close(G, G.T, rtol=1e-10)  # a symmetric matrix itself
    for _ in range(3):
        E = rng.normal(size=(N, N))
        E = E + E.T  # df = <G, E> for symmetric directions
        assert_close(np.sum(G * E), directional(f, vals, E), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("text", FUNCS)
def test_cookbook_is_the_derivative_wrt_independent_entries(text, rng):
    f = tc.parse(text, SHAPES)
    C = tc.derivative(f, "S", symmetric="cookbook").evaluate(vals := values(rng))
    for i in range(N):
        for j in range(N):
            E = np.zeros((N, N))
            E[i, j] = E[j, i] = 1.0  # S_ij and S_ji are one entry
            assert C[i, j] == pytest.approx(directional(f, vals, E), rel=1e-6, abs=1e-7)


def test_cookbook_closed_forms(rng):
    vals = values(rng)
    Si = np.linalg.inv(vals["S"])
    logdet = tc.parse("logdet(S)", SHAPES)
    assert_close(tc.derivative(logdet, "S").evaluate(vals), Si)
    cookbook = tc.derivative(logdet, "S", symmetric="cookbook")
    assert_close(cookbook.evaluate(vals), 2 * Si - np.diag(np.diag(Si)))  # Cookbook (141)
    A = vals["A"]
    tr = tc.parse("tr(A @ S)", SHAPES)  # Cookbook (102) symmetric: A + A' - diag(A)
    assert_close(
        tc.gradient(tr, "S", symmetric="cookbook").evaluate(vals), A + A.T - np.diag(np.diag(A))
    )
    assert_close(tc.gradient(tr, "S").evaluate(vals), (A + A.T) / 2)


def test_second_derivative_along_symmetric_directions(rng):
    f = tc.parse("logdet(S) + x' @ S @ S @ x", SHAPES)
    H = tc.hessian(f, "S").evaluate(vals := values(rng))
    E, F = (m + m.T for m in (rng.normal(size=(N, N)), rng.normal(size=(N, N))))
    g = tc.derivative(f, "S")
    fd = np.sum(directional(g, vals, F) * E)
    assert np.einsum("ijkl,ij,kl->", H, E, F) == pytest.approx(fd, rel=1e-6)


def test_bad_mode_and_asymmetric_values(rng):
    f = tc.parse("logdet(S)", SHAPES)
    with pytest.raises(tc.DifferentiationError, match="symmetric must be one of"):
        tc.derivative(f, "S", symmetric="upper")
    with pytest.raises(tc.EvaluationError, match="declared symmetric"):
        f.evaluate({"S": rng.normal(size=(N, N))})


def test_cli_symmetric(capsys):
    rc = main(["diff", "logdet(S)", "--wrt", "S", "--shape", "S=n,n,sym"])
    out, _ = capsys.readouterr()
    assert rc == 0 and out.splitlines()[0] == "inv(S)"
    rc = main(
        ["diff", "logdet(S)", "--wrt", "S", "--shape", "S=n,n,sym", "--symmetric", "cookbook"]
    )
    out, _ = capsys.readouterr()
    assert rc == 0 and out.splitlines()[0] == "2 * inv(S) - diag(diag(inv(S)))"


def test_symmetry_simplifies_derivatives():
    assert str(tc.derivative("x' @ S @ x", "x", shapes=SHAPES)) == "2 * S @ x"  # (S + S')x
    assert str(tc.parse("S @ S'", SHAPES)) == "S @ S"
    assert str(tc.gradient("logdet(S)", "S", shapes=SHAPES)) == "inv(S)"
