"""Step-by-step explanations (``tc.explain``): the seeds' hand derivations, step by step,
every step verified; renderings; the CLI; and a property test over random expressions."""

from __future__ import annotations

import json
import os
import pathlib
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import tensorcalc as tc
from tensorcalc.api import _verify
from tensorcalc.build import einsum, var
from tensorcalc.cli import main
from tensorcalc.diff.rules import PARTIAL
from tensorcalc.explain import SYMMETRIC_DIRECTION, explain_steps
from tensorcalc.explain.display import Display
from tensorcalc.explain.texts import HIGHER, RULE_TEXT, SYMMETRIC
from tensorcalc.expr import variables
from tensorcalc.numeric.check import random_values
from tensorcalc.numeric.evaluate import evaluate
from test_properties import SHAPES, problems, random_env

SEEDS = json.loads((pathlib.Path(__file__).parent / "data" / "explain-seeds.json").read_text())
PROPERTY_EXAMPLES = int(os.environ.get("TC_EXPLAIN_EXAMPLES", "300"))


def rhs_expr(step):
    """The right-hand side of a step, parsed back (du/dx is read as the variable du_dx)."""
    text = step.text.split(" = ")[-1]
    return tc.parse(re.sub(r"\bd(\w+)/d(\w+)", r"d\1_d\2", text))


def same_value(a, b, seed=0):
    rng = np.random.default_rng(seed)
    names = set(variables(a)) | set(variables(b))
    values = {n: rng.uniform(0.5, 1.5) for n in names}
    return np.allclose(evaluate(a, values), evaluate(b, values), rtol=1e-9, atol=1e-12)


def assert_in_order(steps, matches, expected):
    """Each expected item matches a step, in the seed's order (other steps may come between)."""
    k = 0
    for item in expected:
        while k < len(steps) and not matches(steps[k], item):
            k += 1
        assert k < len(steps), f"no step (in order) gives {item!r}:\n" + "\n".join(
            s.text for s in steps
        )
        k += 1


def all_verified(e):
    return all(s.verified is True for s in e.steps)


# ------------------------------------------------------------------ seeds: rules and limit


@pytest.mark.parametrize("case", SEEDS["rules"], ids=lambda c: c["expr"])
def test_seed_scalar_derivations(case):
    e = tc.explain(case["expr"], case["wrt"], style=case["style"], verify=True)
    assert all_verified(e)

    def matches(step, want):
        try:
            return same_value(rhs_expr(step), tc.parse(want))
        except tc.TensorCalcError:
            return False

    assert_in_order(e.steps, matches, case["rhs"])


def test_chain_names_the_parts_as_the_seed():
    e = tc.explain("(sin(x^4))^5", "x")
    assert e.steps[0].text == "let u = x^4, v = sin(u), f = v^5"
    assert e.steps[0].rule == "name the parts"
    assert same_value(e.result, tc.parse("20 * x^3 * sin(x^4)^4 * cos(x^4)"))


# ------------------------------------------------------------------------- seeds: index


@pytest.mark.parametrize("case", SEEDS["index"], ids=lambda c: c["expr"][:20])
def test_seed_index_derivations(case):
    shapes = case["shapes"]
    e = tc.explain(case["expr"], case["wrt"], style="index", shapes=shapes, verify=True)
    assert all_verified(e)
    assert_in_order(e.steps, lambda s, want: want in s.text, case["text"])
    want = tc.derivative(case["expr"], case["wrt"], shapes=shapes)
    assert e.result is want
    if case["result"]:
        known = {n: v.shape for n, v in variables(want).items()}
        assert _close_arrays(e.result, tc.parse(case["result"], known))


def _close_arrays(a, b):
    values, dims = random_values(a)
    return np.allclose(evaluate(a, values, dims), evaluate(b, values, dims))


def test_index_terms_merge_only_when_equal():
    # ∂(c cᵀ)/∂x has two different terms; they must not be collected into one
    e = tc.explain("cos(x) @ cos(x)'", "x", style="index", shapes={"x": "n"}, verify=True)
    assert "[-sin(x)]_p δ_pk e_q + e_p [-sin(x)]_q δ_qk" in e.steps[3].text


def test_kmeans_centres_from_the_zero_gradient():
    case = SEEDS["index"][-1]
    centres = tc.solve_stationary(case["expr"], case["wrt"], shapes=case["shapes"])
    rng = np.random.default_rng(3)
    r = rng.uniform(0.1, 1, (6, 2))
    x = rng.normal(size=(6, 3))
    expected = (r.T @ x) / r.sum(axis=0)[:, None]  # μⱼ = Σₙ r_nj xₙ / Σₙ r_nj
    assert np.allclose(centres.evaluate({"R": r, "X": x}), expected)


