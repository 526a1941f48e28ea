"""The compiler: every installed backend against the reference evaluator, each rewrite
against its unoptimised form, and the generated source on its own."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import tensorcalc as tc
from conftest import assert_close
from tensorcalc.codegen import BACKENDS
from tensorcalc.codegen.backends import FUNCTIONS
from tensorcalc.codegen.paths import best_path, binarize
from tensorcalc.expr import postorder
from tensorcalc.ops import KIND, LEAF, Op
from tensorcalc.printing.matrix import NAMES
from test_rules import ALL


def _have(mod):
    return importlib.util.find_spec(mod) is not None


BACKEND_PARAMS = [
    pytest.param(
        name, marks=pytest.mark.skipif(not _have(b.module), reason=f"{b.module} not installed")
    )
    for name, b in BACKENDS.items()
]


def to_backend(name, arr):
    arr = np.asarray(arr, dtype=float)
    if name == "torch":
        import torch

        return torch.tensor(arr)
    if name == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)
        return jax.numpy.asarray(arr)
    if name == "tensorflow":
        import tensorflow as tf

        return tf.constant(arr)
    if name == "dask":
        import dask.array as da

        return da.from_array(arr, chunks=max(1, (arr.shape[0] + 1) // 2) if arr.ndim else ())
    return arr


def to_numpy(x):
    if hasattr(x, "compute"):
        x = x.compute()
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    if hasattr(x, "numpy"):  # tensorflow
        x = x.numpy()
    return np.asarray(x, dtype=float)


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
@pytest.mark.parametrize("text,shapes,wrt,gen", ALL)
def test_backend_matches_reference_evaluator(backend, text, shapes, wrt, gen):
    f = tc.parse(text, shapes)
    vals = gen(np.random.default_rng(5))
    outs = [f, tc.derivative(f, wrt), tc.derivative(f, wrt, order=2)]
    got = tc.compile(outs, backend)(**{k: to_backend(backend, v) for k, v in vals.items()})
    for g, e in zip(got, outs):
        assert_close(to_numpy(g), e.evaluate(vals, dims={"n": 3}), rtol=1e-10, atol=1e-10)


# -- rewrites against their unoptimised forms --------------------------------------------------


def test_contraction_order_is_optimal_and_equal(rng):
    # x' A B x: two mat-vecs, never the n³ matrix product
    sizes = {0: 1000, 1: 1000, 2: 1000}
    assert best_path([(0,), (0, 1), (1, 2), (2,)], (), sizes) in [
        (0, (1, (2, 3))),
        ((0, 1), (2, 3)),
        (((0, 1), 2), 3),
    ]
    f = tc.parse(
        "x' @ A @ B @ C @ x", {"x": ("n",), "A": ("n", "n"), "B": ("n", "n"), "C": ("n", "n")}
    )
    (g,) = binarize([f], {"n": 50})
    assert all(len(n.args) <= 2 for n in postorder([g]) if n.op is Op.EINSUM)
    vals = {"x": rng.normal(size=4)} | {k: rng.normal(size=(4, 4)) for k in "ABC"}
    assert_close(g.evaluate(vals), f.evaluate(vals), rtol=1e-12)
    body = tc.codegen(f, dims={"n": 1000}).split('    """\n')[-1]
    assert body.count("@") == 4 and "einsum" not in body  # four mat-vec or dot products


def test_no_materialised_diag_in_hessians(rng):
    f = tc.parse("sum(log(1 + exp(-y * (X @ w))))", {"X": ("N", "D")})
    H = tc.derivative(f, "w", order=2)
    assert "diag" in str(H)  # the formula says diag(...)
    src = tc.codegen(H)
    assert "np.diag(" not in src and "[:, None] *" in src  # the code broadcasts
    X, y, w = rng.normal(size=(30, 4)), rng.choice([-1.0, 1.0], 30), rng.normal(size=4)
    assert_close(tc.compile(H)(X=X, y=y, w=w), H.evaluate(X=X, y=y, w=w), rtol=1e-12)


def test_common_subexpressions_are_shared_across_outputs():
    f = tc.parse("sum(log(1 + exp(-y * (X @ w))))", {"X": ("N", "D")})
    src = tc.codegen([f, tc.derivative(f, "w"), tc.derivative(f, "w", order=2)])
    body = src.rsplit('    """\n', 1)[-1]
    assert body.count("X @ w") == 1  # computed once, named t0
    assert body.count("_sigmoid(") == 1
    assert re.search(r"^    t0 = ", body, re.M)


