"""The web page's JSON API (tensorcalc.web), through Starlette's TestClient: every endpoint,
bad input (4xx with a message) and every limit."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import threading
import time
import warnings

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

with warnings.catch_warnings():  # starlette 1.x would rather use httpx2
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

import tensorcalc as tc  # noqa: E402
from tensorcalc.web.app import create_app  # noqa: E402
from tensorcalc.web.examples import EXAMPLES  # noqa: E402
from tensorcalc.web.limits import Limits  # noqa: E402

BASE = "http://127.0.0.1"
# a 4th derivative that takes seconds (about 3 s here), far over the short limit used below
SLOW = {
    "expression": "sum(exp(sin(x) * cos(x) * tanh(x) * log(1 + exp(x)) * sigmoid(x)))",
    "wrt": "x", "order": 4, "shapes": {"x": "n"},
}  # fmt: skip


@pytest.fixture(scope="module")
def client():
    app = create_app(Limits(workers=2), allowed_hosts=("192.168.1.5",))  # as for --host 192.168.1.5
    with TestClient(app, base_url=BASE) as c:
        yield c


@pytest.fixture(scope="module")
def strict():
    """One worker, a 0.3 s limit and no waiting room: for the time limit and the 429."""
    limits = Limits(workers=1, timeout=0.3, max_waiting=0)
    with TestClient(create_app(limits), base_url=BASE) as c:
        yield c


def post(client, task, body, **kw):
    return client.post(f"/api/{task}", json=body, **kw)


def values(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return {k: rng.normal(size=s) for k, s in shapes.items()}


# --------------------------------------------------------------------------- the page


def test_page_static_files_and_security_headers(client):
    r = client.get("/")
    assert r.status_code == 200 and '<script type="module" src="/static/app.js">' in r.text
    csp = r.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp and r.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in r.text  # no inline script: the CSP would block it
    for path in ("/static/app.js", "/static/style.css", "/static/vendor/katex/katex.min.js",
                 "/static/vendor/katex/katex.min.css", "/static/vendor/katex/LICENSE",
                 "/static/vendor/katex/fonts/KaTeX_Main-Regular.woff2"):  # fmt: skip
        assert client.get(path).status_code == 200, path
    assert "http://" not in client.get("/static/app.js").text  # nothing from the network


def test_info_lists_features_examples_and_limits(client):
    info = client.get("/api/info").json()
    assert {"rules", "differential", "index", "backprop"} <= set(info["styles"])
    assert info["limits"] == {"max_expression": 2000, "max_order": 4, "timeout": 5.0}
    assert len(info["examples"]) == len(EXAMPLES) and info["version"] == tc.__version__


@pytest.mark.parametrize("host", ["evil.example", "127.0.0.1.evil.example", "10.0.0.1:8000"])
def test_host_header_other_than_localhost_is_refused(client, host):
    r = client.get("/", headers={"host": host})
    assert r.status_code == 403 and "localhost" in r.text
    r = client.post("/api/derivative", json={"expression": "x"}, headers={"host": host})
    assert r.status_code == 403


@pytest.mark.parametrize("host", ["localhost:8000", "127.0.0.1:8000", "[::1]:8000", "LOCALHOST"])
def test_host_header_for_localhost_is_served(client, host):
    assert client.get("/api/info", headers={"host": host}).status_code == 200


# --------------------------------------------------------------------------- derivative


def test_derivative_of_quadratic_form(client):
    r = post(client, "derivative", {"expression": "x' @ A @ x", "wrt": "x", "order": 1,
                                    "layout": "jacobian", "shapes": {"A": "n,n"}})  # fmt: skip
    assert r.status_code == 200
    d = r.json()
    assert d["text"] == "(A + A') @ x" and d["latex"] == r"\left(A + A^\top\right) x"
    assert d["shape"] == ["n"] and d["shapes"] == {"x": "n", "A": "n,n"}
    assert d["wrt"] == "x" and "A" not in d["assumed"] and d["analysis"] is False
    # the text form is a formula: it evaluates to (A + Aᵀ)x
    v = values({"x": (3,), "A": (3, 3)})
    got = tc.parse(d["text"], {"x": "n", "A": "n,n"}).evaluate(v)
    np.testing.assert_allclose(got, (v["A"] + v["A"].T) @ v["x"])


def test_undeclared_shapes_follow_the_naming_convention(client):
    d = post(client, "derivative", {"expression": "norm(y - Phi @ theta)^2", "wrt": "theta"}).json()
    assert d["shapes"] == {"y": "n", "Phi": "n,m", "theta": "m"}
    assert d["assumed"] == ["y", "Phi", "theta"] and d["shape"] == ["m"]
    assert d["text"] == "-2 * Phi' @ (y - Phi @ theta)"


def test_latex_input_is_read_automatically_or_on_request(client):
    d = post(client, "derivative", {"expression": r"\mathbf{x}^\top A \mathbf{x}"}).json()
    assert d["text"] == "(A + A') @ x" and d["shapes"] == {"x": "n", "A": "n,n"}
    body = {"expression": r"\frac{1}{2} \|X - U V\|_F^2", "wrt": "V", "syntax": "latex"}
    assert post(client, "derivative", body).json()["text"] == "-U' @ (X - U @ V)"
    bad = post(client, "derivative", {"expression": r"\frac{1}{2} \|X - ", "syntax": "latex"})
    assert bad.status_code == 400 and bad.json()["position"] == 18


def test_symmetric_matrix_shapes(client):
    body = {"expression": "x' @ S @ x", "wrt": "x", "shapes": {"S": "n,n,sym"}}
    d = post(client, "derivative", body).json()
    assert d["text"] == "2 * S @ x" and d["shapes"]["S"] == "n,n,sym"
    # the same function with S not declared symmetric: (S + S')x
    assert post(client, "derivative", {**body, "shapes": {}}).json()["text"] == "(S + S') @ x"


def test_declared_shapes_change_the_result(client):
    body = {"expression": "A @ x", "wrt": "x", "shapes": {"A": "M,N"}}
    assert post(client, "derivative", body).json()["shape"] == ["M", "N"]
    body["layout"] = "denominator"
    d = post(client, "derivative", body).json()
    assert d["shape"] == ["N", "M"] and d["text"] == "A'"
    scalar = post(client, "derivative", {"expression": "x * y", "wrt": "y"}).json()
    assert scalar["text"] == "x" and scalar["shape_text"] == "scalar" and scalar["analysis"]


def test_the_vec_layout_gives_the_kronecker_form_and_a_clear_error_at_named_sizes(client):
    body = {"expression": "A @ X @ B", "wrt": "X", "layout": "vec",
            "shapes": {"A": "2,3", "X": "3,4", "B": "4,2"}}  # fmt: skip
    d = post(client, "derivative", body).json()
    assert d["text"] == "kron(B', A)" and d["shape"] == [4, 12]
    check = post(client, "check", body).json()
    assert check["passed"]
    named = post(client, "derivative", {**body, "shapes": {}})
    assert named.status_code == 400 and "int" in named.json()["error"]


def test_default_variable_and_higher_orders(client):
    d = post(client, "derivative", {"expression": "x' @ A @ x", "order": 2}).json()
    assert d["wrt"] == "x" and d["text"] == "A + A'" and d["shape"] == ["n", "n"]


def test_tensor_results_are_shown_in_index_notation(client):
    d = post(client, "derivative", {"expression": "R' @ R", "wrt": "R", "shapes": {"R": "M,N"}})
    d = d.json()
    assert d["shape"] == ["N", "N", "M", "N"]
    assert r"\right]_{ijkl}" in d["latex"] and "cannot" not in d["latex"].lower()  # index notation


def test_every_example_computes(client):
    for ex in EXAMPLES:
        r = post(client, "derivative", ex)
        assert r.status_code == 200, (ex["title"], r.json())


# ------------------------------------------------------------------------------ errors


def test_parse_error_gives_message_and_position(client):
    r = post(client, "derivative", {"expression": "x +* 2", "wrt": "x"})
    assert r.status_code == 400
    assert r.json() == {
        "error": "unexpected '*'",
        "position": 3,
        "syntax": "text",
        "notes": [],
        "variables": [],
    }


def test_shape_error_gives_message_and_position(client):
    r = post(client, "derivative", {"expression": "A @ x", "shapes": {"A": "n,n", "x": "m"}})
    assert r.status_code == 400
    body = r.json()
    assert body["position"] == 2 and "inner dimensions n and m differ" in body["error"]


@pytest.mark.parametrize(
    "body, status, words",
    [
        ({"expression": "x", "wrt": "y"}, 400, "variable"),
        ({"expression": ""}, 400, "non-empty"),
        ({"wrt": "x"}, 400, "expression"),
        ({"expression": "x", "order": 0}, 400, "at least 1"),
        ({"expression": "x", "order": "2"}, 400, "integer"),
        ({"expression": "x", "layout": "sideways"}, 400, "layout"),
        ({"expression": "x", "shapes": ["n"]}, 400, "shapes"),
        ({"expression": "x", "shapes": {"x": 3}}, 400, "shapes"),
        ({"expression": "x", "shapes": {"x": "n,-1"}}, 400, "dimension"),
        ({"expression": "x", "wrt": "import os"}, 400, "wrt"),
        ({"expression": "__import__('os').system('true')"}, 400, ""),
    ],
)
def test_bad_input_is_a_4xx_with_a_message(client, body, status, words):
    r = post(client, "derivative", body)
    assert r.status_code == status and words in r.json()["error"], r.json()


def test_malformed_requests(client):
    r = client.post(
        "/api/derivative", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and "JSON" in r.json()["error"]
    r = client.post(
        "/api/derivative", content=b'{"expression": "x"}', headers={"content-type": "text/plain"}
    )
    assert r.status_code == 415 and "application/json" in r.json()["error"]
    assert post(client, "derivative", ["x"]).status_code == 400
    assert post(client, "integral", {"expression": "x"}).status_code == 404
    assert client.get("/api/derivative").status_code == 405


# ------------------------------------------------------------------------------ limits


def test_expression_length_limit(client):
    long = " + ".join(["x"] * 501)  # 2,001 characters
    r = post(client, "derivative", {"expression": long})
    assert r.status_code == 413 and "limit is 2000" in r.json()["error"]
    ok = post(client, "derivative", {"expression": " + ".join(["x"] * 500)})  # 1,997 characters
    assert ok.status_code == 200 and ok.json()["text"] == "500"


def test_order_limit(client):
    r = post(client, "derivative", {"expression": "x^6", "order": 5})
    assert r.status_code == 422 and "limit is 4" in r.json()["error"]
    assert (
        post(client, "derivative", {"expression": "x^6", "order": 4}).json()["text"] == "360 * x^2"
    )


def test_body_size_limit(client):
    r = post(client, "derivative", {"expression": "x", "padding": "y" * 70_000})
    assert r.status_code == 413 and "limit" in r.json()["error"]


@pytest.mark.parametrize(
    "expression, text",
    [("(" * 999 + "x" + ")" * 999, "1"), ("-" * 1998 + "x", "1"), ("-" * 1999 + "x", "-1"),
     (" + ".join(["x"] * 500), "500")],
)  # fmt: skip
def test_deepest_nesting_within_the_limit_computes(client, expression, text):
    r = post(client, "derivative", {"expression": expression})
    assert r.status_code == 200 and r.json()["text"] == text


def test_time_limit_stops_the_worker_and_the_server_keeps_answering(strict):
    out = {}
    slow = threading.Thread(target=lambda: out.setdefault("r", post(strict, "derivative", SLOW)))
    slow.start()
    time.sleep(0.1)
    # while the only worker is busy: the server still answers, new work is refused (429)
    assert strict.get("/api/info").status_code == 200
    busy = post(strict, "derivative", {"expression": "x"})
    slow.join()
    r = out["r"]
    assert r.status_code == 422 and "longer than the limit of 0.3 s" in r.json()["error"]
    assert busy.status_code in (200, 429)  # 429 unless the timeout already came
    if busy.status_code == 429:
        assert "busy" in busy.json()["error"]
    # the stopped worker was replaced: work goes on
    deadline = time.monotonic() + 60
    while (r := post(strict, "derivative", {"expression": "x^2"})).status_code == 429:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert r.status_code == 200 and r.json()["text"] == "2 * x"


# ---------------------------------------------------------------- explain, check, code


def test_explain_returns_numbered_verified_steps(client):
    r = post(client, "explain", {"expression": "x' @ A @ x", "wrt": "x", "shapes": {"A": "n,n"}})
    assert r.status_code == 200
    e = r.json()
    assert e["result"]["text"] == "(A + A') @ x"
    assert [s["number"] for s in e["steps"]] == list(range(1, len(e["steps"]) + 1))
    for s in e["steps"]:
        assert set(s) >= {"number", "rule", "text", "latex", "shapes", "verified"}
        assert s["verified"] in (True, None)
    assert any(s["verified"] is True for s in e["steps"])
    bad = post(client, "explain", {"expression": "x'' @", "style": "no such"})
    assert bad.status_code == 400


def test_check_passes_with_error_estimate(client):
    r = post(client, "check", {"expression": "logdet(X)", "wrt": "X", "seed": 3})
    c = r.json()
    assert r.status_code == 200 and c["passed"] is True
    assert 0 <= c["max_rel_error"] < 1e-6 and c["error_estimate"] > 0 and "PASS" in c["report"]
    assert post(client, "check", {"expression": "x", "seed": -1}).status_code == 400


def test_numpy_code_is_a_script_that_runs_and_checks_itself(client, tmp_path):
    body = {"expression": "norm(y - Phi @ theta)^2", "wrt": "theta",
            "shapes": {"y": "N", "Phi": "N,D", "theta": "D"}, "backend": "numpy"}  # fmt: skip
    r = post(client, "code", body)
    assert r.status_code == 200 and r.json()["filename"] == "derivative.py"
    path = tmp_path / "derivative.py"
    path.write_text(r.json()["code"])
    run = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr  # the script exits 1 when its derivative check fails
    assert "random" in r.json()["code"] and "__main__" in r.json()["code"]
    # the same module, imported: value and gradient agree with the closed form
    spec = importlib.util.spec_from_file_location("exported_derivative", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    v = values({"y": (4,), "Phi": (4, 3), "theta": (3,)})
    value, grad = module.fun(**v)[:2]
    e = v["y"] - v["Phi"] @ v["theta"]
    np.testing.assert_allclose(value, e @ e)
    np.testing.assert_allclose(grad, -2 * v["Phi"].T @ e)


@pytest.mark.parametrize(
    "backend, word",
    [("jax", "jax"), ("torch", "torch"), ("dask", "dask"), ("tensorflow", "tensorflow")],
)
def test_other_backends_give_their_module(client, backend, word):
    r = post(client, "code", {"expression": "x' @ A @ x", "backend": backend})
    assert r.status_code == 200 and f"import {word}" in r.json()["code"]
    assert r.json()["filename"].endswith(f"_{backend}.py")


def test_unknown_backend_is_refused(client):
    r = post(client, "code", {"expression": "x", "backend": "fortran"})
    assert r.status_code == 400 and "backend" in r.json()["error"]


# ------------------------------------------------------------------------------ analysis


def test_analysis_of_the_seed_quartic(client):
    r = post(client, "analysis", {"expression": "3*x^4 - 4*x^3 - 12*x^2", "at": {"x": 1}})
    a = r.json()
    assert r.status_code == 200 and a["plot"] is None
    points = [(round(p["point"]["x"], 9), round(p["value"], 9), p["kind"]) for p in a["critical"]]
    assert points == [
        (-1, -5, "local minimum"),
        (0, 0, "local maximum"),
        (2, -32, "global minimum"),
    ]
    # Taylor polynomial at 1: f(1) + f'(1)(x-1) + f''(1)/2 (x-1)^2 = -13 - 24(x-1) - 6(x-1)^2
    t = tc.parse(a["taylor"]["text"])
    for x in (-0.5, 0.3, 2.0):
        assert t.evaluate({"x": x}) == pytest.approx(-13 - 24 * (x - 1) - 6 * (x - 1) ** 2)


def test_analysis_two_variables_taylor_and_plot(client):
    body = {"expression": "x * exp(-x^2 - y^2)", "at": {"x": -1, "y": 0}, "plot": "taylor"}
    a = post(client, "analysis", body).json()
    assert a["plot"].startswith("data:image/png;base64,")
    q = tc.parse(a["taylor"]["text"])  # the seed's e^{-1}(-1 - (x+1) + (x+1)^2 + y^2)
    for x, y in [(-1.2, 0.3), (0.0, 0.0)]:
        want = np.exp(-1) * (-1 - (x + 1) + (x + 1) ** 2 + y**2)
        assert q.evaluate({"x": x, "y": y}) == pytest.approx(want)
    kinds = {(round(p["point"]["x"], 6), p["kind"]) for p in a["critical"]}
    assert kinds == {(round(-1 / np.sqrt(2), 6), "local minimum"),
                     (round(1 / np.sqrt(2), 6), "local maximum")}  # fmt: skip


@pytest.mark.parametrize(
    "body, words",
    [
        ({"expression": "x' @ A @ x"}, "one or two scalar variables"),
        ({"expression": "x + y + z"}, "one or two scalar variables"),
        ({"expression": "x^2", "at": {"q": 1}}, "no variable 'q'"),
        ({"expression": "x^2", "at": {"x": "one"}}, "number"),
        ({"expression": "x^2", "over": {"x": [2, 1]}}, "a < b"),
        ({"expression": "x^2", "plot": "3d"}, "plot"),
        ({"expression": "x^2", "taylor_order": 9}, "limit is 4"),
    ],
)
def test_analysis_bad_input(client, body, words):
    r = post(client, "analysis", body)
    assert 400 <= r.status_code < 500 and words in r.json()["error"], r.json()


# ------------------------------------------------------------------------------ server


def test_serve_warns_for_other_addresses_and_admits_the_bound_one(client):
    from tensorcalc.web.server import warning_for

    assert warning_for("127.0.0.1") is None and warning_for("localhost") is None
    assert "warning" in warning_for("0.0.0.0") and "0.0.0.0" in warning_for("0.0.0.0")
    assert client.get("/api/info", headers={"host": "192.168.1.5:8000"}).status_code == 200
    assert client.get("/api/info", headers={"host": "192.168.1.6:8000"}).status_code == 403


def test_cli_has_the_serve_command():
    from tensorcalc.cli import build_parser

    args = build_parser().parse_args(["serve", "--port", "8123", "--no-browser"])
    assert (args.command, args.port, args.host, args.no_browser) == (
        "serve",
        8123,
        "127.0.0.1",
        True,
    )


# --------------------------------------------------------------- syntax and notes (issue 22)

STAR = "read `*` as elementwise; for the matrix product write `@` or switch to MATLAB syntax"
TASK_BODIES = {"derivative": {}, "explain": {}, "check": {"seed": 1}, "code": {"backend": "numpy"}}


@pytest.mark.parametrize("task", list(TASK_BODIES))
def test_every_endpoint_takes_matlab_syntax_and_says_notes(client, task):
    body = {"expression": "norm2(A*x - y)^2", "wrt": "x", "syntax": "matlab", **TASK_BODIES[task]}
    r = post(client, task, body)
    assert r.status_code == 200, r.json()
    assert r.json()["syntax"] == "matlab" and r.json()["notes"] == []
    r = post(client, task, {**body, "syntax": "auto", "expression": "x'*A*x"})
    assert r.status_code == 200, r.json()
    assert r.json()["syntax"] == "text" and STAR in r.json()["notes"]


def test_analysis_says_syntax_and_notes(client):
    r = post(client, "analysis", {"expression": "a^2 - b", "syntax": "matlab"})
    assert r.status_code == 200 and r.json()["syntax"] == "matlab" and r.json()["notes"] == []


def test_matlab_answer_matches_text_answer(client):
    m = post(client, "derivative", {"expression": "0.5*x'*A*x", "syntax": "matlab"}).json()
    assert m["text"] == "0.5 * (A + A') @ x" and m["wrt"] == "x"
    assert m["shapes"] == {"x": "n", "A": "n,n"}


def test_bad_dimension_names_the_variable_and_lists_the_names(client):
    body = {"expression": "x' @ A @ x", "shapes": {"x": "2n"}}
    r = post(client, "derivative", body)
    assert r.status_code == 400
    data = r.json()
    assert data["variable"] == "x" and "the shape of x" in data["error"]
    assert data["variables"] == ["x", "A"] and data["notes"] == []


def test_only_applicable_styles_are_offered(client):
    data = post(client, "explain", {"expression": "x' @ A @ x", "wrt": "x"}).json()
    assert "rules" not in data["styles"] and "limit" not in data["styles"]
    for style in data["styles"]:
        r = post(client, "explain", {"expression": "x' @ A @ x", "wrt": "x", "style": style})
        assert r.status_code == 200, (style, r.json())
    assert "limit" in post(client, "explain", {"expression": "x^3", "wrt": "x"}).json()["styles"]


def test_attention_default_variable_is_not_s_from_softmax(client):
    data = post(client, "derivative", {"expression": "softmax(Q @ K' / s) @ V"}).json()
    assert data["variables"][0] == "Q" and data["wrt"] == "Q"
    assert "ones" not in data["text"] and "1_{" not in data["latex"]
    assert r"\frac{Q K^\top}{s}" in data["expression"]["latex"]


def test_several_scalar_variables(client):
    r = post(client, "derivative", {"expression": "x1^2*x2 + x1*x2^3", "wrt": "x1,x2"})
    assert r.status_code == 200
    assert r.json()["text"] == "[2 * x1 * x2 + x2^3, x1^2 + 3 * x1 * x2^2]"
    assert r.json()["shape"] == [2]
    r = post(client, "explain", {"expression": "x1^2 + 2*x2 where x1 = sin(t), x2 = cos(t)",
                                 "wrt": "t"})  # fmt: skip
    texts = [s["text"] for s in r.json()["steps"]]
    assert "df/dt = ∂f/∂x1 · dx1/dt + ∂f/∂x2 · dx2/dt" in texts
    assert not any("seed" in t or "engine" in t or "select(" in t for t in texts)
    assert post(client, "check", {"expression": "x1*x2", "wrt": "x1,x2"}).status_code == 400
    assert post(client, "derivative", {"expression": "x1*x2", "wrt": "x1;x2"}).status_code == 400


def test_a_declared_variable_that_does_not_occur_is_a_zero_with_a_note(client):
    body = {"expression": "x' @ x", "wrt": "y", "shapes": {"x": "n", "y": "m"}}
    r = post(client, "derivative", body)
    assert r.status_code == 200, r.json()
    data = r.json()
    assert data["text"] == "zeros(m)" and data["shape"] == ["m"]
    assert any("y does not occur" in n for n in data["notes"])
