"""The command line: output, JSON, LaTeX and exit code 2 with a caret on bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tensorcalc.cli import main


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_diff_prints_derivative_and_shape(capsys):
    rc, out, _ = run(capsys, "diff", "x' @ A @ x", "--wrt", "x", "--shape", "A=n,n")
    assert rc == 0
    assert out.splitlines() == ["(A + A') @ x", "shape: (n,)"]


def test_hessian_json(capsys):
    rc, out, _ = run(
        capsys, "diff", "x' @ A @ x", "--wrt", "x", "--order", "2", "--shape", "A=n,n", "--json"
    )
    data = json.loads(out)
    assert rc == 0
    assert data["derivative"] == "A + A'"
    assert data["shape"] == ["n", "n"]
    assert data["latex"] == "A + A^\\top"


def test_latex_and_layout(capsys):
    rc, out, _ = run(
        capsys, "diff", "norm(y - Phi @ theta)^2", "--wrt", "theta", "--shape", "Phi=N,D", "--latex"
    )
    assert rc == 0
    assert out.strip() == r"-2 \Phi^\top \left(y - \Phi \theta\right)"
    rc, out, _ = run(
        capsys, "diff", "x' @ x", "--wrt", "x", "--shape", "x=n", "--layout", "numerator"
    )
    assert out.splitlines()[-1] == "shape: (1, n)"


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["diff", "x' @ A @@ x", "--wrt", "x"], "          ^"),
        (["diff", "x^2", "--wrt", "z"], "no variable 'z'"),
        (["diff", "A @ x", "--wrt", "x", "--shape", "A=2,3", "--shape", "x=4"], "shape error in @"),
    ],
)
def test_bad_input_exits_2(capsys, argv, needle):
    rc, out, err = run(capsys, *argv)
    assert rc == 2
    assert out == ""
    assert needle in err


def test_console_entry_point_runs():
    proc = subprocess.run(
        [sys.executable, "-m", "tensorcalc", "diff", "sin(x)^2", "--wrt", "x"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0
    assert proc.stdout.splitlines() == ["2 * cos(x) * sin(x)", "shape: ()"]


def test_check_command(capsys):
    rc, out, _ = run(capsys, "check", "logdet(X)", "--wrt", "X", "--shape", "X=n,n")
    assert rc == 0
    assert out.startswith("PASS: d/dX of logdet(X)")
    assert "error estimate" in out
    rc, out, _ = run(capsys, "check", "x * exp(-x^2 - y^2)", "--wrt", "x", "--order", "2")
    assert rc == 0 and "PASS" in out
    rc, _, err = run(capsys, "check", "x +", "--wrt", "x")
    assert rc == 2 and "^" in err
