"""Selections and Kronecker deltas in compiled code are applied as indexing, never multiplied
as dense 0/1 matrices (``codegen/place.py``): a reversal's NaN stays where ``evaluate`` puts
it, ``inf · I`` is 0 off the diagonal, and a selection over 50,000 entries builds no
50,000² matrix.  Every backend agrees with ``evaluate`` (MXNet in the interpreter named by
``TC_MXNET_PYTHON``)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import tracemalloc

import numpy as np
import pytest

import tensorcalc as tc
from conftest import as_numpy, central_jacobian
from tensorcalc.codegen import BACKENDS
from tensorcalc.expr import variables

INSTALLED = [
    pytest.param(
        name, marks=pytest.mark.skipif(
            importlib.util.find_spec(b.module) is None, reason=f"{b.module} not installed"
        ),
    )
    for name, b in BACKENDS.items()
    if name != "mxnet"  # run below in its own interpreter
]  # fmt: skip

pytestmark = pytest.mark.usefixtures("jax_x64")

# expression, shapes, variable: each derivative places a selection or a rank-2 delta
CASES = [
    ("tr(A)^3", {"A": (3, 3)}, "A"),  # 3 tr(A)² I: a scalar times the identity
    ("tr(A) * (x' @ y)", {"A": (3, 3), "x": (3,), "y": (3,)}, "A"),  # (x'y) I
    ("tr(A)^2 + sum(A)", {"A": (3, 3)}, "A"),  # 2 tr(A) I + ones: a placed term in a sum
    ("sqrt(sin(x - x[::-1]))", {"x": (3,)}, "x"),  # diag(v) - diag(v) S: placed
    ("sum(sin(x - x[::-1]))", {"x": (4,)}, "x"),  # u - S' u: a scatter
    ("sum(sin(A[1:3, ::-1]))", {"A": (4, 3)}, "A"),  # a scatter along each axis
    ("x[::-1] * tr(A)", {"x": (3,), "A": (2, 2)}, "A"),  # x[::-1] ⊗ I
    ("softmax(x[1:3])", {"x": (4,)}, "x"),  # J S: columns scattered
]
SPECIALS = [None, np.inf, np.nan]


def _points(shapes, wrt):
    """A point in (0.2, 1) and the same with an inf, then a NaN, in its first entry of ``wrt``."""
    rng = np.random.default_rng(3)
    base = {k: rng.uniform(0.2, 1.0, size=s) for k, s in shapes.items()}
    out = []
    for special in SPECIALS:
        vals = {k: v.copy() for k, v in base.items()}
        if special is not None:
            vals[wrt].flat[0] = special
        out.append(vals)
    return out


def _code(src: str) -> str:
    """The function's statements (its docstring shows the formula, ``select`` included)."""
    return src.rsplit('"""', 1)[1]


@pytest.mark.parametrize("backend", INSTALLED)
@pytest.mark.parametrize("text,shapes,wrt", CASES, ids=[c[0] for c in CASES])
def test_placed_products_agree_with_evaluate(backend, text, shapes, wrt):
    d = tc.derivative(tc.parse(text, shapes), wrt)
    code = _code(tc.codegen(d, backend))
    assert "eye(" not in code and "_select(" not in code
    fn = tc.compile(d, backend)
    for vals in _points(shapes, wrt):
        vals = {k: v for k, v in vals.items() if k in variables(d)}
        with np.errstate(all="ignore"):
            want = d.evaluate(vals)
            got = as_numpy(fn(**vals))
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, equal_nan=True)
        assert np.array_equal(got == 0, want == 0)  # zeros stay zeros next to an inf or NaN


