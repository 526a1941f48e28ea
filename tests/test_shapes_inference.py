"""Shapes without declarations, end to end: the CLI and the API just work on the README's
examples, say what they assumed, and hint with shapes that work in the caller's syntax."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tensorcalc as tc
from conftest import assert_close, central_jacobian
from tensorcalc.cli import main


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


CLI = [
    (["x' @ A @ x", "--wrt", "x"], ["(A + A') @ x", "shape: (n,)", "where x: n, A: n×n"]),
    (
        ["sum(log(1 + exp(-y * (X @ w))))", "--wrt", "w"],
        ["-X' @ (sigmoid(-y * (X @ w)) * y)", "shape: (m,)", "where y: n, X: n×m, w: m"],
    ),
]


@pytest.mark.parametrize("argv,lines", CLI)
def test_cli_needs_no_shapes(capsys, argv, lines):
    rc, out, err = run(capsys, "diff", *argv)
    assert rc == 0, err
    assert out.splitlines() == lines


def test_cli_gram_matrix(capsys):
    rc, out, _ = run(capsys, "diff", "R' @ R", "--wrt", "R", "--json")
    data = json.loads(out)
    assert rc == 0 and data["assumed"] == {"R": ["n", "m"]}
    assert data["shape"] == ["m", "m", "n", "m"]


def test_cli_latex_input(capsys):
    rc, out, _ = run(capsys, "diff", r"\mathbf{x}^\top A \mathbf{x}", "--wrt", "x", "--latex-input")
    assert rc == 0
    assert out.splitlines()[0] == "(A + A') @ x"
    rc, _, err = run(capsys, "diff", r"\frac{a}{", "--wrt", "a", "--latex-input")
    assert rc == 2 and "operand is missing" in err and "Traceback" not in err


def test_cli_hint_is_in_cli_syntax(capsys):
    rc, _, err = run(capsys, "diff", "inv(A) @ x", "--wrt", "x", "--shape", "A=n")
    assert rc == 2
    assert "--shape A=n,n --shape x=n" in err and "shapes={" not in err


def test_python_hint_is_a_dict():
    with pytest.raises(tc.ShapeError, match=r"shapes=\{'A': \('n', 'n'\), 'x': \('n',\)\}"):
        tc.parse("inv(A) @ x", {"A": "n"})


def test_inferred_gradient_is_right(rng):
    f = tc.parse("sum(log(1 + exp(-y * (X @ w))))")
    g = tc.derivative(f, "w")
    vals = {"X": rng.normal(size=(5, 3)), "y": rng.choice([-1.0, 1.0], 5), "w": rng.normal(size=3)}
    fd = central_jacobian(lambda w: f.evaluate({**vals, "w": w}), vals["w"])
    assert_close(g.evaluate(vals), fd)


def test_evaluate_binds_sizes_from_inputs_the_derivative_lost(rng):
    d = tc.derivative(tc.parse("A @ x", {"A": "M,N", "x": "N"}), "A")  # has no A
    A, x = rng.normal(size=(2, 3)), rng.normal(size=3)
    expect = np.einsum("ik,l->ikl", np.eye(2), x)
    assert_close(d.evaluate({"A": A, "x": x}), expect)
    assert_close(tc.compile(d)(A=A, x=x), expect)
    with pytest.raises(tc.EvaluationError, match="'A' should have 2 axes"):
        d.evaluate({"A": np.ones(3), "x": x})


def test_readme_examples_need_no_shapes():
    assert str(tc.gradient("norm(X - U @ V)^2", "U")) == "-2 * (X - U @ V) @ V'"
    assert str(tc.hessian("norm(y - Phi @ theta)^2", "theta")) == "2 * Phi' @ Phi"
    assert str(tc.jacobian("A @ x", "x")) == "A"
    assert (
        str(tc.solve_stationary("norm(y - Phi @ theta)^2", "theta"))
        == "solve(Phi' @ Phi, Phi' @ y)"
    )
    assert repr(tc.derivative("x' @ A @ x", "x")) == (
        "Expr(\"(A + A') @ x\", shape=('n',), where x: n, A: n×n)"
    )