# ---------------------------------------------------------------------- seeds: backprop


def test_seed_002_backprop_tables_exactly():
    case = SEEDS["backprop"]
    e = tc.explain(case["expr"], case["wrt"], style="backprop", at=case["at"], verify=True)
    assert all_verified(e)
    forward = {r["quantity"]: r["value"] for r in e.tables["forward"]}
    backward = {r["quantity"]: r["value"] for r in e.tables["backward"]}
    for name, value in case["forward"].items():
        assert forward[name] == value, name
    for name, value in case["backward"].items():
        assert backward[name] == value, name
    assert [r["quantity"] for r in e.tables["forward"]][-5:] == ["a", "b", "u", "v", "f"]
    text = str(e)
    assert "forward pass (" in text and "-4096" in text
    assert "chain" not in e.tables  # the seed's chain table is for one input
    json.loads(e.to_json())


def test_seed_002_three_tables_in_the_seed_order():
    """Seed 002's forward pass, local partials and its own backward pass (du_dw, dv_dw, df_dw:
    d node/dw accumulated from the input), row by row in the seed's order."""
    case = SEEDS["backprop"]
    e = tc.explain(
        case["expr"], case["seed_tables_wrt"], style="backprop", at=case["at"], verify=True
    )
    assert all_verified(e)
    rows = {k: [[r["quantity"], r["value"]] for r in e.tables[k]] for k in e.tables}
    assert rows["forward"][-5:] == case["seed_forward"]
    # the local partials: the backward rows that are not accumulations (no "·" in the formula)
    local = [[r["quantity"], r["value"]] for r in e.tables["backward"] if "·" not in r["formula"]]
    assert local == case["seed_partials"]
    assert rows["chain"] == case["seed_chain"]
    assert rows["backward"][-1] == ["df/dw", case["seed_chain"][-1][1]]  # both end at -4096
    chain_steps = [s for s in e.steps if s.rule.startswith("forward mode")]
    assert [s.text for s in chain_steps] == [
        "du/dw = ∂u/∂a · da/dw + ∂u/∂b · db/dw",
        "dv/dw = ∂v/∂a · da/dw + ∂v/∂b · db/dw",
        "df/dw = ∂f/∂u · du/dw + ∂f/∂v · dv/dw",
    ]
    assert (
        r"\frac{\mathrm{d} u}{\mathrm{d} w} = \frac{\partial u}{\partial a} \, "
        r"\frac{\mathrm{d} a}{\mathrm{d} w}" in e.latex()
    )
    assert "*forward mode for w (" in e.markdown() and "| du/dw |" in e.markdown()
    d = json.loads(e.to_json())
    assert d["tables"]["chain"][0] == {
        "quantity": "du/dw",
        "formula": "∂u/∂a · da/dw + ∂u/∂b · db/dw",
        "value": -32,
    }
    assert set(d["captions"]) == {"forward", "backward", "chain"}


def test_backprop_of_a_traced_function():
    def f(w, x, y, z):
        a, b = (w + x + y + z) ** 2, (w + x - y - z) ** 2
        u, v = (a + b) ** 2, (a - b) ** 2
        return (u + v) ** 2

    expr = tc.formula(f, -1.0, 0.0, -2.0, 1.0)
    at = {"w": -1.0, "x": 0.0, "y": -2.0, "z": 1.0}
    e = tc.explain(expr, ["w", "x", "y", "z"], style="backprop", at=at, verify=True)
    backward = {r["quantity"]: r["value"] for r in e.tables["backward"]}
    assert backward["df/dw"] == backward["df/dz"] == -4096  # totals (∂ marks a local partial)
    assert {r["quantity"]: r["value"] for r in e.tables["forward"]}["f"] == 1024


def test_least_squares_chain_with_shapes():
    case = SEEDS["least_squares"]
    e = tc.explain(case["expr"], case["wrt"], style="backprop", shapes=case["shapes"], verify=True)
    assert all_verified(e)
    by_lhs = {s.text.split(" = ")[0]: s for s in e.steps}
    for lhs, rhs, shapes in case["local"]:
        step = by_lhs[lhs]
        assert step.shapes == shapes
        known = {"e": ("N",), "Phi": ("N", "D")}
        assert _close_arrays(step.rhs, step.rhs) and str(tc.parse(rhs, known)) in step.text
    formula, shapes = case["chain"]
    chain = next(s for s in e.steps if formula in s.text)
    assert chain.shapes == shapes
    known = {"Phi": ("N", "D"), "y": ("N",), "theta": ("D",)}
    assert _close_arrays(e.result, tc.parse(case["result"], known))


