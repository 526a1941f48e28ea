"""The backends that compile (JAX's jit, TensorFlow's tf.function) and MXNet, whose generated
module runs in a Python environment of its own: seed 002's backpropagation example against
each framework's own autodiff, and the rule cases against the reference evaluator."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import tensorcalc as tc
import test_axes
import test_batched
import test_expm
import test_linalg
import test_reshape
from conftest import assert_close
from tensorcalc.codegen import BACKENDS
from test_rules import ALL

# seed 002: w, x, y, z = -1, 0, -2, 1 gives f = 1024 and four partials of -4096
SEED_002 = "(((w+x+y+z)^2 + (w+x-y-z)^2)^2 + ((w+x+y+z)^2 - (w+x-y-z)^2)^2)^2"
POINT = {"w": -1.0, "x": 0.0, "y": -2.0, "z": 1.0}


def _seed_outputs():
    f = tc.parse(SEED_002, {})
    return [f] + [tc.derivative(f, v) for v in "wxyz"]


def test_tensorflow_seed_002_matches_gradient_tape():
    tf = pytest.importorskip("tensorflow")
    got = tc.compile(_seed_outputs(), "tensorflow")(**POINT)
    w, x, y, z = (tf.Variable(POINT[k], dtype=tf.float64) for k in "wxyz")
    with tf.GradientTape(persistent=True) as tape:  # the seed's code
        a = (w + x + y + z) ** 2
        b = (w + x - y - z) ** 2
        u = (a + b) ** 2
        v = (a - b) ** 2
        f = (u + v) ** 2
    tape_grads = [tape.gradient(f, t).numpy() for t in (w, x, y, z)]
    assert [float(g) for g in got] == [1024.0, -4096.0, -4096.0, -4096.0, -4096.0]
    assert [float(g) for g in got[1:]] == [float(g) for g in tape_grads]
    assert float(f.numpy()) == float(got[0])


def test_tensorflow_is_a_graph_and_keeps_float64(rng):
    tf = pytest.importorskip("tensorflow")
    f = tc.parse("sum(log(1 + exp(-y * (X @ w))))", {"X": ("N", "D")})
    g = tc.derivative(f, "w")
    c = tc.compile([g, tc.derivative(f, "w", order=2)], "tensorflow")
    X, y, w = rng.normal(size=(30, 4)), rng.choice([-1.0, 1.0], 30), rng.normal(size=4)
    grad, hess = c(X=X, y=y, w=w)
    assert isinstance(grad, tf.Tensor) and grad.dtype == tf.float64
    assert_close(grad.numpy(), g.evaluate(X=X, y=y, w=w), rtol=1e-12)
    src = tc.codegen(g, "tensorflow")
    assert "_mm(" in src and ".T" not in src.split('    """\n')[-1]


def test_jax_backend_is_jitted_with_static_dimensions(rng):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    f = tc.parse("norm(X - U @ V)^2", {"X": ("m", "n"), "U": ("m", "r")})
    H = tc.derivative(f, "U", order=2)
    c = tc.compile(H, "jax")
    V = rng.normal(size=(2, 3))
    assert_close(np.asarray(c(V=V, dims={"m": 4})), H.evaluate(V=V, dims={"m": 4}), rtol=1e-12)
    assert hasattr(c._lookup([V]), "lower")  # a jax.jit-compiled function


# -- MXNet: the generated module in the interpreter named by TC_MXNET_PYTHON -----------------

MXNET_PYTHON = os.environ.get("TC_MXNET_PYTHON")

_DRIVER = """
import json, sys
import numpy as onp
from mxnet import autograd, np, npx
sys.path.insert(0, {folder!r})
sys.modules["tensorcalc"] = None  # the generated code must not need it
npx.set_np()
cases = json.loads(open({inputs!r}).read())
out = {{}}
for key, case in cases.items():
    try:
        res = __import__(key).f(*[onp.array(v, dtype=float) for v in case["args"]])
        out[key] = [onp.asarray(r.asnumpy() if hasattr(r, "asnumpy") else r).tolist() for r in res]
    except Exception as err:
        out[key] = type(err).__name__ + ": " + str(err).strip().splitlines()[-1][:200]
w, x, y, z = (np.array(v, dtype="float64") for v in (-1.0, 0.0, -2.0, 1.0))
for t in (w, x, y, z):
    t.attach_grad()
with autograd.record():
    a = (w + x + y + z) ** 2
    b = (w + x - y - z) ** 2
    u = (a + b) ** 2
    v = (a - b) ** 2
    f = (u + v) ** 2
f.backward()
out["autograd"] = [float(f)] + [float(t.grad) for t in (w, x, y, z)]
print(json.dumps(out))
"""


