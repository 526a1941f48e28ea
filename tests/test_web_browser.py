"""The web page in a real Chromium (Debian's /usr/bin/chromium) driven by Playwright, against a
real uvicorn server on 127.0.0.1.  One browser for the module; skipped without Chromium or
Playwright.  ``screenshot`` makes docs/web.png (``TC_WEB_SCREENSHOT=1`` writes it into the
repository; otherwise to a temporary folder)."""

from __future__ import annotations

import importlib.util
import os
import pathlib
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

import numpy as np
import pytest

CHROMIUM = "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip(f"no Chromium at {CHROMIUM}", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")
uvicorn = pytest.importorskip("uvicorn")
pytest.importorskip("starlette")

import tensorcalc as tc  # noqa: E402
from tensorcalc.web.app import create_app  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
TIMEOUT = 20_000  # ms for one thing to appear (the machine may be busy)
LEAST_SQUARES = "?e=norm(y+-+Phi+%40+theta)%5E2&wrt=theta&s=y:N&s=Phi:N,D&s=theta:D"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    config = uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not srv.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    srv.should_exit = True
    thread.join(30)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


REQUESTS: list = []  # every URL the page asked for, in all tests


def _page(browser, server, viewport):
    context = browser.new_context(viewport=viewport, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT)
    pg.on("request", lambda r: REQUESTS.append(r.url))
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("response", lambda r: (r.status == 404 or r.status >= 500) and errors.append(r.url))
    expected = "Failed to load resource: the server responded with a status of 4"  # bad input
    pg.on(
        "console", lambda m: m.type == "error" and expected not in m.text and errors.append(m.text)
    )
    pg.base = server
    yield pg
    context.close()
    assert not errors, errors


@pytest.fixture
def page(browser, server):
    yield from _page(browser, server, {"width": 1280, "height": 900})


@pytest.fixture
def phone(browser, server):
    yield from _page(browser, server, {"width": 390, "height": 844})


def has_text(page, selector, text):
    sync_api.expect(page.locator(selector)).to_have_text(text, timeout=TIMEOUT)


def contains(page, selector, text):
    sync_api.expect(page.locator(selector)).to_contain_text(text, timeout=TIMEOUT)


def load(page, query=""):
    page.goto(page.base + query)
    page.wait_for_selector("body[data-ready='1']")


def type_expression(page, text):
    page.fill("#expr", "")
    page.type("#expr", text, delay=5)


def result_tex(page) -> str:
    return page.locator("#result annotation").text_content()


def test_typing_renders_the_derivative_with_katex(page):
    load(page, "?e=sin(x)")
    type_expression(page, "x' @ A @ x")
    has_text(page, "#result-text", "(A + A') @ x")
    assert page.locator("#result .katex").count() == 1
    assert r"\left(A + A^\top\right) x" in result_tex(page)
    assert page.text_content("#shape-badge") == "shape (n,)"
    names = page.locator("#vars-table td.name").all_text_contents()
    assert names == ["x", "A"] and page.input_value("#wrt") == "x"


def test_a_bad_expression_shows_the_caret_message(page):
    load(page)
    type_expression(page, "x +* 2")
    page.wait_for_selector("#expr-error:not([hidden])")
    assert page.text_content("#caret") == "x +* 2\n   ^"
    assert page.text_content("#error-message") == "unexpected '*'"
    page.keyboard.press("End")
    page.keyboard.press("Backspace")
    page.keyboard.press("Backspace")
    page.keyboard.press("Backspace")
    page.type("#expr", " 2", delay=5)  # "x + 2"
    page.wait_for_selector("#expr-error", state="hidden")


def test_changing_a_shape_changes_the_result(page):
    load(page, "?e=A+%40+x&wrt=x")
    has_text(page, "#shape-badge", "shape (n, m)")
    dims = page.locator("tr[data-name='A'] input.dims")
    dims.fill("M, N")
    dims.press("Enter")
    has_text(page, "#shape-badge", "shape (M, N)")
    assert "s=A%3AM%2CN" in page.url or "s=A:M,N" in urllib.parse.unquote(page.url)
    page.select_option("tr[data-name='x'] select.kind", "scalar")
    page.wait_for_selector("#expr-error:not([hidden])")  # A @ (scalar) does not type-check
    assert "@" in page.text_content("#error-message")


