"""The course's multivariable calculus as the course writes it (issue 21): functions of several
scalar variables with a list ``wrt``, vectors and matrices of expressions ``[a, b]``, and the
seed examples stated in components, each asserting the seed's values."""

from __future__ import annotations

import numpy as np
import pytest

import tensorcalc as tc
from conftest import assert_close
from tensorcalc.build import MAX_ENTRIES
from tensorcalc.cli import main

T = [-1.1, 0.4, 0.9, 2.3]


def at(e, **values):
    return np.asarray(e.evaluate(values), dtype=float)


def central(f, point, names, h=1e-6):
    """Central differences of the scalar function f (a Python callable of the named values)."""
    out = []
    for n in names:
        up, down = dict(point), dict(point)
        up[n] += h
        down[n] -= h
        out.append((f(**up) - f(**down)) / (2 * h))
    return np.array(out)


# -- several variables at once -----------------------------------------------------------------


def test_gradient_of_two_scalars_is_the_seed_row():  # seed example 11
    g = tc.gradient("x1^2*x2 + x1*x2^3", ["x1", "x2"])
    assert g.shape == (2,)
    assert str(g) == "[2 * x1 * x2 + x2^3, x1^2 + 3 * x1 * x2^2]"
    for x1, x2 in [(0.3, -1.2), (1.7, 0.4)]:
        assert_close(at(g, x1=x1, x2=x2), [2 * x1 * x2 + x2**3, x1**2 + 3 * x1 * x2**2])


def test_hessian_has_every_mixed_partial():
    h = tc.hessian("x1^2*x2 + x1*x2^3", ("x1", "x2"))
    assert h.shape == (2, 2)
    x1, x2 = 0.7, -1.3
    assert_close(
        at(h, x1=x1, x2=x2), [[2 * x2, 2 * x1 + 3 * x2**2], [2 * x1 + 3 * x2**2, 6 * x1 * x2]]
    )


def test_jacobian_of_a_vector_of_expressions():
    j = tc.jacobian("[x1^2*x2, 5*x1 + sin(x2)]", ["x1", "x2"])
    assert j.shape == (2, 2)
    assert str(j) == "[[2 * x1 * x2, x1^2], [5, cos(x2)]]"
    assert "select" not in str(j)
    x1, x2 = 1.3, 0.2
    assert_close(at(j, x1=x1, x2=x2), [[2 * x1 * x2, x1**2], [5, np.cos(x2)]])


def test_order_of_wrt_is_the_order_of_the_axis():
    g = tc.gradient("x1^2*x2 + x1*x2^3", ["x2", "x1"])
    x1, x2 = 0.5, 1.5
    assert_close(at(g, x1=x1, x2=x2), [x1**2 + 3 * x1 * x2**2, 2 * x1 * x2 + x2**3])


def test_non_scalar_variables_give_one_result_each():
    shapes = {"x": "n", "A": "n,n"}
    dx, da = tc.derivative("x' @ A @ x", ["x", "A"], shapes=shapes)
    assert str(dx) == "(A + A') @ x"
    assert str(da) == "x @ x'"


@pytest.mark.parametrize(
    "wrt,msg", [([], "empty"), (["x1", "x1"], "more than once"), (["z"], "no variable")]
)
def test_bad_wrt_lists(wrt, msg):
    with pytest.raises(tc.TensorCalcError, match=msg):
        tc.gradient("x1^2*x2", wrt)


def test_numerator_layout_of_stacked_scalars():
    g = tc.derivative("x1^2*x2 + x1*x2^3", ["x1", "x2"], layout="numerator")
    assert g.shape == (1, 2)


def test_components_of_a_small_vector_print_entry_by_entry():
    g = tc.gradient("x[0]^2*x[1] + x[0]*x[1]^3", "x", shapes={"x": "2"})
    assert "select" not in str(g)
    h = tc.hessian("x[0] * exp(-x[0]^2 - x[1]^2)", "x", shapes={"x": "2"})
    assert "select" not in str(h)
    x = np.array([0.4, -0.8])
    e = np.exp(-x @ x)
    want = e * np.array([[4 * x[0] ** 3 - 6 * x[0], 4 * x[0] ** 2 * x[1] - 2 * x[1]],
                         [4 * x[0] ** 2 * x[1] - 2 * x[1], 4 * x[0] * x[1] ** 2 - 2 * x[0]]])  # fmt: skip
    assert_close(h.evaluate(x=x), want)


