"""Generated code never multiplies by a dense identity, and large results are summed in place.

* Kronecker deltas (``d(A @ X)/dA = δ_ik X_lj``) are placed: ``where(mask, core)`` in every
  backend, or added through a writable diagonal view of the result in NumPy.  So an inf in the
  other factor stays inf on the diagonal and 0 off it, as ``evaluate`` gives (a dense eye gave
  ``0 * inf = nan``).
* A product whose intermediates would outgrow the result (the MLP Hessian's Σₘ over samples) is
  computed in blocks of output indices.  The peak memory of the MLP Hessian is at most twice
  the result, the logistic Hessian's at most X plus the result (one scaled copy of X), and
  both keep to a ``memory_limit`` the user sets (tracemalloc, not timing); ``X' diag(d) X``
  then adds X's rows in place, as many at a time as fit.
"""

from __future__ import annotations

import importlib.util
import re
import tracemalloc

import numpy as np
import pytest

import tensorcalc as tc
from conftest import as_numpy, central_hessian, central_jacobian
from tensorcalc.codegen import BACKENDS, memory_bytes
from tensorcalc.expr import variables

INSTALLED = [
    pytest.param(
        name, marks=pytest.mark.skipif(
            importlib.util.find_spec(b.module) is None, reason=f"{b.module} not installed"
        ),
    )
    for name, b in BACKENDS.items()
    if name != "mxnet"  # source only here (tests/test_backends.py runs it in its own venv)
]  # fmt: skip

# expression, shapes, variable, order: every derivative here has a Kronecker delta
DELTAS = [
    ("A @ X", {"A": (3, 4), "X": (4, 2)}, "A", 1),
    ("A @ x", {"A": (3, 4), "x": (4,)}, "A", 1),
    ("X * Y", {"X": (3, 2), "Y": (3, 2)}, "X", 1),
    ("X' @ X", {"X": (3, 2)}, "X", 1),  # a sum of two placed terms
    ("X @ B + A @ X", {"X": (2, 2), "A": (2, 2), "B": (2, 2)}, "X", 1),
    ("norm(X - U @ V)^2", {"X": (4, 3), "U": (4, 2), "V": (2, 3)}, "U", 2),
]
# and the quadratic form's Hessian (no delta: A + A'), with inf in A
CASES = DELTAS + [("x' @ A @ x", {"x": (3,), "A": (3, 3)}, "x", 2)]


@pytest.fixture(scope="module", autouse=True)
def _jax_x64():
    if importlib.util.find_spec("jax") is not None:
        import jax

        jax.config.update("jax_enable_x64", True)


def _code(src: str) -> str:
    """The function's statements (its docstring shows the formula, ``eye(n)`` included)."""
    return src.rsplit('"""', 1)[1]


def _derivative(text, shapes, wrt, order):
    f = tc.parse(text, shapes)
    return f, tc.derivative(f, wrt, order=order)


@pytest.mark.parametrize("backend", INSTALLED)
@pytest.mark.parametrize("text,shapes,wrt,order", DELTAS, ids=[c[0] for c in DELTAS])
def test_deltas_are_placed_not_multiplied(backend, text, shapes, wrt, order, rng):
    f, d = _derivative(text, shapes, wrt, order)
    assert "eye(" not in _code(tc.codegen(d, backend))
    vals = {k: rng.normal(size=s) for k, s in shapes.items()}
    got = as_numpy(tc.compile(d, backend)(**vals))
    at = vals[wrt]
    fun = lambda x: f.evaluate({**vals, wrt: x})  # noqa: E731 - the function, never a rule
    want = central_jacobian(fun, at) if order == 1 else central_hessian(fun, at)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got, d.evaluate(vals), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("backend", INSTALLED)
@pytest.mark.parametrize("special", [np.inf, -np.inf, np.nan], ids=str)
@pytest.mark.parametrize("text,shapes,wrt,order", CASES, ids=[c[0] for c in CASES])
def test_inf_and_nan_agree_with_evaluate(backend, special, text, shapes, wrt, order, rng):
    _, d = _derivative(text, shapes, wrt, order)
    vals = {k: rng.normal(size=s) for k, s in shapes.items()}
    vals[sorted(variables(d))[0]].flat[0] = special  # a variable the derivative reads
    want = d.evaluate(vals)
    got = as_numpy(tc.compile(d, backend)(**vals))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, equal_nan=True)
    if order == 1 and text != "X @ B + A @ X":  # a delta's zeros stay zeros next to an inf
        assert np.count_nonzero(got == 0) == np.count_nonzero(want == 0) > 0