def test_steps_open_and_show_verified_steps(page):
    load(page, "?e=x'+%40+A+%40+x&wrt=x&s=A:n,n")
    page.click("#steps-panel summary")
    page.wait_for_selector("#steps li .verified.yes")
    steps = page.locator("#steps li")
    assert steps.count() >= 2
    assert page.locator("#steps li .verified.no").count() == 0
    assert page.locator("#steps li .katex").count() >= 1


def test_check_button_shows_a_tick(page):
    load(page, "?e=logdet(X)&wrt=X")
    page.click("#check-btn")
    page.wait_for_selector("#check-result.ok")
    text = page.text_content("#check-result")
    assert text.startswith("✓") and "error estimate" in text
    assert "inv(X)': agrees" in text  # the check names the derivative it checked: the one shown


def test_numpy_tab_code_reproduces_the_result(page, tmp_path):
    load(page, "?e=x'+%40+A+%40+x&wrt=x&s=A:n,n")
    page.click(".tab[data-backend='jax']")
    contains(page, "#code", "import jax")
    page.click(".tab[data-backend='numpy']")
    sync_api.expect(page.locator("#code")).not_to_contain_text("import jax", timeout=TIMEOUT)
    contains(page, "#code", "__main__")  # a script: test data, a derivative check, a demo
    code = page.text_content("#code")
    result = page.text_content("#result-text")
    path = tmp_path / "derivative.py"
    path.write_text(code)
    run = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr  # it exits 1 when its check fails
    spec = importlib.util.spec_from_file_location("page_export", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rng = np.random.default_rng(1)
    v = {"A": rng.normal(size=(4, 4)), "x": rng.normal(size=4)}
    value, grad = module.fun(**v)
    shown = tc.parse(result, {"A": "n,n", "x": "n"}).evaluate(v)  # the page's result text
    np.testing.assert_allclose(grad, shown)
    np.testing.assert_allclose(value, v["x"] @ v["A"] @ v["x"])


def test_a_shared_url_reproduces_the_state_and_back_works(page, browser):
    load(page, "?e=sin(x)")
    type_expression(page, "norm(X - U @ V)^2")
    contains(page, "#result-text", "X - U @ V")
    page.select_option("#wrt", "V")
    has_text(page, "#result-text", "-2 * U' @ (X - U @ V)")
    page.select_option("#order", "2")
    contains(page, "h2#result-title", "order 2")
    shared, text = page.url, page.text_content("#result-text")
    other = browser.new_page()
    other.goto(shared)
    other.wait_for_selector("body[data-ready='1']")
    assert other.input_value("#expr") == "norm(X - U @ V)^2"
    assert other.input_value("#wrt") == "V" and other.input_value("#order") == "2"
    assert other.text_content("#result-text") == text
    other.close()
    page.go_back()  # order 1 again
    has_text(page, "#result-text", "-2 * U' @ (X - U @ V)")
    assert page.input_value("#order") == "1"


def test_the_seed_figure_is_one_click_in_the_examples_menu(page):
    load(page)
    page.select_option("#examples", label="x·exp(−x² − y²)")
    page.wait_for_selector("#plot:not([hidden])")
    assert page.get_attribute("#plot", "src").startswith("data:image/png;base64,")
    assert page.input_value("#point-inputs input[name='x']") == "-1"
    kinds = page.locator("#critical tbody td:nth-child(3)").all_text_contents()
    assert kinds == ["local minimum", "local maximum"]
    assert "T_{2}(x, y)" in page.locator("#taylor annotation").text_content()


def screenshot(page, path: pathlib.Path) -> pathlib.Path:
    """The page with the seed's least-squares example, steps open and checked, as a PNG."""
    load(page, LEAST_SQUARES)
    contains(page, "#result-text", "Phi")
    page.click("#check-btn")
    page.wait_for_selector("#check-result.ok")
    page.click("#steps-panel summary")
    page.wait_for_selector("#steps li .verified.yes")
    contains(page, "#code", "__main__")
    page.wait_for_timeout(300)  # fonts
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


def test_screenshot_of_the_least_squares_example(page, tmp_path):
    inside = os.environ.get("TC_WEB_SCREENSHOT") == "1"
    path = screenshot(page, ROOT / "docs" / "web.png" if inside else tmp_path / "web.png")
    assert path.stat().st_size > 20_000
    assert r"-2 \Phi^\top \left(y - \Phi \theta\right)" in result_tex(page)


def test_no_request_left_this_machine():
    assert len(REQUESTS) > 20  # the tests above ran and were logged
    for url in REQUESTS:
        parts = urllib.parse.urlsplit(url)
        assert parts.scheme in ("data", "blob") or parts.hostname == "127.0.0.1", url


# ------------------------------------------------------------------------ issue 22: the page

FITS = "document.documentElement.scrollWidth <= window.innerWidth"
STAR = "read `*` as elementwise; for the matrix product write `@` or switch to MATLAB syntax"


def test_phone_viewport_has_no_horizontal_scroll(phone):
    load(phone, "?e=x'*A*x")
    contains(phone, "#notes", "read * as elementwise")
    assert phone.evaluate(FITS), phone.evaluate("document.documentElement.scrollWidth")
    phone.click("#legend summary")
    phone.click("#steps-panel summary")
    phone.wait_for_selector("#steps li .verified")
    assert phone.evaluate(FITS)
    load(phone, "?e=x'+%40+A+%40+x&s=x:2n")  # an error, with the table of the names
    phone.wait_for_selector("#expr-error:not([hidden])")
    assert phone.evaluate(FITS)
    for sel in ["#syntax", "#examples", "#wrt", "#layout", "#check-btn"]:  # nothing cut off
        box = phone.locator(sel).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, sel


def test_a_bad_dimension_is_named_and_can_be_corrected(page):
    load(page, "?e=x'+%40+A+%40+x&wrt=x&s=x:2n")  # as after entering 2n and reloading
    page.wait_for_selector("#expr-error:not([hidden])")
    message = page.text_content("#error-message")
    assert "the shape of x" in message and "2n" in message
    assert page.locator("#vars-table td.name").all_text_contents() == ["x", "A"]
    assert page.locator("#wrt option").all_text_contents() == ["x", "A"]
    dims = page.locator("tr[data-name='x'] input.dims")
    assert dims.input_value() == "2n" and dims.get_attribute("aria-invalid") == "true"
    assert dims.is_editable()
    dims.fill("n")
    dims.press("Enter")
    has_text(page, "#result-text", "(A + A') @ x")
    assert "2n" not in urllib.parse.unquote(page.url)
    # the other way out: forget the declaration
    load(page, "?e=x'+%40+A+%40+x&wrt=x&s=x:2n")
    page.wait_for_selector("#expr-error:not([hidden])")
    page.click("tr[data-name='x'] button.forget")
    has_text(page, "#result-text", "(A + A') @ x")


def test_the_table_follows_the_text_after_an_error(page):
    load(page, "?e=x'+%40+A+%40+x")
    has_text(page, "#result-text", "(A + A') @ x")
    type_expression(page, "B @ y + z @ C @")  # a parse error: no names to trust
    page.wait_for_selector("#expr-error:not([hidden])")
    type_expression(page, "B @ y + C @ y @ y")  # a shape error: the names it has
    page.wait_for_selector("#expr-error:not([hidden])")
    sync_api.expect(page.locator("#vars-table td.name")).to_have_text(["B", "y", "C"])


def test_a_bad_order_in_the_url_is_reported(page):
    load(page, "?e=sin(x)&order=10")
    contains(page, "#url-notice", "order=10")
    assert page.input_value("#order") == "1" and "order=10" not in page.url
    has_text(page, "#result-text", "cos(x)")


def test_the_notation_legend(page):
    load(page)
    legend = page.locator("#legend")
    assert not legend.locator("dl").is_visible()
    page.click("#legend summary")
    assert legend.locator("dl").is_visible()
    text = legend.inner_text()
    for words in ["elementwise (Hadamard) product", "elementwise division", "outer (tensor)",
                  "Kronecker delta", "of ones", "identity matrix", "index brackets"]:  # fmt: skip
        assert words in text, words
    annotations = " ".join(legend.locator("annotation").all_text_contents())
    for sym in [r"\odot", r"\oslash", r"\otimes", r"\delta_{ij}", r"\mathbf{1}", "I"]:
        assert sym in annotations, sym


def test_matlab_syntax_end_to_end(page):
    load(page, "?e=x'*A*x")
    contains(page, "#notes", "read * as elementwise")  # the text reading, said out loud
    has_text(page, "#result-text", "2 * diag(A * x)")
    page.click("#use-matlab")  # one click to the MATLAB reading
    has_text(page, "#result-text", "(A + A') @ x")
    assert page.input_value("#syntax") == "matlab" and "syntax=matlab" in page.url
    assert page.locator("#notes").is_hidden()
    contains(page, "#read-as", "x: vector n, A: matrix n×n")
    type_expression(page, "norm2(A*x - y)^2")
    has_text(page, "#result-text", "2 * A' @ (A @ x - y)")
    url = page.url
    load(page, url[len(page.base) :])  # the syntax is kept in the URL
    assert page.input_value("#syntax") == "matlab"
    has_text(page, "#result-text", "2 * A' @ (A @ x - y)")
    page.select_option("#syntax", "text")  # and the picker switches back, with the note
    contains(page, "#notes", "read * as elementwise")
    assert "syntax=text" in page.url


def test_a_too_large_result_shows_a_message_and_a_download(page):
    expr = urllib.parse.quote(
        "sin(x)*cos(x)*exp(x)*tanh(x)*sqrt(x)*log(x)"
    )  # 28,655 chars of LaTeX
    load(page, f"?e={expr}&wrt=x&order=4")
    page.wait_for_selector("#too-large:not([hidden])")
    assert "too large to typeset" in page.text_content("#too-large-text")
    assert page.locator("#result .katex").count() == 0
    text = page.text_content("#result-text")
    assert len(text) > 2000 and "sin(x)" in text
    assert page.evaluate("document.documentElement.scrollHeight") < 4000  # no page of LaTeX
    with page.expect_download() as info:
        page.click("#download-text")
    assert pathlib.Path(info.value.path()).read_text() == text


def test_keyboard_on_the_examples_menu_and_the_code_tabs(page):
    load(page, "?e=sin(x)")
    has_text(page, "#result-text", "cos(x)")
    page.focus("#examples")
    page.keyboard.press("ArrowDown")  # browsing does not load
    page.wait_for_timeout(500)
    assert page.input_value("#expr") == "sin(x)"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")  # the second example loads
    second = page.evaluate("fetch('/api/info').then(r => r.json()).then(i => i.examples[1])")
    sync_api.expect(page.locator("#expr")).to_have_value(second["expression"])
    page.focus(".tab[data-backend='numpy']")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.dataset.backend") == "jax"
    assert page.get_attribute(".tab[data-backend='jax']", "aria-selected") == "true"
    contains(page, "#code", "import jax")
    contains(page, "#code-hint", "wrap fun in jax.jit yourself")
    page.keyboard.press("End")
    assert page.get_attribute(".tab[data-backend='tensorflow']", "aria-selected") == "true"
    page.keyboard.press("ArrowRight")  # wraps around
    assert page.get_attribute(".tab[data-backend='numpy']", "aria-selected") == "true"


def test_only_applicable_styles_and_plain_wording(page):
    load(page, "?e=x'+%40+A+%40+x&wrt=x")
    page.click("#steps-panel summary")
    page.wait_for_selector("#steps li .verified.yes")
    styles = page.locator("#style option").all_text_contents()
    assert "rules" not in styles and "limit" not in styles and "differential" in styles
    words = page.evaluate(  # the page's own words (the exported code's random seed aside)
        "[...document.querySelectorAll('body *:not(pre):not(code)')].map(e => e.childNodes)"
        ".flatMap(n => [...n]).filter(n => n.nodeType === 3).map(n => n.data).join(' ')"
    ).lower()
    assert "seed" not in words and "engine" not in words


def test_attention_prints_a_division_and_defaults_to_q(page):
    load(page, "?e=" + urllib.parse.quote("softmax(Q @ K' / s) @ V"))
    contains(page, "#result-text", "softmax(Q @ K' / s)")
    assert page.input_value("#wrt") == "Q"
    assert "ones" not in page.text_content("#result-text")


def test_screenshots_of_desktop_and_phone(page, phone, tmp_path):
    inside = os.environ.get("TC_WEB_SCREENSHOT") == "1"
    folder = ROOT / "docs" if inside else tmp_path
    for pg, name in ((page, "web-desktop.png"), (phone, "web-phone.png")):
        load(pg, "?e=" + urllib.parse.quote("norm2(A*x - y)^2") + "&wrt=x&syntax=matlab")
        has_text(pg, "#result-text", "2 * A' @ (A @ x - y)")
        pg.click("#legend summary")
        contains(pg, "#code", "__main__")
        pg.wait_for_timeout(300)
        pg.screenshot(path=str(folder / name), full_page=True)
        assert (folder / name).stat().st_size > 20_000
