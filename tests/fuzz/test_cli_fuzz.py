"""CLI fuzz: every subcommand with random (mostly bad) arguments exits 0, 1 or 2 with at most a
one-line error, never a traceback or an ``internal error``."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tensorcalc.cli import build_parser, main

from .strategies import ODD_TOKENS

# every subcommand but serve, which would start serving (its arguments are tested below)
COMMANDS = sorted(set(build_parser()._subparsers._group_actions[0].choices) - {"serve"})
BAD = st.sampled_from(
    ["", "x", "-1", "0", "1e309", "nan", "NaN", "-Infinity", "x=", "x=a", 'x="a"', "x={}",
     "x=[1,", "x=[[1],[2,3]]", "=1", "1x=2", "x=1:0", "x=-inf:inf", "A=n,,n", "A=1.5", "A=²",
     "A=99999999,99999999", "A=-1", "x.unknownext", "/proc/version", "/dev/full", "-o", "--",
     "99999999999999999999", "x=1,y=", "ｘ=1", "x=1e400", "3", "x^2", "x' @ A @ x"]
    + ODD_TOKENS
)  # fmt: skip
FLAGS = st.sampled_from(
    ["--wrt", "--order", "--shape", "--at", "--seed", "--over", "--start", "--x0", "--method",
     "--lr", "--beta", "--steps", "--tol", "-o", "--taylor", "--dpi", "--kind", "--layout",
     "--gradient", "--latex", "--json", "--help"]
)  # fmt: skip
EXPRESSIONS = st.sampled_from(["x^2", "x^2 + y^2", "3", "x' @ A @ x", "sin(x) * y", "x +", "ｘ^2"])


@st.composite
def argvs(draw):
    argv = [draw(st.sampled_from(COMMANDS)), draw(st.one_of(EXPRESSIONS, BAD))]
    for _ in range(draw(st.integers(0, 5))):
        argv += [draw(FLAGS), draw(st.one_of(BAD, st.sampled_from(["x", "2", "x=1", "x=-1:1"])))]
    return argv


@settings(
    max_examples=150, derandomize=True, deadline=None, database=None, phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)  # fmt: skip
@given(argvs())
def test_cli_never_shows_a_traceback(argv):
    code, err = _run_in_process(argv)
    assert code in (0, 1, 2), argv
    assert "Traceback" not in err and "internal error" not in err, (argv, err)
    if code == 2:
        assert len(err.strip().splitlines()) >= 1
        assert err.startswith("error:") or "\nerror:" in err or "usage" not in err, (argv, err)


def _run_in_process(argv):
    import contextlib
    import io
    import tempfile

    err = io.StringIO()
    with tempfile.TemporaryDirectory() as tmp:
        argv = [os.path.join(tmp, "p.png") if a.endswith(".png") else a for a in argv]
        cwd = os.getcwd()
        os.chdir(tmp)  # a relative -o lands in the scratch directory
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                code = main(argv)
        finally:
            os.chdir(cwd)
    return code, err.getvalue()


@pytest.mark.parametrize(
    "argv",
    [
        ["diff", "x^2", "--wrt", "x", "--order", "abc"],
        ["plot", "x^2", "--dpi", "0", "-o", "p.png"],
        ["taylor", "x^2", "--at", "x={}"],
        ["check", "x +", "--wrt", "x"],
        ["serve", "--port", "0"],
        ["serve", "--port", "http"],
        ["explain", "x^2", "--wrt", "x", "--order", "-2"],
    ],
)
def test_cli_subprocess_one_line_exit_2(argv):
    proc = subprocess.run(
        [sys.executable, "-m", "tensorcalc", *argv], capture_output=True, text=True, check=False,
        env={**os.environ, "TC_DEBUG": ""},
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stdout == "" and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error:")
