"""The command line: output, JSON, LaTeX and exit code 2 with a caret on bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from tensorcalc.cli import main


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_diff_prints_derivative_and_shape(capsys):
    rc, out, _ = run(capsys, "diff", "x' @ A @ x", "--wrt", "x", "--shape", "A=n,n")
    assert rc == 0
    assert out.splitlines() == ["(A + A') @ x", "shape: (n,)"]  # x is determined by A


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


# -- analysis commands (issue 6) ----------------------------------------------------------------


def test_taylor_command(capsys):
    code, out, _ = run(capsys, "taylor", "x * exp(-x^2 - y^2)", "--at", "x=-1", "--at", "y=0")
    assert code == 0
    e = repr(float(np.exp(-1)))
    assert out.strip() == f"-{e} - {e} * (x + 1) + {e} * (x + 1)^2 + {e} * y^2"
    code, out, _ = run(capsys, "taylor", "sum(exp(x))", "--at", "x=[0,1]", "--order", "1")
    assert out.strip() == f"{1 + np.e!r} + [1, {np.e!r}]' @ (x - [0, 1])"


def test_critical_command(capsys):
    code, out, _ = run(capsys, "critical", "3*x^4 - 4*x^3 - 12*x^2", "--over", "x=-3:3")
    assert code == 0
    assert out.splitlines() == [
        "local minimum at x = -1 (value -5)",
        "local maximum at x = 0 (value 0)",
        "global minimum at x = 2 (value -32)",
    ]
    code, out, _ = run(capsys, "critical", "x^2*y + x*y^2", "--at", "x=0", "--at", "y=0")
    assert out.strip() == "inconclusive at x = 0, y = 0 (value 0)"
    code, out, _ = run(capsys, "critical", "x^3 - 3*x*y + y^3", "--start", "x=0.8,y=1.3")
    assert out.strip() == "local minimum at x = 1, y = 1 (value -1)"


def test_minimize_command(capsys):
    code, out, _ = run(
        capsys, "minimize", "x^2 - 4*x + 3", "--wrt", "x", "--x0", "x=4", "--steps", "3"
    )
    assert code == 0
    rows = [line.split() for line in out.splitlines()[2:]]
    assert [float(r[1]) for r in rows] == pytest.approx([4, 3.6, 3.28, 3.024])


def test_plot_command(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "seed.png"
    argv = ["plot", "x * exp(-x^2 - y^2)", "--taylor", "x=-1", "--taylor", "y=0", "-o", str(path)]
    code, out, _ = run(capsys, *argv)
    assert code == 0 and path.read_bytes()[:4] == b"\x89PNG"
    assert out.strip() == f"wrote {path}"


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["taylor", "x^2", "--at", "z=0"], "no variable 'z'"),
        (["critical", "x^2 + a", "--over", "x=0:1"], "no value given for a"),
        (["minimize", "x^2", "--wrt", "x", "--x0", "y=1"], "x0 must give"),
    ],
)
def test_analysis_errors_exit_2(capsys, argv, needle):
    code, _, err = run(capsys, *argv)
    assert code == 2 and needle in err


def test_syntax_matlab(capsys):
    rc, out, err = run(capsys, "diff", "norm2(A*x - y)^2", "--wrt", "x", "--syntax", "matlab")
    assert rc == 0 and err == ""
    assert out.splitlines()[:2] == ["2 * A' @ (A @ x - y)", "shape: (m,)"]


def test_star_note_on_stderr(capsys):
    rc, out, err = run(capsys, "diff", "x'*A*x", "--wrt", "x", "--json")
    assert rc == 0
    note = "read `*` as elementwise; for the matrix product write `@` or switch to MATLAB syntax"
    assert err == f"note: {note}\n"
    assert json.loads(out)["notes"] == [note]
    rc, _, err = run(capsys, "check", "x'*A*x", "--wrt", "x", "--syntax", "matlab")
    assert rc == 0 and err == ""