# ------------------------------------------------------------ the differential style, CLI

NMF = ("norm(X - U @ V)^2", "V", {"X": "n,m", "U": "n,r"})


def test_differential_reads_off_the_gradient():
    e = tc.explain(*NMF[:2], shapes=NMF[2], verify=True)
    assert e.style == "differential" and all_verified(e)
    assert e.steps[0].text == "let E = X - U @ V, f = norm(E)^2"
    assert e.steps[1].text.startswith("df = ") and "dE" in e.steps[1].text
    assert e.steps[2].text == "dE = -U @ dV"
    assert e.steps[-1].text.startswith("∂f/∂V = ")
    assert e.result is tc.derivative(*NMF[:2], shapes=NMF[2])
    texts = [s.text for s in e.steps]
    assert len(texts) == len(set(texts))  # never the same line twice


def test_cli_explain_example(capsys):
    argv = ["explain", NMF[0], "--wrt", "V", "--shape", "X=n,m", "--shape", "U=n,r"]
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    steps = [line for line in out if re.match(r"\d+\. ", line)]
    assert 3 <= len(steps) <= 8
    assert all(len(line) < 100 for line in out)
    assert main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["style"] == "differential" and data["result"]["text"]
    assert main([*argv, "--latex"]) == 0
    assert capsys.readouterr().out.startswith("\\begin{align*}")
    assert main([*argv, "--markdown", "--verify"]) == 0
    assert "✓" in capsys.readouterr().out