# -- [a, b] in the language ----------------------------------------------------------------------


def test_stack_literal_parses_prints_and_evaluates():
    f = tc.parse("[[a, b], [c, d]]")
    assert f.shape == (2, 2)
    assert str(f) == "[[a, b], [c, d]]"
    assert f.latex() == r"\begin{bmatrix} a & b \\ c & d \end{bmatrix}"
    assert str(tc.parse("[[a, b], [c, d]]'")) == "[[a, c], [b, d]]"
    assert_close(f.evaluate(a=1, b=2, c=3, d=4), [[1, 2], [3, 4]])
    assert str(tc.parse("[1, -2]")) == "[1, -2]"  # numbers stay an array constant


def test_stack_entries_must_share_a_shape():
    with pytest.raises(tc.TensorCalcError, match="one shape"):
        tc.parse("[1, [2, 3]]")


def test_stack_inside_products_and_functions():
    f = tc.parse("norm([x1, x2])^2 + [1, 2]' @ [x1, x2]")
    assert str(tc.derivative(f, "x1")) == "2 * x1 + 1"
    g = tc.parse("[[x[0], x[1]], [x[1]^2, 1]] @ x", {"x": "2"})
    x = np.array([0.3, -0.6])
    jac = tc.jacobian(g, "x").evaluate(x=x)
    fd = np.array([(g.evaluate(x=x + h) - g.evaluate(x=x - h)) / 2e-6 for h in np.eye(2) * 1e-6]).T
    assert_close(jac, fd, rtol=1e-6)


@pytest.mark.parametrize("backend", ["numpy", "jax", "torch", "tensorflow", "dask"])
def test_stack_in_every_backend(backend):
    if backend != "numpy":
        pytest.importorskip({"tensorflow": "tensorflow"}.get(backend, backend))
    f = tc.parse("[x1^2*x2, 5*x1 + sin(x2)]")
    j = tc.jacobian(f, ["x1", "x2"])
    fn = tc.compile([f, j], backend)
    v, jv = fn(x1=np.float64(1.2), x2=np.float64(0.3))
    assert_close(np.asarray(v, dtype=float), f.evaluate(x1=1.2, x2=0.3))
    assert_close(np.asarray(jv, dtype=float), j.evaluate(x1=1.2, x2=0.3))


# -- the CLI -------------------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [["--wrt", "x1,x2"], ["--wrt", "x1", "--wrt", "x2"]])
def test_cli_several_wrt_stack(capsys, argv):
    assert main(["diff", "x1^2*x2 + x1*x2^3", *argv]) == 0
    out = capsys.readouterr().out
    assert "[2 * x1 * x2 + x2^3, x1^2 + 3 * x1 * x2^2]" in out
    assert "shape: (2,)" in out


def test_cli_repeated_name_exits_2(capsys):
    assert main(["diff", "x1^2*x2", "--wrt", "x1", "--wrt", "x1"]) == 2
    assert "more than once" in capsys.readouterr().err


def test_cli_check_and_explain_take_several(capsys):
    assert main(["check", "x1^2*x2 + x1*x2^3", "--wrt", "x1,x2"]) == 0
    out = capsys.readouterr().out
    assert "d/dx1" in out and "d/dx2" in out


# -- the seed examples stated in components (seed-examples.md 10-15, 23, 26, 31) ----------------


def test_seed_10():
    g = tc.gradient("(x + 2*y^3)^2", ["x", "y"])
    assert str(g) == "[2 * (x + 2 * y^3), 12 * y^2 * (x + 2 * y^3)]"
    for x, y in [(0.3, -0.7), (1.1, 0.5)]:
        assert_close(at(g, x=x, y=y), [2 * (x + 2 * y**3), 12 * (x + 2 * y**3) * y**2])


