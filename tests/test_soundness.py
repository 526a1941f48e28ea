"""Issue 20: sums of ones are counts, and every check verifies the derivative it shows.

Every reproducer of the issue, at symbolic sizes (``x: n``, the default on the page and in the
CLI) and at concrete ones, is compared with central differences of *independent NumPy code*
(never tensorcalc's evaluate): the value of f, the derivative as ``tc.derivative`` returns it,
the same derivative read back from its printed text, and both compiled in every installed
backend.  Then the checks: a rewrite rule planted wrong in the simplifier's table makes
``tc.check``, the CLI's ``check``, the page's Check, ``explain(verify=True)`` and an exported
script's ``check_gradient`` fail, because each verifies the derivative that is printed.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import tensorcalc as tc
from conftest import as_numpy, assert_close, central_hessian, central_jacobian
from tensorcalc.build import split_coef
from tensorcalc.cli import main
from tensorcalc.codegen import BACKENDS
from tensorcalc.expr import variables
from tensorcalc.ops import Op
from tensorcalc.simplify import rules
from tensorcalc.simplify.finite import finite_form

SIZES = {"n": 4, "N": 5, "D": 3, "m": 3}
SHAPES = {"x": "n", "X": "N,D", "w": "D", "y": "N", "z": "m", "A": "n,n", "s": ""}


def _norm(v):
    return np.sqrt(np.sum(v * v))


# (expression, wrt, independent NumPy f of the values); n, N, D, m are the sizes
CASES = [
    ("mean(x)^2", "x", lambda v: np.mean(v["x"]) ** 2),
    ("mean(X @ w - y)^2", "w", lambda v: np.mean(v["X"] @ v["w"] - v["y"]) ** 2),
    ("mean(X, 1)' @ mean(X, 1)", "X", lambda v: v["X"].mean(1) @ v["X"].mean(1)),
    ("(sum(ones(n)) * norm(x))^-1", "x", lambda v: 1 / (v["x"].size * _norm(v["x"]))),
    ("(tr(eye(n)) * norm(x))^-1", "x", lambda v: 1 / (v["x"].size * _norm(v["x"]))),
    ("(sum(ones(n)) * norm(x))^0.5", "x", lambda v: np.sqrt(v["x"].size * _norm(v["x"]))),
    ("sum(ones(n))^2 * norm(x)", "x", lambda v: v["x"].size ** 2 * _norm(v["x"])),
    ("sum(ones(n))^-1 * sum(x)", "x", lambda v: np.sum(v["x"]) / v["x"].size),
    ("x' @ (x / norm(x))", "x", lambda v: _norm(v["x"])),
    ("sum(x * x / norm(x))", "x", lambda v: _norm(v["x"])),
    # found while fixing: the printer wrote this scalar broadcast as x + norm(x)
    ("x + sum(ones(m)) * norm(x)", "x", lambda v: v["x"] + SIZES["m"] * _norm(v["x"])),
    ("sum(ones(m))^-2 * mean(x)^3", "x", lambda v: np.mean(v["x"]) ** 3 / SIZES["m"] ** 2),
    # the evaluation form's norm rewrite next to ones, counts and constant norms
    ("(s * ones(n))' @ ((s * ones(n)) / norm(s * ones(n)))", "s",
     lambda v: abs(v["s"]) * np.sqrt(SIZES["n"])),
    ("(x' @ x) * ones(n)' @ (ones(n) / norm(x))", "x", lambda v: SIZES["n"] * _norm(v["x"])),
    ("tr(ones(n, n) * (x @ x') / norm(x))", "x", lambda v: _norm(v["x"])),
    ("sum(X * X / norm(X)) * sum(ones(m))", "X", lambda v: _norm(v["X"]) * SIZES["m"]),
    ("sum(sum(X * X, 1)) / norm(X) * mean(ones(N))", "X", lambda v: _norm(v["X"])),
    ("sum(((A @ x) @ ones(n)') * ((A @ x) @ ones(n)') / norm(A @ x))", "x",
     lambda v: SIZES["n"] * _norm(v["A"] @ v["x"])),
    # found by a random search: finite_form took norm(ones(n)) for a norm of a variable
    ("((A' / tr(eye(n))) @ (x / norm(ones(n))))' @ "
     "(((A' / tr(eye(n))) @ (x / norm(ones(n)))) / norm((A' / tr(eye(n))) @ (x / norm(ones(n)))))",
     "A", lambda v: _norm(v["A"].T @ v["x"] / SIZES["n"] ** 1.5)),
]  # fmt: skip
IDS = [c[0] for c in CASES]
KINDS = ["symbolic", "concrete"]


def _parse(text, kind):
    """f with symbolic sizes (n) or concrete ones (4): the same text with the names replaced."""
    names = set(re.findall(r"[A-Za-z_]\w*", text))
    shapes = {k: v for k, v in SHAPES.items() if k in names}
    if kind == "concrete":
        text = re.sub(r"\b([nNDm])\b", lambda m: str(SIZES[m.group(1)]), text)
        shapes = {k: ",".join(str(SIZES[d]) for d in v.split(",") if d) for k, v in shapes.items()}
    return tc.parse(text, shapes), shapes


def _values(f, seed=0):
    rng = np.random.default_rng(seed)
    out = {}
    for name, v in sorted(variables(f).items()):
        shape = tuple(d if isinstance(d, int) else SIZES[d] for d in v.shape)
        out[name] = rng.normal(size=shape)
    return out


def _fd(numpy_f, values, wrt, order=1):
    fun = lambda x: numpy_f({**values, wrt: x})  # noqa: E731
    return (central_jacobian if order == 1 else central_hessian)(fun, values[wrt])


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("text, wrt, numpy_f", CASES, ids=IDS)
def test_value_and_derivative_agree_with_independent_numpy(text, wrt, numpy_f, kind):
    f, _ = _parse(text, kind)
    values = _values(f)
    assert_close(f.evaluate(values, dims=SIZES), numpy_f(values), rtol=1e-10, atol=1e-12)
    known = {k: v.shape for k, v in variables(f).items()}
    shown_f = tc.parse(str(f), known)  # f as printed reads back as f
    assert_close(shown_f.evaluate(values, dims=SIZES), numpy_f(values), rtol=1e-10, atol=1e-12)
    d = tc.derivative(f, wrt)
    expected = _fd(numpy_f, values, wrt)
    assert_close(d.evaluate(values, dims=SIZES), expected, rtol=1e-6, atol=1e-8)
    # the printed answer is the answer: read back from its text, it has the same values
    shown = tc.parse(str(d), known)
    assert_close(shown.evaluate(values, dims=SIZES), expected, rtol=1e-6, atol=1e-8)


SCALAR = [c for c in CASES if not c[0].startswith("x +")]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("text, wrt, numpy_f", SCALAR, ids=[c[0] for c in SCALAR])
def test_second_derivative_agrees_with_independent_numpy(text, wrt, numpy_f, kind):
    f, _ = _parse(text, kind)
    values = _values(f, seed=1)
    h = tc.derivative(f, wrt, order=2)
    expected = _fd(numpy_f, values, wrt, order=2)
    assert_close(h.evaluate(values, dims=SIZES), expected, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("backend", ["numpy", "jax", "torch", "tensorflow", "dask"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("text, wrt, numpy_f", CASES, ids=IDS)
def test_compiled_value_and_derivative(text, wrt, numpy_f, kind, backend, jax_x64):
    pytest.importorskip(BACKENDS[backend].module)
    f, _ = _parse(text, kind)
    values = _values(f, seed=2)
    d = tc.derivative(f, wrt)
    fn = tc.compile([f, d], backend)
    carried = {d for v in variables(f).values() for d in v.shape}
    value, grad = fn(dims={d: k for d, k in SIZES.items() if d not in carried}, **values)
    assert_close(as_numpy(value), numpy_f(values), rtol=1e-9, atol=1e-12)
    assert_close(as_numpy(grad), _fd(numpy_f, values, wrt), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("text, wrt, numpy_f", CASES, ids=IDS)
def test_check_passes_and_names_the_printed_derivative(text, wrt, numpy_f, kind):
    f, _ = _parse(text, kind)
    report = tc.check(f, wrt)
    assert report.passed, str(report)
    assert report.checked == str(tc.derivative(f, wrt))
    assert report.source == "as tc.derivative returns it"


@pytest.mark.parametrize(
    "text, printed",
    [
        ("mean(x)^2", "2 * sum(x) * ones(n) / sum(ones(n))^2"),
        ("sum(ones(n))^2 * norm(x)", "sum(ones(n))^2 * x / norm(x)"),
    ],
)
def test_counts_stay_in_the_printed_derivative(text, printed):
    # the printed answers were 2 * sum(x) * ones(n) and x / norm(x): (Σ 1)^k was 1
    assert str(tc.derivative(text, "x", shapes={"x": "n"})) == printed


def test_the_norm_rewrite_of_the_evaluation_form_counts_no_summed_ones():
    f = tc.parse("x' @ (x / norm(x))", {"x": "n"})
    assert str(finite_form(f)) == "norm(x)"  # was sum(ones(n)) * norm(x)


# -------------------------------------------------------------- one truth for the checks


def _broken(e):
    """A deliberately wrong rewrite: 2·P = P (drops a product's coefficient 2)."""
    c, core = split_coef(e)
    return core if c == 2.0 else None


@pytest.fixture
def planted(monkeypatch):
    monkeypatch.setitem(rules.REWRITES, Op.EINSUM, [_broken, *rules.REWRITES[Op.EINSUM]])
    return tc.parse("sum(x * x) + sum(x)", {"x": "n"})


def test_check_fails_when_a_planted_rewrite_is_wrong(planted):
    d = tc.derivative(planted, "x")
    assert str(d) == "1 + x"  # the broken rule made the printed derivative wrong
    report = tc.check(planted, "x")
    assert not report.passed and report.checked == "1 + x", str(report)


def test_cli_check_fails_when_a_planted_rewrite_is_wrong(planted, capsys):
    status = main(["check", "sum(x * x) + sum(x)", "--wrt", "x", "--shape", "x=n"])
    out = capsys.readouterr().out
    assert status == 1 and out.startswith("FAIL") and "checked         1 + x" in out


def test_page_check_fails_when_a_planted_rewrite_is_wrong(planted):
    from tensorcalc.web import compute
    from tensorcalc.web.limits import Limits, validate

    body = {"expression": "sum(x * x) + sum(x)", "wrt": "x", "shapes": {"x": "n"}, "seed": 1}
    r = compute.check(validate("check", body, Limits()))
    assert r["passed"] is False and r["checked"]["text"] == "1 + x"


def test_explain_verify_fails_when_a_planted_rewrite_is_wrong(planted):
    with pytest.raises(tc.TensorCalcError, match="does not verify"):
        tc.explain(planted, "x", verify=True)


def test_exported_script_check_fails_when_a_planted_rewrite_is_wrong(planted):
    src = tc.codegen([planted, tc.derivative(planted, "x")], script=True)
    namespace: dict = {}
    exec(compile(src, "exported", "exec"), namespace)  # our own generated source
    assert namespace["check_gradient"]() is False


def test_checks_pass_without_the_plant():
    f = tc.parse("sum(x * x) + sum(x)", {"x": "n"})
    assert str(tc.derivative(f, "x")) == "1 + 2 * x"
    assert tc.check(f, "x").passed
    e = tc.explain(f, "x", verify=True)
    assert e.check.passed and e.check.checked == "1 + 2 * x"


def test_check_verifies_a_given_derivative_as_given():
    f = tc.parse("mean(x)^2", {"x": "n"})
    wrong = tc.check(f, "x", derivative="2 * sum(x) * ones(n)")  # the printed answer
    assert not wrong.passed and wrong.source == "as given"
    assert tc.check(f, "x", derivative="2 * mean(x) * ones(n) / sum(ones(n))").passed
    with pytest.raises(tc.TensorCalcError, match="shape"):
        tc.check(f, "x", derivative="2 * mean(x)")


@pytest.mark.parametrize("layout", ["jacobian", "numerator", "denominator"])
@pytest.mark.parametrize(
    "text, wrt, order",
    [("a' @ X @ b", "X", 1), ("x' @ A @ x", "x", 1), ("A @ x", "x", 1), ("x' @ A @ x", "x", 2)],
)
def test_check_compares_the_derivative_in_its_layout(text, wrt, order, layout):
    shapes = {"a": "m", "X": "m,n", "b": "n", "x": "n", "A": "n,n"}
    f = tc.parse(text, shapes)
    report = tc.check(f, wrt, order=order, layout=layout)
    assert report.passed, str(report)
    assert report.checked == str(tc.derivative(f, wrt, order=order, layout=layout))


# ------------------------------------------- found while auditing: templates and precedence


def _logsumexp(a):
    m = np.max(a)
    return m + np.log(np.sum(np.exp(a - m)))


@pytest.mark.parametrize("backend", ["numpy", "jax", "torch", "tensorflow", "dask"])
@pytest.mark.parametrize(
    "text, numpy_f",
    [
        ("norm(A + B)", lambda v: _norm(v["A"] + v["B"])),  # Dask: sqrt(sum(A + B * A + B))
        ("norm(A @ x * x)", lambda v: _norm(v["A"] @ v["x"] * v["x"])),
        ("logsumexp(A + B)", lambda v: _logsumexp(v["A"] + v["B"])),  # torch: A + B.reshape(-1)
        ("logsumexp(A @ B)", lambda v: _logsumexp(v["A"] @ v["B"])),
    ],
)
def test_a_template_argument_is_one_operand(text, numpy_f, backend, jax_x64):
    pytest.importorskip(BACKENDS[backend].module)
    f = tc.parse(text, {"A": "n,n", "B": "n,n", "x": "n"})
    rng = np.random.default_rng(3)
    values = {k: rng.normal(size=(3, 3) if k != "x" else 3) for k in variables(f)}
    assert_close(as_numpy(tc.compile(f, backend)(**values)), numpy_f(values), rtol=1e-9)


@pytest.mark.parametrize("backend", ["numpy", "jax", "torch", "tensorflow", "dask"])
@pytest.mark.parametrize(
    "text, numpy_f",
    [
        # i20-oracles' finding: compiling the derivative raised KeyError '<placed 1>' (a scaled
        # product of placed selections: 0.25 * sum(select(2, 4, 1, 1)) * ones(4))
        ("sum((c - mean(c))[1:3])", lambda c: np.sum((c - c.mean())[1:3])),
        ("sum((3 * c - mean(c))[1:3] * c[0:2])", lambda c: np.sum((3 * c - c.mean())[1:3] * c[:2])),
    ],
)
def test_compiled_derivative_of_a_slice_of_a_centred_vector(text, numpy_f, backend, jax_x64):
    pytest.importorskip(BACKENDS[backend].module)
    f = tc.parse(text, {"c": (4,)})
    c = np.arange(1.0, 5.0) ** 1.3
    value, grad = tc.compile([f, tc.derivative(f, "c")], backend)(c=c)
    assert_close(as_numpy(value), numpy_f(c), rtol=1e-9)
    assert_close(as_numpy(grad), central_jacobian(numpy_f, c), rtol=1e-6, atol=1e-8)


def test_a_derivatives_inputs_are_a_hint_for_an_equal_node_used_elsewhere():
    # i20-oracles' finding: tc.derivative notes d's inputs on the interned node; the same node
    # built elsewhere (zeros(3, 3)) raised "'x' should have shape (3,)" for an unrelated x
    tc.derivative(tc.parse("sum(x)", {"x": (3,)}), "x", order=2)  # zeros(3, 3), inputs x: 3
    z = tc.parse("zeros(3, 3)")
    assert np.array_equal(z.evaluate({"x": np.ones(4)}), np.zeros((3, 3)))
    assert np.array_equal(as_numpy(tc.compile(z)(x=np.ones(4))), np.zeros((3, 3)))
    d = tc.derivative(tc.parse("A @ x", {"A": ("M", "n"), "x": ("n",)}), "A")  # still binds M
    assert d.evaluate(A=np.ones((2, 3)), x=np.ones(3)).shape == (2, 2, 3)


@pytest.mark.parametrize("layout", ["jacobian", "numerator", "denominator"])
def test_page_check_checks_the_derivative_the_page_shows(layout):
    from tensorcalc.web import compute
    from tensorcalc.web.limits import Limits, validate

    body = {"expression": "mean(X @ w - y)^2", "wrt": "w", "layout": layout, "seed": 5,
            "shapes": {"X": "N,D", "w": "D", "y": "N"}}  # fmt: skip
    shown = compute.derivative(validate("derivative", body, Limits()))
    r = compute.check(validate("check", body, Limits()))
    assert r["passed"] is True and r["checked"]["text"] == shown["text"]
    assert "sum(ones(N))^2" in shown["text"]  # the 1/N² of the mean, squared
