"""Regression tests for issue 11's input-side reproducers: only TensorCalcError for bad input,
any length and bounded depth in the parser, Unicode names, shape specs and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import tensorcalc as tc
from conftest import central_jacobian
from tensorcalc import build
from tensorcalc.cli import main
from tensorcalc.codegen import BACKENDS, paths
from tensorcalc.parse.parser import MAX_DEPTH
from tensorcalc.shapes import MAX_DIM, MAX_RANK, as_shape

SH = {"x": (3,), "A": (3, 3)}

# -- the parser: any length, bounded depth --------------------------------------------------


def test_long_flat_chains_parse_to_their_value():
    x = np.array([0.5, 1.0, 2.0])
    assert_close = np.testing.assert_allclose
    assert_close(tc.parse("+".join(["x"] * 329), SH).evaluate(x=x), 329 * x)
    alternating = "x" + "".join(f" {'-' if k % 2 else '+'} {k} * x" for k in range(1, 600))
    expected = x * (1 + sum(-k if k % 2 else k for k in range(1, 600)))
    assert_close(tc.parse(alternating, SH).evaluate(x=x), expected)
    quotients = "1" + "".join(f" {'/' if k % 3 else '*'} x" for k in range(1, 200))
    powers = sum(-1 if k % 3 else 1 for k in range(1, 200))
    assert_close(tc.parse(quotients, SH).evaluate(x=x), x**powers, rtol=1e-12)
    assert tc.parse("-" * 492 + "x", SH) is tc.parse("x", SH)
    assert tc.parse("-" * 493 + "x", SH) is tc.parse("-x", SH)
    assert tc.parse("(" * 999 + "x" + ")" * 999, SH) is tc.parse("x", SH)  # no nesting added
    assert tc.parse("A" + "'" * 80, SH) is tc.parse("A", SH)
    assert tc.parse("A" + "'" * 81, SH) is tc.parse("A'", SH)


@pytest.mark.parametrize(
    "text",
    [
        "(x + " * 165 + "x" + ")" * 165,
        "sin(" * 141 + "x" + ")" * 141,
        "x" + "^x" * 150,
        "@".join(["A"] * 150) + " @ x",
        "[" * 120 + "1" + "]" * 120,
        "1 + (" * 60 + "x + (" * 60 + "x" + ")" * 120,
    ],
)
def test_too_deep_is_a_parse_error_with_the_limit(text):
    with pytest.raises(tc.ParseError, match=f"more than {MAX_DEPTH} levels"):
        tc.parse(text, SH)


@pytest.mark.parametrize("kind", ["sin", "paren", "sub", "sum"])
def test_everything_downstream_works_at_the_depth_limit(kind):
    n = MAX_DEPTH - 1
    text = {
        "sin": "sin(" * n + "x" + ")" * n,
        "paren": "(" * MAX_DEPTH + "x" + ")" * MAX_DEPTH,
        "sub": "s - (" * n + "x" + ")" * n,
        "sum": "sum(" * n + "x" + ")" * n,
    }[kind]
    f = tc.parse(text, {"x": (3,), "s": ()})
    x = np.array([0.1, 0.2, 0.3])
    d = tc.derivative(f, "x")
    assert tc.parse(str(f), {"x": (3,), "s": ()}) is f
    assert d.latex() and str(d)
    got = tc.compile(d)(x=x, s=0.5) if "s" in tc.expr.variables(f) else tc.compile(d)(x=x)
    assert np.all(np.isfinite(got))


# -- numbers at parse time --------------------------------------------------------------------


@pytest.mark.parametrize("text", ["0^-1", "(-1)^0.5", "2^2000"])
def test_undefined_constant_powers_stay_symbolic_and_evaluate_like_numpy(text):
    f = tc.parse(text)
    assert tc.parse(str(f)) is f
    with np.errstate(all="ignore"):
        expected = np.power(*[float(v) for v in text.replace("(", "").replace(")", "").split("^")])
        assert np.array_equal(f.evaluate(), expected, equal_nan=True)


@pytest.mark.parametrize(
    "text,needle",
    [
        ("eye(1e309)", "too large"),
        ("sum(x, 1e309)", "too large"),
        ("1e309 * x", "too large"),
        ("x[" + "1" * 5000 + "]", "too large"),
        ("x[" + "1" * 300 + "]", "out of range"),
        ("1e200 * 1e200 * x", "overflowed float64"),
        ("x / 1e-320", "overflowed float64"),
        ("eye(1e300)", "too large"),
        ("sum(x, 1e300)", "out of range"),
    ],
)
def test_overflowing_numbers_are_parse_errors(text, needle):
    with pytest.raises(tc.TensorCalcError, match=needle):
        tc.parse(text, SH)


def test_sum_axis_is_checked():
    with pytest.raises(tc.ShapeError, match="axis 2 out of range"):
        tc.parse("sum(A, 2)", {"A": (2, 3)})
    with pytest.raises(tc.ShapeError, match="out of range"):
        tc.parse("sum(A, -3)", {"A": (2, 3)})
    with pytest.raises(tc.ParseError, match="sum"):
        tc.parse("sum(axis=3)")
    X = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(tc.parse("sum(A, -2)", {"A": (2, 3)}).evaluate(A=X), X.sum(0))


# -- identifiers ------------------------------------------------------------------------------


def test_dimension_names_are_validated_and_normalised():
    assert as_shape(("ﬁ", "Ⅸ", "ｎ", "ｔ0")) == ("fi", "IX", "n", "t0")
    with pytest.raises(tc.ShapeError, match="bad dimension name"):
        as_shape(("n m",))
    f = tc.parse("sum(x) + sum(y)", {"x": ("ｎ",), "y": ("n",)})
    found = tc.expr.variables(f)
    assert found["x"].shape == found["y"].shape == ("n",)
    assert tc.vector("x", "ｎ") is tc.vector("x", "n")


def test_names_are_normalised_and_two_spellings_are_an_error():
    assert tc.parse("ｘ + 1", SH) is tc.parse("x + 1", SH)
    assert tc.parse("ｘ + 1", {"ｘ": (3,)}) is tc.parse("x + 1", SH)
    with pytest.raises(tc.ShapeError, match="bad variable name"):
        build.var("x²")
    with pytest.raises(tc.ParseError, match="same name after Unicode normalisation"):
        tc.parse("ﬁ + fi")
    with pytest.raises(tc.ParseError, match="same name"):
        tc.parse("Ⅸ * IX")
    with pytest.raises(tc.ShapeError, match="same name"):
        tc.parse("t0 + 1", {"ｔ0": (3,), "t0": (3,)})
    with pytest.raises(tc.ParseError, match="unexpected character '²'"):
        tc.parse("x²")
    θ = np.array([1.0, 2.0])
    assert tc.parse("θ' @ θ", {"θ": (2,)}).evaluate(θ=θ) == pytest.approx(5.0)


@pytest.mark.parametrize("spelled,name", [("ｘ", "x"), ("ﬁ", "fi"), ("Ⅸ", "IX"), ("ｔ0", "t0")])
def test_names_given_to_the_api_are_normalised(spelled, name):
    v = tc.vector(spelled, "n")
    assert v is tc.vector(name, "n") and v.name == name
    f = tc.sum(v * v)
    value = np.array([1.0, 2.0])
    assert float(f.evaluate({spelled: value})) == float(f.evaluate(**{spelled: value})) == 5.0
    assert float(tc.compile(f)(**{spelled: value})) == 5.0
    np.testing.assert_allclose(tc.derivative(f, spelled).evaluate({spelled: value}), 2 * value)
    assert tc.parse(f"2 * {spelled}", {spelled: (2,)}) is tc.parse(f"2 * {name}", {name: (2,)})
    with pytest.raises(
        tc.TensorCalcError, match=f"{spelled!r} and {name!r}|{name!r} and {spelled!r}"
    ):
        f.evaluate({spelled: value, name: value})
    with pytest.raises(tc.TensorCalcError, match="same name after Unicode normalisation"):
        tc.compile(f)(**{spelled: value, name: value})


# -- shape specs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec,needle",
    [
        (1.5, "bad shape 1.5"),
        ((1.5,), "bad dimension 1.5"),
        ("²", "bad dimension name '²'"),
        (b"n", "bad shape b'n'"),
        ("n,,n", "empty dimension"),
        ((-1,), "must be positive"),
        ((0,), "must be positive"),
        ((MAX_DIM + 1,), "too large"),
        ((True,), "bad dimension True"),
        (tuple(range(1, MAX_RANK + 2)), "rank 53"),
    ],
)
def test_bad_shape_specs_are_shape_errors(spec, needle):
    with pytest.raises(tc.ShapeError, match=needle):
        tc.parse("x", {"x": spec})


def test_numpy_integers_are_dims():
    assert tc.parse("x", {"x": np.int64(3)}).shape == (3,)
    assert tc.parse("x", {"x": (np.int32(2), "n")}).shape == (2, "n")
    assert tc.parse("x", {"x": "n, 3"}).shape == ("n", 3)


def test_results_beyond_the_einsum_alphabet_are_shape_errors():
    x = tc.parse("x", {"x": (2,) * 27})
    with pytest.raises(tc.ShapeError, match=f"(limit|alphabet) of {MAX_RANK}"):
        tc.derivative(x, "x")


def test_long_products_stay_within_einsum_limits():
    f = tc.parse("*".join(["x"] * 100), SH)
    x = np.array([1.01, 0.99, 1.02])
    np.testing.assert_allclose(f.evaluate(x=x), x**100)
    np.testing.assert_allclose(tc.derivative(f, "x").evaluate(x=x), np.diag(100 * x**99))
    g = tc.parse("@".join(["A"] * 60) + " @ x", SH)
    A = np.eye(3) + 0.01 * np.arange(9).reshape(3, 3)
    np.testing.assert_allclose(g.evaluate(A=A, x=x), np.linalg.matrix_power(A, 60) @ x)
    assert str(g)


# -- the CLI ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["taylor", "x^2", "--at", 'x="a"'], "--at: expected a finite number"),
        (["taylor", "x^2", "--at", "x={}"], "--at: expected a finite number"),
        (["taylor", "x^2", "--at", "x=NaN"], "--at: expected a finite number"),
        (["taylor", "x^2", "--at", "x=[[1,2],[3]]"], "--at: expected a finite number"),
        (["check", "x^2", "--wrt", "x", "--seed", "-1"], "--seed must be an integer"),
        (["plot", "x^2", "--dpi", "0", "-o", "p.png"], "--dpi must be an integer 1..2000"),
        (["plot", "x^2", "-o", "x.unknownext"], "cannot write figures as '.unknownext'"),
        (["diff", "x", "--wrt", "x", "--shape", "A=n,,n"], "empty dimension"),
        (["diff", "x", "--wrt", "x", "--shape", "A=1.5"], "bad dimension"),
        (["diff", "x", "--wrt", "x", "--order", "-1"], "--order must be an integer"),
        (["diff", "x", "--wrt", "x", "--order", "1000000000"], "--order must be an integer 0.."),
        (["taylor", "x^2", "--at", "x=1", "--order", "1e9"], "--order must be an integer"),
        (["serve", "--port", "0"], "--port must be an integer 1..65535"),
        (["diff", "x", "--wrt", "1x"], "bad variable name '1x'"),
        (["critical", "x^2-1", "--over", "x=-Infinity:Infinity"], "finite numbers A < B"),
        (["critical", "x^2-1", "--over", "x=3:-3"], "finite numbers A < B"),
        (["minimize", "x^2", "--wrt", "x", "--x0", "x=1", "--lr", "nan"], "--lr must be"),
        (["minimize", "x^2", "--wrt", "x", "--x0", "x=1", "--steps", "-5"], "--steps must"),
    ],
)
def test_cli_rejects_bad_arguments_in_one_line(capsys, argv, needle):
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and needle in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_cli_writes_exactly_the_path_given_or_says_why_not(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "noext"
    assert main(["plot", "x^2", "-o", str(path)]) == 0
    assert path.read_bytes()[:4] == b"\x89PNG" and not (tmp_path / "noext.png").exists()
    capsys.readouterr()
    assert main(["plot", "x^2", "-o", "/dev/full"]) == 2
    assert "cannot write /dev/full" in capsys.readouterr().err
    assert main(["plot", "x^2", "-o", str(tmp_path / "missing" / "p.png")]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_cli_out_of_memory_is_one_line(capsys):
    code = main(["check", "x' @ A @ x", "--wrt", "x", "--shape", "A=99999999,99999999"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_cli_debug_shows_the_traceback(capsys, monkeypatch):
    monkeypatch.setenv("TC_DEBUG", "1")
    assert main(["diff", "x +", "--wrt", "x"]) == 2
    assert "Traceback" in capsys.readouterr().err


def test_plot_of_a_constant_is_a_clear_error(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    assert main(["plot", "3", "-o", str(tmp_path / "p.png")]) == 2
    err = capsys.readouterr().err
    assert "no free variable" in err and "internal error" not in err


def test_a_closed_pipe_ends_quietly():
    # `tensorcalc explain … | head -1`: the reader is gone before the output is written
    read, write = os.pipe()
    os.close(read)
    argv = ["explain", "norm(X - U @ V)^2", "--wrt", "V"]
    script = f"import tensorcalc.cli as c, sys; sys.exit(c.main({argv!r}))"
    proc = subprocess.run(
        [sys.executable, "-c", script], stdout=write, stderr=subprocess.PIPE, text=True, check=False
    )
    os.close(write)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr


# -- found by the fuzz campaign in code owned elsewhere (strict: they flip when fixed) --------


@pytest.mark.parametrize("n", [3, 5])
def test_evaluate_agrees_with_compiled_code_on_a_selected_softmax(n):
    # the evaluator's scatter of a selection read the other operands' column axis as summed
    f = tc.parse("softmax(softmax(x)[0:3])", {"x": (n,)})
    d = tc.derivative(f, "x")
    x = np.linspace(0.7, 1.4, n)
    fd = central_jacobian(lambda v: tc.evaluate(f, {"x": v}), x)
    np.testing.assert_allclose(tc.evaluate(d, {"x": x}), fd, atol=1e-8)
    np.testing.assert_allclose(tc.compile(d)(x=x), fd, atol=1e-8)


@pytest.mark.parametrize("backend", ["numpy", "jax", "torch", "dask", "tensorflow"])
@pytest.mark.parametrize(
    "text,expected",
    [("s^3^3^3^3", np.inf), ("s^2^2000", np.inf), ("s * (-2)^2001", -np.inf),
     ("s * 0^-1", np.inf), ("s * (-1)^0.5", np.nan)],
)  # fmt: skip
def test_compiled_constant_powers_overflow_like_evaluate(backend, text, expected):
    # Python's float ** raised OverflowError (ZeroDivisionError, a complex) for constants
    pytest.importorskip(BACKENDS[backend].module)
    f = tc.parse(text)
    with np.errstate(all="ignore"):
        got = tc.compile(f, backend=backend)(s=1.5)
        got = np.asarray(got.compute() if hasattr(got, "compute") else got)
        assert np.array_equal(got, expected, equal_nan=True)
        assert np.array_equal(tc.evaluate(f, {"s": 1.5}), expected, equal_nan=True)


# -- bounded work: long and deep inputs the parser accepts -----------------------------------


def _graph(e):
    return tc.expr.postorder([e])


def test_a_power_tower_derivative_is_linear_in_its_height(monkeypatch):
    # x^x^…^x (99 levels, within the parser's depth limit): the factoring search of the sum of
    # 99 chain-rule products tried every pair again after each merge (about k³ pair checks)
    tried = []
    merge = build._Factoring.merge
    monkeypatch.setattr(
        build._Factoring, "merge", lambda self, i, j: tried.append(1) or merge(self, i, j)
    )
    k = 99
    f = tc.parse("^".join(["s"] * k))
    d = tc.derivative(f, "s")
    assert len(tried) <= 2 * k and len(_graph(d)) <= 8 * k
    s = 0.9  # the tower converges for s in (e^-e, e^(1/e))
    fd = central_jacobian(lambda v: tc.evaluate(f, {"s": v}), np.float64(s))
    np.testing.assert_allclose(tc.evaluate(d, {"s": s}), fd, rtol=1e-6)


def test_a_matrix_chain_derivative_has_no_intermediate_larger_than_its_result():
    # d(A @ A @ … @ x)/dA is n×n×n; factoring its 12 terms once put sums of rank 9 inside the
    # products (rank 18 at 60 factors: 3^18 entries at n = 3, beyond the evaluator's cap)
    f = tc.parse(" @ ".join(["A"] * 12) + " @ x", {"A": ("n", "n"), "x": ("n",)})
    d = tc.derivative(f, "A")
    assert max(n.ndim for n in _graph(d)) <= 3
    rng = np.random.default_rng(1)
    A = np.linalg.qr(rng.standard_normal((3, 3)))[0]  # orthogonal: A^k stays of size 1
    x = rng.standard_normal(3)
    fd = central_jacobian(lambda v: tc.evaluate(f, {"A": v, "x": x}), A)
    np.testing.assert_allclose(tc.evaluate(d, {"A": A, "x": x}), fd, atol=1e-8)
    np.testing.assert_allclose(tc.compile(d)(A=A, x=x), fd, atol=1e-8)


def _nest(template, k, leaf):
    for _ in range(k):
        leaf = template.format(leaf)
    return leaf


@pytest.mark.parametrize(
    "text, wrt, nodes",
    [
        (" @ ".join(["A"] * 60) + " @ x", "A", 100),
        ("tr(" + " @ ".join(["A"] * 60) + ")", "A", 100),
        (_nest("s / ({})", 98, "s"), "s", 5),
        (_nest("exp(-{})", 40, "s"), "s", 200),
        (_nest("inv({})", 60, "A"), "A", 100),
        (" + ".join(f"s^{k}" for k in range(1, 200)), "s", 1000),
        (" + ".join(" @ ".join(["A"] * k) + " @ x" for k in range(1, 15)), "A", 150),
    ],
    ids=["chain", "trace", "quotients", "exps", "inverses", "polynomial", "chains"],
)
def test_long_and_deep_inputs_differentiate_to_small_graphs(text, wrt, nodes):
    f = tc.parse(text, {"s": (), "x": (3,), "A": (3, 3)})
    d = tc.derivative(f, wrt)
    assert len(_graph(d)) <= nodes and max(n.ndim for n in _graph(d)) <= d.ndim + 1
    rng = np.random.default_rng(2)
    point = {
        "s": 0.9,
        "x": rng.standard_normal(3),
        "A": np.linalg.qr(rng.standard_normal((3, 3)))[0],
    }
    point = {k: v for k, v in point.items() if k in tc.expr.variables(f)}
    fd = central_jacobian(lambda v: tc.evaluate(f, {**point, wrt: v}), np.asarray(point[wrt]))
    np.testing.assert_allclose(tc.evaluate(d, point), fd, rtol=1e-5, atol=1e-7)


def test_greedy_contraction_order_of_a_long_chain_keeps_matrices():
    # 40 matrices in a chain (beyond the exact search): every pairwise product is n×n×n work
    groups = [(k, k + 1) for k in range(40)]
    sizes = dict.fromkeys(range(41), 3)
    cost, _ = paths.search(groups, (0, 40), sizes)
    assert cost == 39 * 27


def test_critical_point_of_a_constant_is_a_clear_error(capsys):
    assert main(["critical", "3"]) == 2
    assert "no variable" in capsys.readouterr().err


def test_cli_output_name_too_long_is_a_usage_error(capsys):
    # found by the CLI fuzz: pathlib's is_dir raised OSError (ENAMETOOLONG) out of the parser
    assert main(["plot", "x^2", "-o", "9" * 400]) == 2
    err = capsys.readouterr().err
    assert "cannot write" in err and "Traceback" not in err


@pytest.mark.parametrize("text", ["sum(x + y' @ x)", "sum(A @ x - (y' @ x) * ones(3))"])
def test_all_ones_factors_on_one_summed_index_count_it_once(text):
    # found by the fuzz campaign: d/dy of sum(x + y'x) was 9x, not 3x (Σ_i 1_i 1_i counted n²)
    f = tc.parse(text, {"x": (3,), "y": (3,), "A": (3, 3)})
    rng = np.random.default_rng(3)
    point = {"x": rng.standard_normal(3), "y": rng.standard_normal(3), "A": np.eye(3)}
    point = {k: v for k, v in point.items() if k in tc.expr.variables(f)}
    d = tc.derivative(f, "y")
    fd = central_jacobian(lambda v: tc.evaluate(f, {**point, "y": v}), point["y"])
    np.testing.assert_allclose(tc.evaluate(d, point), fd, atol=1e-8)


def test_compiled_delta_product_keeps_a_scalar_sum_together():
    # found by the fuzz campaign: a blocked product placed on a delta wrote its scalar factor
    # 1 - 2 tr(A)²/r unparenthesised, 1.0 - 2.0 * … * x: compiled d/dA was off by 0.9
    f = tc.parse("tr(A) * s / (1 + tr(A)^2) * s * x", {"s": (), "x": (3,), "A": (3, 3)})
    d = tc.derivative(f, "A")
    point = {"A": 0.3 * np.eye(3), "s": 0.7, "x": np.array([1.0, 2.0, 3.0])}
    fd = central_jacobian(lambda v: tc.evaluate(f, {**point, "A": v}), point["A"])
    np.testing.assert_allclose(tc.evaluate(d, point), fd, atol=1e-8)
    np.testing.assert_allclose(tc.compile(d)(**point), fd, atol=1e-8)


def test_nested_functions_of_a_symmetric_matrix_orient_in_bounded_work(monkeypatch):
    # found by the fuzz campaign (5 s): 50 nested sin of a symmetric matrix give products of 50
    # symmetric cos(…) operands, and orienting each rebuilt the product once per operand
    from tensorcalc.simplify import symmetry

    built = []
    einsum = symmetry.einsum
    monkeypatch.setattr(symmetry, "einsum", lambda *a: built.append(1) or einsum(*a))
    symmetry.orient.cache_clear()
    m = "inv(eye(3) + outer(x, y)'' @ outer(x, y)' / 9)"
    f = tc.parse("sin(" * 50 + f"{m} @ {m}" + ")" * 50, {"x": (3,), "y": (3,)})
    d = tc.derivative(f, "x")
    assert len(built) < 2000  # 21,531 before
    point = {"x": np.array([0.3, -0.2, 0.5]), "y": np.array([0.1, 0.4, -0.3])}
    fd = central_jacobian(lambda v: tc.evaluate(f, {**point, "x": v}), point["x"])
    np.testing.assert_allclose(tc.evaluate(d, point), fd, atol=1e-7)


def test_compiled_inf_times_an_identity_is_zero_off_the_diagonal_like_evaluate():
    # found by the fuzz campaign: d/dA tr(A)^(3^27) = k tr(A)^(k-1) I is inf on the diagonal
    f = tc.parse("tr(A)^3^3^3", {"A": (3, 3)})
    d = tc.derivative(f, "A")
    with np.errstate(all="ignore"):
        want, got = tc.evaluate(d, {"A": np.eye(3)}), tc.compile(d)(A=np.eye(3))
    np.testing.assert_array_equal(got, want)


def test_compiled_nan_through_a_reversal_stays_where_evaluate_puts_it():
    # found by the fuzz campaign: sqrt(sin(x - x[::-1])) at a point where one entry is nan
    f = tc.parse("sqrt(sin(x - x[::-1]))", {"x": (3,)})
    d = tc.derivative(f, "x")
    x = np.array([1.2, 0.8, 0.6])
    with np.errstate(all="ignore"):
        want, got = tc.evaluate(d, {"x": x}), tc.compile(d)(x=x)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))


def test_compiled_division_by_a_zero_constant_is_inf_like_evaluate():
    # found by the fuzz campaign: t / (1 + -1^2)^2 compiled to `t0 = 1.0 / 0.0` (ZeroDivisionError)
    f = tc.parse("2 - t + -t / (1 + t / (1 + -1^2)^2) * 1")
    for e in (f, tc.derivative(f, "t")):
        with np.errstate(all="ignore"):
            want, got = tc.evaluate(e, {"t": 0.7}), tc.compile(e)(t=0.7)
        np.testing.assert_array_equal(got, want)


def test_a_delta_times_a_delta_is_one_delta_and_prints_so():
    # found by the fuzz campaign: diag(x) * diag(x) / diag(x) * … kept one delta per factor and
    # printed them as eye(3)^k, which parses back to a power: 0 · inf = nan off the diagonal
    sh = {"x": (3,), "y": (3,)}
    assert tc.parse("eye(3) * eye(3)", sh) is tc.parse("eye(3)", sh)
    assert tc.parse("diag(x) * diag(y)", sh) is tc.parse("diag(x * y)", sh)
    assert tc.parse("eye(3) * eye(3) * A", SH) is tc.parse("A * eye(3)", SH)
    x = np.array([0.7, 1.1, 1.3])
    for text, want in [
        ("diag(x) * diag(x) / diag(x)", np.diag(x)),
        ("diag(x)*diag(x)*diag(x)/diag(x)*diag(x)*diag(x)/diag(x)*diag(x)", np.diag(x**4)),
    ]:
        f = tc.parse(text, sh)
        assert "eye(3)^" not in str(f)
        with np.errstate(all="ignore"):
            for e in (f, tc.parse(str(f), sh)):
                np.testing.assert_allclose(e.evaluate(x=x), want, rtol=1e-12)
    assert tc.parse("sum(eye(3) * eye(3))", sh).evaluate() == 3.0


def test_a_long_diag_product_keeps_its_delta_placed_in_a_power_tower_derivative():
    # found by the fuzz campaign: in d/dx x^x^…^x (35+ levels) a diag(v) of 31 factors was too
    # long to merge, stayed a dense matrix inside the next product, and its zeros met
    # x[0]^x^… = inf as 0 · inf = nan in ∂f_1/∂x_0, where f_1 is finite and the slope is 0
    f = tc.parse("x" + "^x" * 40, SH)
    d = tc.derivative(f, "x")
    assert build.diag_vector(d) is not None  # an elementwise map's Jacobian is one diag(v)
    x = np.array([5.0, 1.1, 0.8])  # f[0] = inf, f[1:] finite
    fd = central_jacobian(lambda v: tc.evaluate(f, {"x": v}), x)
    with np.errstate(all="ignore"):
        for got in (tc.evaluate(d, {"x": x}), tc.compile(d)(x=x)):
            assert got[0, 0] == np.inf
            np.testing.assert_array_equal(got[1:, 0], [0.0, 0.0])
            np.testing.assert_allclose(got[1:, 1:], fd[1:, 1:], atol=1e-7)