@pytest.mark.parametrize("t", T)
def test_seed_12_where(t):
    d = tc.derivative("x1^2 + 2*x2 where x1 = sin(t), x2 = cos(t)", "t")
    assert float(d.evaluate(t=t)) == pytest.approx(2 * np.sin(t) * np.cos(t) - 2 * np.sin(t))


@pytest.mark.parametrize("t", T)
def test_seed_13_where(t):
    d = tc.derivative("x1^2*x2 + 3*x1 + 6*x2 where x1 = sin(t), x2 = exp(2*t)", "t")
    x1, x2 = np.sin(t), np.exp(2 * t)
    want = (2 * x1 * x2 + 3) * np.cos(t) + (x1**2 + 6) * 2 * np.exp(2 * t)
    assert float(d.evaluate(t=t)) == pytest.approx(want)


def test_seed_14_all_three_partials():
    text = "3*x*y + y*z^2 where x = p*q*r, y = 2*p^2 + q + 5*r, z = p*cos(q + 2*r)"
    g = tc.gradient(text, ["p", "q", "r"])
    assert g.shape == (3,)
    p, q, r = 0.7, -0.4, 1.3
    x, y, z = p * q * r, 2 * p**2 + q + 5 * r, p * np.cos(q + 2 * r)
    s = np.sin(q + 2 * r)
    want = [
        3 * y * q * r + (3 * x + z**2) * 4 * p + 2 * y * z * np.cos(q + 2 * r),  # the seed's ∂f/∂p
        3 * y * p * r + (3 * x + z**2) * 1 + 2 * y * z * (-p * s),  # ∂f/∂q, the exercise
        3 * y * p * q + (3 * x + z**2) * 5 + 2 * y * z * (-2 * p * s),  # ∂f/∂r, the exercise
    ]
    assert_close(at(g, p=p, q=q, r=r), want)


@pytest.mark.parametrize("t", T)
def test_seed_15_where(t):
    d = tc.derivative("exp(x1*x2^2) where x1 = t*cos(t), x2 = t*sin(t)", "t")
    x1, x2 = t * np.cos(t), t * np.sin(t)
    want = np.exp(x1 * x2**2) * (
        x2**2 * (np.cos(t) - t * np.sin(t)) + 2 * x1 * x2 * (np.sin(t) + t * np.cos(t))
    )
    assert float(d.evaluate(t=t)) == pytest.approx(want, rel=1e-10)


def test_seed_23_gradient_and_hessian():
    f = "x * exp(-x^2 - y^2)"
    g, h = tc.gradient(f, ["x", "y"]), tc.hessian(f, ["x", "y"])
    assert "select" not in str(h)
    for x, y in [(-1.0, 0.0), (0.4, -0.9)]:
        e = np.exp(-(x**2) - y**2)
        assert_close(at(g, x=x, y=y), e * np.array([1 - 2 * x**2, -2 * x * y]))
        want = e * np.array([[4 * x**3 - 6 * x, 4 * x**2 * y - 2 * y],
                             [4 * x**2 * y - 2 * y, 4 * x * y**2 - 2 * x]])  # fmt: skip
        assert_close(at(h, x=x, y=y), want)


def test_seed_26_logsumexp_of_two():
    g = tc.gradient("log(exp(x) + exp(y))", ["x", "y"])
    x, y = 0.0, np.log(2.0)
    v = at(g, x=x, y=y)
    assert_close(v, np.array([1.0, 2.0]) / 3.0)
    assert v.sum() == pytest.approx(1.0)
    L = tc.parse("log(exp(x) + exp(y))")
    first = float(L.evaluate(x=x, y=y)) + np.array([0.01, -0.03]) @ v
    assert first == pytest.approx(1.081946, abs=1e-6)
    assert float(L.evaluate(x=0.01, y=np.log(2) - 0.03)) == pytest.approx(1.082124, abs=1e-6)
    assert abs(first - 1.082124) < 2e-4