# the new-operation tables (axes, stacks, linear algebra), whose other backends run in their files
_NEW_OPERATIONS = (
    [(t, test_axes.SH, w, test_axes._values) for t, w, _ in test_axes.CASES]
    + [(t, test_batched.SH, w, test_batched._values) for t, w, _ in test_batched.CASES]
    + [(t, sh, w, gen) for t, sh, w, _, gen in test_linalg.CASES]
    + [(t, sh, w, gen) for t, sh, w, _, gen in test_reshape.CASES]
    + [(t, test_expm.SH, w, test_expm._values) for t, w, _ in test_expm.CASES]
)


@pytest.mark.skipif(not MXNET_PYTHON, reason="TC_MXNET_PYTHON (a Python with mxnet) not set")
def test_mxnet_generated_code_matches_reference_and_autograd(tmp_path):
    cases, expected = {}, {}
    rules = [p.values for p in ALL] + _NEW_OPERATIONS
    for k, (text, shapes, wrt, gen) in enumerate(rules):
        f = tc.parse(text, shapes)
        outs = [f, tc.derivative(f, wrt), tc.derivative(f, wrt, order=2)]
        vals = gen(np.random.default_rng(5))
        src, params = tc.codegen(outs, "mxnet"), tc.compile(outs, "numpy").names
        (tmp_path / f"case{k}.py").write_text(src)
        cases[f"case{k}"] = {"args": [np.asarray(vals[p]).tolist() for p in params]}
        expected[f"case{k}"] = [o.evaluate(vals, dims={"n": 3}) for o in outs]
    seed = _seed_outputs()
    (tmp_path / "seed002.py").write_text(tc.codegen(seed, "mxnet"))
    cases["seed002"] = {"args": [POINT[k] for k in "wxyz"]}
    expected["seed002"] = [1024.0, -4096.0, -4096.0, -4096.0, -4096.0]
    (tmp_path / "inputs.json").write_text(json.dumps(cases))
    driver = _DRIVER.format(folder=str(tmp_path), inputs=str(tmp_path / "inputs.json"))
    proc = subprocess.run(
        [MXNET_PYTHON, "-c", driver], capture_output=True, text=True, check=False, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    exported = tmp_path / "exported.py"
    exported.write_text(tc.codegen(seed, "mxnet", script=True))
    run = subprocess.run(
        [MXNET_PYTHON, str(exported)], capture_output=True, text=True, check=False, timeout=300
    )
    assert run.returncode == 0 and run.stdout.count(" ok") >= 4, run.stdout + run.stderr[-2000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    failed = {k: v for k, v in got.items() if isinstance(v, str)}
    assert not failed, failed
    assert got["autograd"] == expected["seed002"]
    for key, want in expected.items():
        for g, e in zip(got[key], want):
            assert_close(np.asarray(g), np.asarray(e), rtol=1e-10, atol=1e-10)


# -- exported scripts: standalone, and their derivative check passes ----------------------------


@pytest.mark.parametrize("backend", ["numpy", "jax", "torch", "dask", "tensorflow"])
def test_exported_script_runs_standalone_and_checks_itself(backend, tmp_path):
    pytest.importorskip(BACKENDS[backend].module)
    f = tc.parse("x' @ inv(A) @ x + sum(log(x)) + sum(y * sqrt(x))", {"A": ("n", "n")})
    outs = [f, tc.derivative(f, "x"), tc.derivative(f, "x", order=2), tc.derivative(f, "A")]
    src = tc.codegen(outs, backend, script=True)
    assert "def random_inputs(" in src and "def check_gradient(" in src
    assert "DERIVATIVES = [(1, 0, 'x'), (2, 1, 'x'), (3, 0, 'A')]" in src
    assert "_spd(rng, (s['n'], s['n']))" in src and "rng.uniform(0.5, 2.0" in src
    path = tmp_path / "exported.py"
    path.write_text(src)
    runner = (
        "import runpy, sys; sys.modules['tensorcalc'] = None\n"
        f"runpy.run_path({str(path)!r}, run_name='__main__')"
    )
    proc = subprocess.run(
        [sys.executable, "-c", runner],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert proc.stdout.count(" ok") == 3 and "FAILED" not in proc.stdout


def test_exported_script_check_fails_on_a_wrong_derivative(tmp_path):
    f = tc.parse("sum(exp(x))", {"x": ("n",)})
    src = tc.codegen([f, tc.derivative(f, "x")], script=True)
    src = src.replace(", t0)\n", ", 1.01 * t0)\n")  # t0 = exp(x), computed once
    assert "1.01 * t0" in src
    namespace: dict = {}
    exec(compile(src, "exported", "exec"), namespace)  # our own generated source
    assert namespace["check_gradient"]() is False


def test_mxnet_compile_says_where_mxnet_runs():
    if importlib.util.find_spec("mxnet") is not None:
        pytest.skip("mxnet is installed here")
    with pytest.raises(tc.TensorCalcError, match="venv of its own.*tc.codegen"):
        tc.compile(tc.parse("x * x", {}), "mxnet")