def test_cli_bad_input_exits_2(capsys):
    assert main(["explain", "x^2", "--wrt", "y"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no variable 'y'" in err[0]
    assert main(["explain", "x^2", "--wrt", "x", "--style", "limit", "--order", "0"]) == 2


# ------------------------------------------------------------------ what a student sees


def test_keeps_the_users_spelling():
    e = tc.explain("log(1 + exp(t))", "t")
    assert "log(1 + exp(t))" in e.title
    assert "softplus" not in str(e)


def test_a_sum_is_called_a_sum():
    e = tc.explain("sum(exp(x))", "x", shapes={"x": "n"})
    step = next(s for s in e.steps if s.text.startswith("df = "))
    assert "product rule" not in step.rule and "linearity" in step.rule


def test_hessian_explains_the_derivative_of_the_gradient():
    e = tc.explain("x' @ A @ x", "x", 2, shapes={"A": "n,n"}, verify=True)
    assert any(s.rule == "differentiate the derivative again" for s in e.steps)
    assert e.result is tc.hessian("x' @ A @ x", "x", shapes={"A": "n,n"})


def test_renderings():
    e = tc.explain("(sin(x^4))^5", "x", verify=True)
    assert e.latex().startswith("\\begin{align*}") and e.latex().endswith("\\end{align*}")
    assert e._repr_latex_().startswith("$$") and "✓" in e._repr_markdown_()
    d = json.loads(e.to_json())
    assert set(d) >= {"style", "steps", "result"}
    assert set(d["steps"][0]) >= {"number", "rule", "text", "latex", "shapes", "verified"}
    assert [s["number"] for s in d["steps"]] == list(range(1, len(e.steps) + 1))
    assert "\\frac{\\mathrm{d}v}{\\mathrm{d}x}" in e.steps[1].latex


def test_default_styles():
    assert tc.explain("sin(x)", "x").style == "rules"
    assert tc.explain("x' @ x", "x", shapes={"x": "n"}).style == "differential"
    assert tc.explain("A @ x", "A", shapes={"A": "m,n", "x": "n"}).style == "index"


def test_a_wrong_step_is_caught():
    e = explain_steps("x^3 * sin(x)", "x")
    bad = e.steps[2]
    e.steps[2] = type(bad)(bad.number, bad.rule, (bad.lhs, bad.rhs * 1.001), bad.text, bad.latex)
    with pytest.raises(tc.TensorCalcError, match="step 3 does not verify"):
        e.verify(lambda x, v: evaluate(x, v), {"x": np.array(0.7)})


def test_bad_requests():
    with pytest.raises(tc.TensorCalcError, match="unknown style"):
        tc.explain("x^2", "x", style="magic")
    with pytest.raises(tc.DifferentiationError, match="scalar variable"):
        tc.explain("x' @ x", "x", style="rules", shapes={"x": "n"})
    with pytest.raises(tc.DifferentiationError, match="c \\* x\\^n"):
        tc.explain("sin(x)", "x", style="limit")


def test_every_rule_has_an_explanation():
    assert set(PARTIAL) <= set(RULE_TEXT)
    assert all(RULE_TEXT[op] and "\n" not in RULE_TEXT[op] for op in PARTIAL)


# ----------------------------------------------------------------------- property test


def _verify_with(e, env, seed):
    values = dict(env)
    rng = np.random.default_rng(seed)
    for s in e.steps:
        for side in (s.lhs, s.rhs):
            for n, v in variables(side).items() if side is not None else ():
                values.setdefault(n, rng.normal(size=v.shape))
    with np.errstate(all="ignore"):
        e.verify(lambda x, v: evaluate(x, v), values)
    assert all_verified(e)


@settings(
    max_examples=PROPERTY_EXAMPLES, deadline=None, derandomize=True,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)  # fmt: skip
@given(problems(), st.data())
def test_random_expressions_explained_and_verified(problem, data):
    """Every style that applies, on random expressions; every step of every one verifies."""
    text, _, seed = problem
    f = tc.parse(text, SHAPES)
    names = sorted(variables(f))
    if not names:
        return
    wrt = data.draw(st.sampled_from(names))
    styles = ["differential", "index", "backprop"] + (["rules"] if not SHAPES[wrt] else [])
    env = random_env(seed)
    for style in styles:
        e = explain_steps(text, names if style == "backprop" else wrt, style=style, shapes=SHAPES)
        assert e.steps and e.style == style
        texts = [s.text for s in e.steps]
        assert len(texts) == len(set(texts))
        assert not any("zq" in s.text or "zq" in s.latex for s in e.steps)  # no placeholders
        _verify_with(e, env, seed)


SYM = {"S": ("n", "n", "symmetric")}


@pytest.mark.parametrize(
    "text,wrt,shapes,order",
    [
        ("sin(x)/x", "x", None, 3),
        ("sqrt(1 + x^2)", "x", None, 3),
        ("x' @ A @ x", "x", {"A": "n,n"}, 2),
        ("tr(S @ S @ S)", "S", SYM, 3),
    ],
)
def test_each_order_is_simplified_as_derivative_simplifies_it(text, wrt, shapes, order):
    # diff.order.one_order is the one place an order is taken: the explanation differentiates
    # what tc.derivative printed for the order before, and ends where tc.derivative ends (it
    # simplified once at the end before, and order 3 of these came out in another form)
    e = tc.explain(text, wrt, order, shapes=shapes, verify=True)
    assert e.result is tc.derivative(text, wrt, order=order, shapes=shapes)
    again = [s.text for s in e.steps if s.rule == HIGHER]
    lower = [tc.derivative(text, wrt, order=k, shapes=shapes) for k in range(1, order)]
    assert again == [f"now differentiate {Display().show(d)[0]}" for d in lower]


@pytest.mark.parametrize("style", ["differential", "index"])
def test_a_symmetric_variable_is_verified_at_symmetric_values_along_symmetric_directions(
    style, rng
):
    e = tc.explain("tr(S @ S @ S)", "S", shapes=SYM, style=style, verify=True)
    assert all(s.verified for s in e.steps)
    assert next(s for s in e.steps if s.rule == SYMMETRIC).lhs is not None  # checked, too
    for _ in range(3):
        a = rng.normal(size=(4, 4))
        S = a + a.T
        np.testing.assert_allclose(evaluate(e.result, {"S": S}), 3 * S @ S, rtol=1e-12)
    values, _ = random_values(tc.parse("tr(S @ S @ S)", SYM))
    np.testing.assert_array_equal(values["S"], values["S"].T)


def test_the_symmetric_step_rejects_the_cookbook_convention():
    # ⟨G, dS⟩ = ⟨sym(G), dS⟩ for every symmetric dS; G + G' - diag(G) counts S_ij twice
    shapes = {**SYM, "A": "n,n"}
    e = explain_steps("tr(A @ S)", "S", shapes=shapes, style="differential")
    k = next(k for k, s in enumerate(e.steps) if s.rule == SYMMETRIC)
    step = e.steps[k]
    ds = var(SYMMETRIC_DIRECTION, ("n", "n"), symmetric=True)
    cookbook = tc.derivative("tr(A @ S)", "S", shapes=shapes, symmetric="cookbook")
    wrong = einsum([(cookbook, "ij"), (ds, "ij")], "")
    e.steps[k] = type(step)(step.number, step.rule, (step.lhs, wrong), step.text, step.latex)
    with pytest.raises(tc.TensorCalcError, match=f"step {k + 1} does not verify"):
        _verify(e, None)