# -- blocked products and in-place sums (NumPy) -------------------------------------------------

MLP = ("norm(W2 @ tanh(W1 @ X) - T)^2", {"W1": ("h", "d"), "W2": ("o", "h"), "X": ("d", "N")})
MLP_DIMS = {"h": 20, "d": 30, "o": 10, "N": 1000}


def _mlp_values(rng, h, d, o, n):
    return {
        "W1": rng.normal(size=(h, d)) / 3,
        "W2": rng.normal(size=(o, h)),
        "X": rng.normal(size=(d, n)),
        "T": rng.normal(size=(o, n)),
    }


def _run_source(src, vals):
    namespace: dict = {}
    exec(compile(src, "<generated>", "exec"), namespace)  # our own generated module
    return namespace["f"](**vals)


def test_blocked_mlp_hessian_matches_evaluate_and_differences(rng):
    f = tc.parse(*MLP)
    hess = tc.derivative(f, "W1", order=2)
    src = tc.codegen(hess, "numpy", dims=MLP_DIMS)  # blocks chosen for the full size ...
    assert "eye(" not in _code(src) and "for i in range(0, d_h, " in src and "+=" in src
    vals = _mlp_values(rng, 7, 17, 2, 5)  # ... run where they leave partial blocks
    got = _run_source(src, vals)
    np.testing.assert_allclose(got, hess.evaluate(vals), rtol=1e-10, atol=1e-10)
    u, v = rng.normal(size=(2, 7, 17))  # u' H v against central differences of f itself

    def at(s, t):
        return float(f.evaluate({**vals, "W1": vals["W1"] + s * u + t * v}))

    h = 1e-4
    fd = (at(h, h) - at(h, -h) - at(-h, h) + at(-h, -h)) / (4 * h * h)
    assert np.einsum("ij,ijkl,kl->", u, got, v) == pytest.approx(fd, rel=1e-5)


def test_blocked_mlp_hessian_runs_where_a_block_loop_runs_zero_times():
    # the hoisted blocks are bound before the loops: del after them found b0 unbound at h = 0
    hess = tc.derivative(tc.parse(*MLP), "W1", order=2)
    src = tc.codegen(hess, "numpy", dims=MLP_DIMS)
    vals = {
        "W1": np.zeros((0, 3)),
        "W2": np.zeros((2, 0)),
        "X": np.ones((3, 5)),
        "T": np.ones((2, 5)),
    }
    got = _run_source(src, vals)
    assert got.shape == (0, 3, 0, 3)
    assert hess.evaluate(vals).shape == (0, 3, 0, 3)


def test_placed_sum_is_added_through_a_diagonal_view(rng):
    f, d = _derivative("X' @ X", {"X": ("n", "m")}, "X", 1)
    src = _code(tc.codegen(d, "numpy"))
    assert src.count("[...] += ") == 2  # two placed terms, each onto its diagonal
    assert "np.where" not in src and "eye(" not in src
    vals = {"X": rng.normal(size=(4, 3))}
    want = central_jacobian(lambda x: f.evaluate(X=x), vals["X"])
    np.testing.assert_allclose(tc.compile(d)(**vals), want, rtol=1e-6, atol=1e-6)


def _peak_ratio(fn):
    fn()  # warm: module-level allocations of the first call do not count
    tracemalloc.start()
    try:
        out = fn()
        return tracemalloc.get_traced_memory()[1] / np.asarray(out).nbytes
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("n", [250, 300, 1000])  # (h, d, N): 0.4x, 0.5x, 1.7x the result
def test_mlp_hessian_peak_memory_is_at_most_twice_the_result(n, rng):
    f = tc.parse(*MLP)
    hess = tc.derivative(f, "W1", order=2)
    c = tc.compile(hess)
    vals = _mlp_values(rng, 20, 30, 10, n)
    fn = c.function(**vals)
    args = [vals[name] for name in c.names]
    assert _peak_ratio(lambda: fn(*args)[0]) <= 2.0
    np.testing.assert_allclose(fn(*args)[0], hess.evaluate(vals), rtol=1e-10, atol=1e-10)