# structural zeros next to an inf: a delta (or a selection writing the result's axis) is applied
# last, the other factors taken at its entries only, never multiplied by the 0s of a diag(v) or a
# scatter made first (0 · inf = nan, where evaluate gives 0). QUOTIENTS: 1 / diag(x) is inf off
# the diagonal by construction, x finite; SCATTERED: x = 0 where the selection writes zeros.
QUOTIENT = ({"x": (3,), "A": (3, 3)}, {"x": [1.0, 2.0, 4.0], "A": np.arange(9.0).reshape(3, 3)})
SCATTER = ({"x": (4,), "y": (2,)}, {"x": [0.0, 2.0, 0.0, 4.0], "y": [1.0, 3.0]})
STRUCTURAL = [
    ("diag(x) * (1 / diag(x))", *QUOTIENT),
    ("diag(x) * diag(x) / diag(x)", *QUOTIENT),
    ("diag(x) * (A / diag(x))", *QUOTIENT),
    ("eye(3) * (1 / diag(x)) * sum(x)", *QUOTIENT),
    ("(select(2, 4, 1, 2)' @ y) * (1 / x)", *SCATTER),
    ("(select(2, 4, 1, 2)' @ y) * (1 / x) * sum(x)", *SCATTER),
    ("diag(select(2, 4, 1, 2)' @ y) * (1 / diag(x))", *SCATTER),
    ("outer(select(2, 4, 1, 2)' @ y, 1 / x)", *SCATTER),
]
# a selection summed over its column is a slice of every factor that reads it, never a scatter
# of the other factors into zeros (review findings: (1 / A)[:, 1::2] @ z was 1 / A @ scatter(z))
GATHERED = [
    ("(1 / A)[:, 1::2] @ z", {"A": (4, 4), "z": (2,)}, None),
    ("sum(w / (1 + 1 / (select(2, 4, 1, 2)' @ y)^2) * (select(2, 4, 1, 2)' @ y))",
     {"y": (2,), "w": (4,)}, "y"),
]  # fmt: skip


@pytest.mark.parametrize("backend", INSTALLED)
@pytest.mark.parametrize("text,shapes,wrt", GATHERED, ids=[c[0] for c in GATHERED])
def test_a_selection_summed_over_its_column_slices_the_factors(backend, text, shapes, wrt):
    f = tc.parse(text, shapes)
    d = tc.derivative(f, wrt) if wrt else f
    a = np.arange(1.0, 17.0).reshape(4, 4)
    a[1, 0] = 0.0  # 1 / A is inf at an entry the selection does not read
    vals = {"A": a, "z": np.array([1.0, 2.0]), "y": np.array([1.0, 2.0]), "w": np.arange(1.0, 5.0)}
    vals = {k: v for k, v in vals.items() if k in variables(d)}
    with np.errstate(all="ignore"):
        want = d.evaluate(vals)
        got = as_numpy(tc.compile(d, backend)(**vals))
    assert np.all(np.isfinite(want))
    np.testing.assert_allclose(got, want, rtol=1e-12)
    if wrt is None:  # (the derivative's f has a scatter of its own: S' y)
        assert "_scatter(" not in _code(tc.codegen(d, backend))


@pytest.mark.parametrize("backend", INSTALLED)
@pytest.mark.parametrize("text,shapes,vals", STRUCTURAL, ids=[c[0] for c in STRUCTURAL])
def test_structural_zeros_stay_zeros_next_to_an_inf(backend, text, shapes, vals):
    f = tc.parse(text, shapes)
    vals = {k: np.asarray(v) for k, v in vals.items() if k in variables(f)}
    with np.errstate(all="ignore"):
        want = f.evaluate(vals)
        got = as_numpy(tc.compile(f, backend)(**vals))
    assert not np.isnan(want).any()  # (the outer product has its infs, where 1 / x is inf)
    if shapes is QUOTIENT[0]:  # diag(x)-like: 0 off the diagonal
        np.testing.assert_array_equal(want, np.diag(np.diagonal(want)))
    else:  # entries (rows) 0 and 2 are not selected
        np.testing.assert_array_equal(want[[0, 2]], 0.0)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)


SMOOTH = [c for c in CASES if "sqrt" not in c[0]]  # sqrt(sin(0)) in the middle: not smooth


@pytest.mark.parametrize("text,shapes,wrt", SMOOTH, ids=[c[0] for c in SMOOTH])
def test_placed_products_match_central_differences(text, shapes, wrt):
    f = tc.parse(text, shapes)
    d = tc.derivative(f, wrt)
    vals = _points(shapes, wrt)[0]
    want = central_jacobian(lambda v: f.evaluate({**vals, wrt: v}), vals[wrt])
    got = tc.compile(d)(**{k: v for k, v in vals.items() if k in variables(d)})
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)