def test_seed_31_saddle_at_the_origin():
    f = "x^2*y + x*y^2"
    g, h = tc.gradient(f, ["x", "y"]), tc.hessian(f, ["x", "y"])
    assert_close(at(g, x=0.0, y=0.0), [0.0, 0.0])
    assert_close(at(h, x=0.0, y=0.0), [[0.0, 0.0], [0.0, 0.0]])
    F = tc.parse(f)
    assert float(F.evaluate(x=0.1, y=0.1)) > 0 > float(F.evaluate(x=-0.1, y=-0.1))  # along x = y
    assert_close(
        at(h, x=0.3, y=-0.5), [[2 * -0.5, 2 * 0.3 + 2 * -0.5], [2 * 0.3 + 2 * -0.5, 2 * 0.3]]
    )


# -- named intermediates: the multivariable chain rule as the seed writes it (12-15) -------------

CHAINS = [  # (expression, wrt, lines that must appear in order)
    ("x1^2 + 2*x2 where x1 = sin(t), x2 = cos(t)", "t",
     ["∂f/∂x1 = 2 * x1", "∂f/∂x2 = 2", "dx1/dt = cos(t)", "dx2/dt = -sin(t)",
      "df/dt = ∂f/∂x1 · dx1/dt + ∂f/∂x2 · dx2/dt"]),  # 12
    ("x1^2*x2 + 3*x1 + 6*x2 where x1 = sin(t), x2 = exp(2*t)", "t",
     ["∂f/∂x1 = 2 * x1 * x2 + 3", "∂f/∂x2 = x1^2 + 6", "dx2/dt = 2 * exp(2 * t)",
      "df/dt = (2 * x1 * x2 + 3) · cos(t) + (x1^2 + 6) · (2 * exp(2 * t))"]),  # 13
    ("3*x*y + y*z^2 where x = p*q*r, y = 2*p^2 + q + 5*r, z = p*cos(q + 2*r)", ["p", "q", "r"],
     ["∂f/∂x = 3 * y", "∂f/∂y = 3 * x + z^2", "∂f/∂z = 2 * y * z", "∂x/∂p = q * r",
      "∂f/∂p = ∂f/∂x · ∂x/∂p + ∂f/∂y · ∂y/∂p + ∂f/∂z · ∂z/∂p",
      "∂f/∂p = (3 * y) · (q * r) + (3 * x + z^2) · (4 * p) + (2 * y * z) · cos(q + 2 * r)",
      "∂f/∂q = ∂f/∂x · ∂x/∂q", "∂f/∂r = ∂f/∂x · ∂x/∂r"]),  # 14 and its exercise
    ("exp(x1*x2^2) where x1 = t*cos(t), x2 = t*sin(t)", "t",
     ["∂f/∂x1 = x2^2 * exp(x1 * x2^2)", "∂f/∂x2 = 2 * x1 * x2 * exp(x1 * x2^2)", "dx1/dt = cos(t) - t * sin(t)",
      "dx2/dt = sin(t) + t * cos(t)"]),  # 15
]  # fmt: skip


@pytest.mark.parametrize("text,wrt,lines", CHAINS)
def test_named_intermediates_are_kept(text, wrt, lines):
    e = tc.explain(text, wrt, verify=True)
    assert all(s.verified for s in e.steps)
    steps = [s.text for s in e.steps]
    assert steps[0].startswith("let ")
    k = 0
    for line in lines:
        k = next(i for i in range(k, len(steps)) if steps[i].startswith(line)) + 1
    assert "multivariable chain rule" in e.text()
    d = tc.derivative(text, wrt)
    point = {n: 0.37 * (i + 1) for i, n in enumerate(wrt if isinstance(wrt, list) else [wrt])}
    assert_close(e.result.evaluate(point), d.evaluate(point))
    assert max(len(x) for x in e.text().splitlines()) <= 120
    assert r"\frac{\partial f}" in e.latex()


# -- several scalar variables and components, explained ------------------------------------------


def test_explain_gradient_of_two_scalars():
    e = tc.explain("x1^2*x2 + x1*x2^3", ["x1", "x2"], verify=True)
    texts = [s.text for s in e.steps]
    assert texts[0] == "∂f/∂x1, x2 held constant:"
    assert "∂f/∂x1 = 2 * x1 * x2 + x2^3" in texts
    assert "∂f/∂x2 = x1^2 + 3 * x1 * x2^2" in texts
    assert texts[-1] == "∇f = [∂f/∂x1, ∂f/∂x2] = [2 * x1 * x2 + x2^3, x1^2 + 3 * x1 * x2^2]"
    assert e.result.shape == (2,)