LOGISTIC = ("sum(log(1 + exp(-y * (X @ w))))", {"X": ("N", "D")})


def _logistic_values(rng, n, d):
    return {
        "X": rng.normal(size=(n, d)) / 14,
        "w": rng.normal(size=d) * 0.1,
        "y": rng.choice([-1.0, 1.0], n),
    }


def _peak_bytes(fn):
    fn()
    tracemalloc.start()
    try:
        out = fn()
        return tracemalloc.get_traced_memory()[1], np.asarray(out)
    finally:
        tracemalloc.stop()


def test_logistic_hessian_peak_memory_is_within_x_plus_the_result(rng):
    # the default rule: one temporary the size of the largest input (the scaled copy of X
    # that a single threaded SYRK reads) and the result; vectors of N are 1% more
    hess = tc.hessian(tc.parse(*LOGISTIC), "w")
    vals = _logistic_values(rng, 2000, 200)
    c = tc.compile(hess)
    fn = c.function(**vals)
    args = [vals[n] for n in c.names]
    peak, out = _peak_bytes(lambda: fn(*args)[0])
    assert peak <= 1.02 * (vals["X"].nbytes + out.nbytes)
    src = c.source(N=2000, D=200)
    assert "_gram(X, " in src and not re.search(r"_gram\(X, .*, \d+\)", src)  # no limit
    np.testing.assert_allclose(out, hess.evaluate(vals), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("limit", [2 * 8 * 200 * 200, "1 MB", 4_000_000])
@pytest.mark.parametrize("n", [2000, 5000])
def test_logistic_hessian_keeps_to_a_memory_limit(limit, n, rng):
    pytest.importorskip("scipy")  # SYRK adding into the result in place
    hess = tc.hessian(tc.parse(*LOGISTIC), "w")
    vals = _logistic_values(rng, n, 200)
    c = tc.compile(hess, memory_limit=limit)
    fn = c.function(**vals)
    args = [vals[k] for k in c.names]
    peak, out = _peak_bytes(lambda: fn(*args)[0])
    assert peak <= 1.01 * memory_bytes(limit)
    assert re.search(r"_gram\(X, .*, \d+\)", c.source(N=n, D=200))  # rows that fit
    x, p = vals["X"], 1 / (1 + np.exp(-vals["y"] * (vals["X"] @ vals["w"])))
    want = x.T @ ((p * (1 - p))[:, None] * x)  # the closed form, by hand
    np.testing.assert_allclose(out, want, rtol=1e-10, atol=1e-12)


def test_mlp_hessian_keeps_to_a_memory_limit_below_the_default(rng):
    hess = tc.derivative(tc.parse(*MLP), "W1", order=2)
    vals = _mlp_values(rng, 20, 30, 10, 1000)
    result = 20 * 30 * 20 * 30 * 8
    c = tc.compile(hess, memory_limit=int(1.5 * result))
    fn = c.function(**vals)
    args = [vals[k] for k in c.names]
    peak, out = _peak_bytes(lambda: fn(*args)[0])
    assert peak <= 1.5 * result
    np.testing.assert_allclose(out, hess.evaluate(vals), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    "bad", [0, -1, 0.5, float("nan"), float("inf"), True, "lots", "5 XB", "-3 MB", [1], {}]
)
def test_memory_limit_nonsense_is_a_clear_error(bad):
    f = tc.parse("X' @ X", {"X": ("n", "m")})
    for call in (lambda: tc.compile(f, memory_limit=bad), lambda: tc.codegen(f, memory_limit=bad)):
        with pytest.raises(tc.TensorCalcError, match="memory_limit must be a positive number"):
            call()


def test_memory_limit_below_the_result_is_a_clear_error():
    f = tc.parse("X' @ X", {"X": ("n", "m")})
    c = tc.compile(f, memory_limit="1 KB")
    with pytest.raises(tc.TensorCalcError, match=r"memory_limit=1000 bytes is less than output 0"):
        c(X=np.ones((5, 20)))
    np.testing.assert_allclose(c(X=np.ones((5, 10))), np.full((10, 10), 5.0))  # 800 bytes fit


@pytest.mark.parametrize(
    "text,unit", [("512", 512), ("2 KB", 2000), ("1.5MiB", 1572864), ("3e3 b", 3000)]
)
def test_memory_limit_reads_units(text, unit):
    f = tc.parse("X' @ X", {"X": ("n", "m")})
    assert tc.compile(f, memory_limit=text).memory_limit == unit


@pytest.mark.parametrize("n,m", [(1, 1), (2, 3), (5, 3), (9, 2), (40, 7), (300, 20)])
@pytest.mark.parametrize("limit", [None, 1, 50, 500, 10**6])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gram_helper_in_blocks_of_rows(n, m, limit, dtype, rng):
    namespace = {"np": np}
    exec(BACKENDS["numpy"].helpers["_gram"], namespace)
    x = rng.normal(size=(n, m)).astype(dtype)
    tol = 1e-12 if dtype is np.float64 else 1e-4
    for d in (rng.random(n).astype(dtype), rng.normal(size=n).astype(dtype)):
        want = x.astype(float).T @ (d.astype(float)[:, None] * x)
        got = namespace["_gram"](x, d, limit)
        np.testing.assert_allclose(got, want, atol=tol * np.abs(want).max())


# -- a differential check of the blocked paths (benchmarks/blockcheck.py runs it at random) ----

SHARED = {"X": ("p", "q"), "Y": ("p", "q"), "A": ("p", "p"), "Z": ("q", "n"), "T": ("p", "n")}


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.bool_], ids=str)
def test_blocked_outputs_that_share_nodes_and_read_inputs_match_evaluate(dtype, rng):
    f = tc.parse("norm(tanh(X @ Z) - T)^2 + sum(X * Y)", SHARED)
    g, h = tc.derivative(f, "X"), tc.derivative(f, "X", order=2)
    jac = tc.derivative(tc.parse("A @ X * Y - X", SHARED), "X")  # placed, through views
    outs = [f, g, h, jac, g, h]  # shared nodes; the gradient reads Y as it is
    src = tc.codegen(outs, "numpy", dims={"p": 20, "q": 30, "n": 2000})
    assert "for i in range(" in src and "[...] +=" in src
    sizes = {"p": 7, "q": 5, "n": 13}  # partial blocks of the sizes the source was made for
    vals = {k: rng.normal(size=tuple(sizes[d] for d in s)) for k, s in SHARED.items()}
    vals = {k: (v > 0 if dtype is np.bool_ else v * 2).astype(dtype) for k, v in vals.items()}
    got = _run_source(src, vals)
    want = [o.evaluate({k: v.astype(np.float64) for k, v in vals.items()}) for o in outs]
    rtol = 1e-4 if dtype is np.float32 else 1e-12
    for k, (a, b) in enumerate(zip(got, want)):
        assert np.asarray(a).dtype == (np.float32 if dtype is np.float32 else np.float64), k
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max(), err_msg=str(k))
    assert not np.shares_memory(got[2], got[5]) and not np.shares_memory(got[3], vals["X"])


def test_generated_source_reads_bool_inputs_as_numbers():
    f = tc.parse("sum(tanh(X @ Z))", {"X": (2, 2), "Z": (2, 2)})
    x = np.ones((2, 2), dtype=bool)
    want = f.evaluate(X=x * 1.0, Z=x * 1.0)  # 4 tanh(2)
    assert tc.compile(f)(X=x, Z=x) == pytest.approx(want)  # the wrapper converts
    assert _run_source(tc.codegen(f, "numpy"), {"X": x, "Z": x}) == pytest.approx(want)
    y = np.full((2, 2), 100, dtype=np.int8)  # int8 products would wrap around
    g = tc.parse("sum(X * Z)", {"X": (2, 2), "Z": (2, 2)})
    assert _run_source(tc.codegen(g, "numpy"), {"X": y, "Z": y}) == 40000.0