def test_scalar_times_identity_is_a_diagonal_not_a_product():
    d = tc.derivative(tc.parse("tr(A)^3", {"A": (3, 3)}), "A")
    code = _code(tc.codegen(d))
    assert "np.diag(" in code and "np.ones((3,))" in code and "eye" not in code
    with np.errstate(all="ignore"):
        got = tc.compile(d)(A=np.diag([np.inf, 1.0, 1.0]))
    assert np.array_equal(got, np.diag([np.inf] * 3))


@pytest.mark.parametrize(
    "text,wrt,helper",
    [
        ("sum(sin(x[::2]))", "x", "_scatter("),
        ("sum(sin(x - x[::-1]))", "x", "[49999::-1]"),  # the reversal is turned to gather
        ("sum(x[::-1] * y)", "y", "[49999::-1]"),
    ],
)
def test_a_selection_over_50000_entries_builds_no_dense_matrix(text, wrt, helper):
    n = 50_000
    d = tc.derivative(tc.parse(text, {"x": (n,), "y": (n,)}), wrt)
    code = _code(tc.codegen(d))
    assert helper in code and "_select(" not in code  # checked before anything is allocated
    vals = {"x": np.linspace(0.0, 1.0, n), "y": np.linspace(1.0, 2.0, n)}
    vals = {k: v for k, v in vals.items() if k in variables(d)}
    fn = tc.compile(d)
    fn(**vals)  # compiled and warm
    tracemalloc.start()
    try:
        got = fn(**vals)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * n * 8  # a dense selection would be n² * 8 = 20 GB
    np.testing.assert_allclose(got, d.evaluate(vals, max_elements=4 * n), rtol=1e-12)


# -- MXNet: the generated modules in the interpreter named by TC_MXNET_PYTHON --------------------

MXNET_PYTHON = os.environ.get("TC_MXNET_PYTHON")

_DRIVER = """
import json, sys
import numpy as onp
sys.path.insert(0, {folder!r})
sys.modules["tensorcalc"] = None  # the generated code must not need it
out = {{}}
for key, args in json.load(open({inputs!r})).items():
    try:
        r = __import__(key).f(*[onp.array(a, dtype=float) for a in args])
        out[key] = onp.asarray(r.asnumpy() if hasattr(r, "asnumpy") else r).tolist()
    except Exception as err:
        out[key] = type(err).__name__ + ": " + str(err).strip().splitlines()[-1][:200]
print(json.dumps(out))
"""


@pytest.mark.skipif(not MXNET_PYTHON, reason="TC_MXNET_PYTHON (a Python with mxnet) not set")
def test_mxnet_places_like_evaluate(tmp_path):
    # NaN only: MXNet sums with compensation, so sum([inf, 1]) is nan there (its own arithmetic)
    inputs, want = {}, {}
    for k, (text, shapes, wrt) in enumerate(CASES):
        d = tc.derivative(tc.parse(text, shapes), wrt)
        (tmp_path / f"case{k}.py").write_text(tc.codegen(d, "mxnet"))
        assert "_select(" not in _code(tc.codegen(d, "mxnet"))
        for j, vals in enumerate(_points(shapes, wrt)[::2]):
            key = f"case{k}" if j == 0 else f"case{k}_nan"
            if j:
                (tmp_path / f"{key}.py").write_text(tc.codegen(d, "mxnet"))
            inputs[key] = [vals[v].tolist() for v in sorted(variables(d))]
            with np.errstate(all="ignore"):
                want[key] = d.evaluate({v: vals[v] for v in variables(d)})
    (tmp_path / "inputs.json").write_text(json.dumps(inputs))
    driver = _DRIVER.format(folder=str(tmp_path), inputs=str(tmp_path / "inputs.json"))
    proc = subprocess.run(
        [MXNET_PYTHON, "-c", driver], capture_output=True, text=True, check=False, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    for key, w in want.items():
        assert not isinstance(got[key], str), (key, got[key])
        g = np.asarray(got[key], dtype=float)
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12, equal_nan=True, err_msg=key)