@pytest.mark.parametrize("f,wrt,shapes", [
    ("x * exp(-x^2 - y^2)", ["x", "y"], None),
    ("x[0] * exp(-x[0]^2 - x[1]^2)", "x", {"x": "2"}),
])  # fmt: skip
def test_explain_hessian_assembles_the_mixed_partials(f, wrt, shapes):
    e = tc.explain(f, wrt, 2, shapes=shapes, verify=True)
    texts = [s.text for s in e.steps]
    assert any(t.startswith("∇f = ") for t in texts)  # the gradient g first
    mixed = [t for t in texts if t.startswith("∂²f/")]
    assert len(mixed) == 4  # every entry of H
    assert texts[-1].startswith("H = exp(-(")  # assembled, the common factor in front
    assert "select" not in e.text()
    assert max(len(line) for line in e.text().splitlines()) <= 120
    point = {"x": 0.4, "y": -0.9} if shapes is None else {"x": np.array([0.4, -0.9])}
    x, y = 0.4, -0.9
    want = np.exp(-(x**2) - y**2) * np.array([[4 * x**3 - 6 * x, 4 * x**2 * y - 2 * y],
                                               [4 * x**2 * y - 2 * y, 4 * x * y**2 - 2 * x]])  # fmt: skip
    assert_close(np.asarray(e.result.evaluate(point), dtype=float), want)


def test_explain_components_keep_the_entries():
    e = tc.explain("x[0]^2*x[1] + x[0]*x[1]^3", "x", shapes={"x": "2"}, verify=True)
    assert "∂f/∂x[0] = 2 * x[0] * x[1] + x[1]^3" in [s.text for s in e.steps]
    assert "select" not in e.text() and "zq" not in e.text() + e.latex()
    assert_close(e.result.evaluate(x=np.array([0.5, 2.0])), [2 * 0.5 * 2 + 8, 0.25 + 3 * 0.5 * 4])


def test_check_takes_several_variables():
    reports = tc.check(tc.parse("x1^2*x2 + x1*x2^3"), ["x1", "x2"])
    assert [r.passed for r in reports] == [True, True]
    assert "d/dx1" in str(reports[0]) and "d/dx2" in str(reports[1])


def test_explain_then_solve_normal_equations_and_kmeans():
    e = tc.explain("norm(y - Phi @ theta)^2", "theta", shapes={"y": "n", "Phi": "n,d"},
                   then="solve", verify=True)  # fmt: skip
    texts = [s.text for s in e.steps]
    assert "-2 * Phi' @ (y - Phi @ theta) = 0  ⇔  2 * Phi' @ Phi @ theta = 2 * Phi' @ y" in texts
    assert "theta = solve(Phi' @ Phi, Phi' @ y)" in texts
    assert any("a minimum" in t for t in texts)
    kmeans = "sum(R * (diag(X @ X') @ ones(K)' - 2 * X @ M' + ones(N) @ diag(M @ M')'))"
    e = tc.explain(kmeans, "M", shapes={"X": "N,D", "M": "K,D", "R": "N,K"}, then="solve",
                   verify=True)  # fmt: skip
    assert e.steps[-1].text == "M = diag(1 / sum(R, 0)) @ R' @ X"  # μⱼ = Σₙ r_nj xₙ / Σₙ r_nj
    e = tc.explain("(x - a)^2 + (x - b)^2", "x", then="solve", verify=True)
    assert e.steps[-1].text == "∂²f/∂x² = 4 > 0: a minimum"
    with pytest.raises(tc.TensorCalcError, match="not affine"):
        tc.explain("x^4 - x^2", "x", then="solve")


def test_explain_layout_numerator_is_a_row():
    e = tc.explain("norm(y - Phi @ theta)^2", "theta", shapes={"y": "n", "Phi": "n,d"},
                   layout="numerator", verify=True)  # fmt: skip
    assert e.result.shape == (1, "d")
    assert e.steps[-1].shapes == "1×d, in numerator layout"
    assert e.steps[-1].text == "∂f/∂theta = -2 * (y - Phi @ theta)' @ Phi"