def test_stable_forms():
    f = tc.parse("sum(log(1 + exp(x))) + logsumexp(x) + sum(sigmoid(x))", {"x": ("n",)})
    x = np.array([800.0, -800.0, 0.0])
    val, grad = tc.compile([f, tc.derivative(f, "x")])(x=x)
    assert np.isfinite(val) and np.all(np.isfinite(grad))
    assert float(val) == pytest.approx(800.0 + np.log(2) + 800.0 + 1.0 + 0.5)


# -- the generated source -----------------------------------------------------------------------


def test_generated_module_runs_without_tensorcalc(tmp_path, rng):
    f = tc.parse("norm(X - U @ V)^2", {"X": ("m", "n"), "U": ("m", "r"), "V": ("r", "n")})
    src = tc.codegen([f, tc.derivative(f, "U")])
    path = tmp_path / "generated.py"
    path.write_text(src)
    script = (
        "import sys; sys.modules['tensorcalc'] = None\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "import numpy as np, generated\n"
        "rng = np.random.default_rng(0)\n"
        "X, U, V = rng.normal(size=(5, 4)), rng.normal(size=(5, 2)), rng.normal(size=(2, 4))\n"
        "v, g = generated.f(U, V, X)\n"
        "assert np.allclose(g, -2 * (X - U @ V) @ V.T)\n"
        "assert np.isclose(v, np.sum((X - U @ V) ** 2))\n"
        "try:\n    generated.f(U, V, X.T)\nexcept ValueError as e:\n    print('shape check:', e)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "X: expected shape (m, n)" in proc.stdout


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff not installed")
@pytest.mark.parametrize("backend", list(BACKENDS))
def test_generated_source_passes_ruff(backend, tmp_path):
    f = tc.parse(
        "sum(log(1 + exp(-y * (X @ w)))) + logsumexp(w) + logdet(inv(A) + eye(3))",
        {"X": ("N", 3), "A": (3, 3)},
    )
    src = tc.codegen([f, tc.derivative(f, "w"), tc.derivative(f, "A")], backend)
    path = tmp_path / "gen.py"
    path.write_text(src)
    proc = subprocess.run(
        ["ruff", "check", "--isolated", "--select", "E,F,W", "--ignore", "E501", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + src


def test_identifiers_are_sanitised(rng):
    f = tc.parse("lambda_ * np + t0", {})
    e = tc.sugar.scalar("lambda") * tc.sugar.scalar("np") + tc.sugar.scalar("t0")
    src = tc.codegen(e)
    assert "def f(lambda_, np_, t0_):" in src
    assert float(tc.compile(e)(**{"lambda": 2.0, "np": 3.0, "t0": 1.0})) == 7.0
    assert f.shape == ()


def test_compile_caches_and_checks():
    f = tc.parse("x' @ A @ x", {"x": ("n",), "A": ("n", "n")})
    c = tc.compile(f)
    assert tc.compile(f) is c
    c(x=np.ones(2), A=np.eye(2))
    c(x=np.ones(3), A=np.eye(3))
    assert len(c._cache) == 2
    with pytest.raises(tc.EvaluationError, match="missing"):
        c(x=np.ones(2))
    with pytest.raises(tc.EvaluationError, match="declared shape"):
        c(x=np.ones(2), A=np.eye(3))
    with pytest.raises(tc.TensorCalcError, match="unknown backend"):
        tc.compile(f, "fortran")


# -- registry ----------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_backend_tables_cover_every_function(backend):
    b = BACKENDS[backend]
    assert set(FUNCTIONS) <= set(b.funcs), set(FUNCTIONS) - set(b.funcs)
    for template in b.funcs.values():
        for helper in re.findall(r"\b(_\w+)\(", template):
            assert helper in b.helpers


def test_every_printed_function_has_a_backend_entry():
    produced = {
        NAMES[op] for op in Op if KIND[op] != LEAF and op not in (Op.EINSUM, Op.ADD, Op.POW, Op.DIV)
    }
    produced |= {"sum", "sum_axis", "tr", "diag_vec", "diag_mat", "eye", "ones", "zeros"}
    produced |= {"softmax_axis", "logsumexp_axis"}  # softmax(X, axis), logsumexp(X, axis)
    assert produced <= set(FUNCTIONS)


@pytest.mark.skipif(not _have("torch"), reason="torch not installed")
def test_torch_runs_on_cuda_when_available():
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA device here (checked on the GPU machine in benchmarks)")
    f = tc.parse("x' @ A @ x", {"x": ("n",), "A": ("n", "n")})
    x, A = (
        torch.ones(3, device="cuda", dtype=torch.float64),
        torch.eye(3, device="cuda", dtype=torch.float64),
    )
    g = tc.compile(tc.derivative(f, "x"), "torch")(x=x, A=A)
    assert g.device.type == "cuda"


@pytest.mark.skipif(not _have("dask"), reason="dask not installed")
def test_dask_gradient_over_row_chunks(rng):
    import dask.array as da

    f = tc.parse("sum(log(1 + exp(-y * (X @ w))))", {"X": ("N", "D")})
    g = tc.derivative(f, "w")
    X, y, w = rng.normal(size=(1000, 5)), rng.choice([-1.0, 1.0], 1000), rng.normal(size=5)
    out = tc.compile(g, "dask")(
        X=da.from_array(X, chunks=(100, 5)), y=da.from_array(y, chunks=100), w=da.from_array(w)
    )
    assert hasattr(out, "compute") and out.npartitions >= 1
    assert_close(out.compute(), g.evaluate(X=X, y=y, w=w), rtol=1e-12)


def test_products_distribute_over_sums_used_once(rng):
    f = tc.parse("x' @ A @ x", {"x": ("n",), "A": ("n", "n")})
    g = tc.derivative(f, "x")
    assert str(g) == "(A + A') @ x"
    body = tc.codegen(g).rsplit('    """\n', 1)[-1]
    assert "A + A.T" not in body and "A @ x + x @ A" in body  # no transpose either
    x, A = rng.normal(size=5), rng.normal(size=(5, 5))
    assert_close(tc.compile(g)(x=x, A=A), g.evaluate(x=x, A=A), rtol=1e-12)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_gram_products_use_the_symmetric_form_and_stay_exact(sign, rng):
    # Hessian of ½ Σ dᵢ (Xw)ᵢ² is X' diag(d) X; d of mixed sign takes the general path
    f = tc.parse("sum(d * (X @ w)^2) / 2", {"X": ("N", "D"), "d": ("N",)})
    H = tc.derivative(f, "w", order=2)
    assert "_gram(X, d)" in tc.codegen(H)
    X, w = rng.normal(size=(20, 4)), rng.normal(size=4)
    d = rng.uniform(0.1, 1.0, 20) * np.where(np.arange(20) % 3 == 0, sign, 1.0)
    assert_close(tc.compile(H)(X=X, d=d, w=w), X.T @ (d[:, None] * X), rtol=1e-12)


def test_dimensions_no_variable_carries_are_passed_in(rng):
    f = tc.parse("norm(X - U @ V)^2", {"X": ("m", "n"), "U": ("m", "r")})
    H = tc.derivative(f, "U", order=2)
    assert "*, d_m" in tc.codegen(H)
    V = rng.normal(size=(2, 3))
    assert_close(tc.compile(H)(V=V, dims={"m": 4}), H.evaluate(V=V, dims={"m": 4}), rtol=1e-12)


def test_a_list_of_one_output_gives_a_list_of_one(rng):
    f = tc.parse("x' @ A @ x", {"x": ("n",), "A": ("n", "n")})
    g = tc.derivative(f, "x")
    x, A = rng.normal(size=3), rng.normal(size=(3, 3))
    (out,) = tc.compile([g])(x=x, A=A)
    assert_close(out, (A + A.T) @ x)
    (out,) = tc.compile([g]).function(x=x, A=A)(A, x)
    assert_close(out, (A + A.T) @ x)


@pytest.mark.skipif(not _have("jax"), reason="jax not installed")
def test_jax_backend_is_jittable(rng):
    import jax

    jax.config.update("jax_enable_x64", True)
    f = tc.parse("sum(log(1 + exp(-y * (X @ w))))", {"X": ("N", "D")})
    c = tc.compile([f, tc.derivative(f, "w")], "jax")
    jitted = jax.jit(lambda X, y, w: c(X=X, y=y, w=w))
    X, y, w = rng.normal(size=(20, 3)), rng.choice([-1.0, 1.0], 20), rng.normal(size=3)
    value, grad = jitted(X, y, w)
    assert_close(np.asarray(value), f.evaluate(X=X, y=y, w=w), rtol=1e-12)
    assert_close(np.asarray(grad), tc.derivative(f, "w").evaluate(X=X, y=y, w=w), rtol=1e-12)


def test_compiled_source_matches_codegen():
    f = tc.parse("x' @ A @ x", {"x": ("n",), "A": ("n", "n")})
    c = tc.compile(tc.derivative(f, "x"))
    assert c.source(n=10) == tc.codegen(tc.derivative(f, "x"), dims={"n": 10})
    assert "def f(A, x):" in c.source()


def _factorisation_gradient():
    f = tc.parse("norm(X - U @ V)^2", {"X": ("m", "n"), "U": ("m", "r"), "V": ("r", "n")})
    return tc.derivative(f, "U")


@pytest.mark.parametrize("m,n,r", [(1000, 1000, 10), (40, 40, 18), (40, 40, 25), (40, 40, 35)])
def test_distributing_is_chosen_by_flop_count(m, n, r, rng):
    # undistributed, -2 (X - U V) V': U V and the product with V' cost m n r each, the sum 3 m n;
    # distributed, -2 (X V' - U (V V')): m n r + r² n + m r² + 3 m r.  At m = n = 40 the two
    # meet at r ≈ 21.3: below it the distributed form is cheaper, above it the original.
    g = _factorisation_gradient()
    body = tc.codegen(g, dims={"m": m, "n": n, "r": r}).rsplit('    """\n', 1)[-1]
    distributed = m * n * r + r * r * n + m * r * r + 3 * m * r < 2 * m * n * r + 3 * m * n
    assert distributed == (r < 21.3)
    if distributed:
        assert "X @ V.T" in body and "V @ V.T" in body and "X +" not in body
    else:
        assert "(X + U @ -V) @ V.T" in body
    U, V, X = rng.normal(size=(6, 3)), rng.normal(size=(3, 5)), rng.normal(size=(6, 5))
    namespace: dict = {}
    exec(tc.codegen(g, dims={"m": m, "n": n, "r": r}), namespace)  # our own generated source
    assert_close(namespace["f"](U, V, X), -2 * (X - U @ V) @ V.T, rtol=1e-12)
    assert_close(namespace["f"](U, V, X), g.evaluate(U=U, V=V, X=X), rtol=1e-12)


def test_mlp_hessian_is_one_path_per_term_without_large_intermediates(rng):
    # the 4-tensor products of the MLP Hessian: distributed over their sum, each term is
    # contracted as one path; no intermediate is a (h, d, h, N) tensor
    f = tc.parse(
        "norm(W2 @ tanh(W1 @ X) - T)^2", {"W1": ("h", "d"), "W2": ("o", "h"), "X": ("d", "N")}
    )
    H = tc.derivative(f, "W1", order=2)
    sizes = {"h": 20, "d": 30, "o": 10, "N": 1000}
    (g,) = binarize([H], sizes)
    out_size = 20 * 30 * 20 * 30
    for n in postorder([g]):
        if n.op is Op.EINSUM:
            size = int(np.prod([d if isinstance(d, int) else sizes[d] for d in n.shape]))
            assert size <= 2 * out_size, (n.shape, size)
    vals = {"W1": rng.normal(size=(3, 4)), "W2": rng.normal(size=(2, 3))}
    vals |= {"X": rng.normal(size=(4, 5)), "T": rng.normal(size=(2, 5))}
    assert_close(tc.compile(H)(**vals), H.evaluate(vals), rtol=1e-10)


# backward slices (torch slices only step forward) and derivatives with no array input (a
# constant selection: the prologue has no input to take dtype and device from)
SLICES = [
    ("x[::-1]", {"x": (5,)}, "x"),
    ("A[::-1, 1:3]", {"A": (4, 4)}, "A"),
    ("A[0, ::-2]", {"A": (4, 5)}, "A"),
    ("sum(x[::-1] * x)", {"x": (5,)}, "x"),
]


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
@pytest.mark.parametrize("text,shapes,wrt", SLICES)
def test_backward_slices_and_constant_derivatives(backend, text, shapes, wrt):
    f = tc.parse(text, shapes)
    vals = {k: np.random.default_rng(1).normal(size=v) for k, v in shapes.items()}
    for out in (f, tc.derivative(f, wrt)):
        got = tc.compile(out, backend)(**{k: to_backend(backend, v) for k, v in vals.items()})
        assert_close(to_numpy(got), tc.evaluate(out, vals))


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
def test_functions_of_numbers_take_the_inputs_dtype(backend):
    # torch.sqrt(8.0) was a TypeError and tf.sqrt(8.0) a float32 beside float64 inputs
    f = tc.parse("sum(x) * sqrt(8) + exp(2) * log(3)", {"x": (3,)})
    x = np.array([1.0, 2.0, 3.0])
    got = to_numpy(tc.compile(f, backend)(x=to_backend(backend, x)))
    assert_close(got, 6 * np.sqrt(8) + np.exp(2) * np.log(3), rtol=1e-14, atol=1e-14)