def test_limit_style_with_a_symbolic_exponent():
    e = tc.explain("x^n", "x", style="limit", verify=True)
    assert "binomial theorem" in e.steps[0].rule
    assert e.steps[-1].text.endswith("= n * x^(n - 1)")


def test_backprop_names_local_partials_and_totals_apart():
    e = tc.explain("x^5 - x^2 + x", "x", style="backprop", verify=True)
    texts = [s.text for s in e.steps]
    assert "∂a/∂x = 5 * x^4" in texts  # a local partial
    assert "df/dx = ∂f/∂x + df/da · ∂a/∂x + df/db · ∂b/∂x" in texts  # the total
    assert texts[-1] == "df/dx = 5 * x^4 - 2 * x + 1"  # the answer, always
    assert all("engine" not in s.rule and "seed" not in s.rule for s in e.steps)
    assert any("power rule" in s.rule for s in e.steps if s.text.startswith("∂a/∂x"))


def test_where_names_the_backprop_graph():
    text = ("(u + v)^2 where a = (w + x + y + z)^2, b = (w + x - y - z)^2, u = (a + b)^2, "
            "v = (a - b)^2")  # fmt: skip
    e = tc.explain(text, ["w", "x", "y", "z"], style="backprop",
                   at={"w": -1, "x": 0, "y": -2, "z": 1}, verify=True)  # fmt: skip
    forward = {r["quantity"]: r["value"] for r in e.tables["forward"]}
    assert forward == {"w": -1, "x": 0, "y": -2, "z": 1, "a": 4, "b": 0, "u": 16, "v": 16,
                       "f": 1024}  # fmt: skip
    backward = {r["quantity"]: r["value"] for r in e.tables["backward"]}
    assert backward["df/dw"] == backward["df/dz"] == -4096


def test_explain_cli_layout_and_then(capsys):
    assert main(["explain", "(x - a)^2 + (x - b)^2", "--wrt", "x", "--then", "solve"]) == 0
    assert "x = 0.5 * (a + b)" in capsys.readouterr().out
    assert main(["explain", "x1^2*x2 + x1*x2^3", "--wrt", "x1,x2", "--layout", "numerator"]) == 0
    assert "in numerator layout" in capsys.readouterr().out


def test_numerator_layout_lines_are_dimensionally_right():
    e = tc.explain("norm(y - Phi @ theta)^2", "theta", shapes={"y": "n", "Phi": "n,d"},
                   layout="numerator", verify=True)  # fmt: skip
    texts = [s.text for s in e.steps]
    # the column G is the gradient ∇f; ∂f/∂theta (numerator layout) is only the row
    assert any(t.startswith("∇_theta f = -2 * Phi' @ e") for t in texts)
    assert [t for t in texts if t.startswith("∂f/∂theta")] == [
        "∂f/∂theta = -2 * (y - Phi @ theta)' @ Phi"
    ]


def test_inputs_with_more_than_max_entries_stay_in_tensor_form():
    """Entry by entry only up to MAX_ENTRIES entries of the variables: a 3×3 A and a 3-vector
    written out made a symbolic 3×3 inverse (half a megabyte of text, seconds per derivative;
    the fuzz campaign's hangs)."""
    text = "tr(inv(eye(3) + outer(A' @ x[::-1], A' @ x[::-1])))"
    d = tc.derivative(text, "x", shapes={"x": (3,), "A": (3, 3)})
    assert 3 + 9 > MAX_ENTRIES and not str(d).startswith("[") and len(str(d)) < 500
    rng = np.random.default_rng(2)
    A, x = rng.normal(size=(3, 3)) / 3, rng.normal(size=3)

    def f(x):
        u = A.T @ x[::-1]
        return np.trace(np.linalg.inv(np.eye(3) + np.outer(u, u)))

    want = [(f(x + e) - f(x - e)) / 2e-6 for e in np.eye(3) * 1e-6]
    assert np.allclose(d.evaluate(x=x, A=A), want, rtol=1e-6, atol=1e-9)
