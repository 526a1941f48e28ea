"""The documentation site: built in strict mode through ``tensorcalc docs`` (a broken link, a
failing tutorial block or a missing reference target fails the build), then opened in Chromium
(Debian's /usr/bin/chromium, via Playwright) from ``python -m http.server`` and from the file
system, with every request that would leave the machine blocked and counted.

Skipped cleanly without the docs toolchain (``pip install ".[docs]"``); the browser tests also
without Chromium or Playwright. ``TC_DOCS_SITE=DIR`` tests a site built already instead of
building one. ``TC_DOCS_SCREENSHOT=1`` writes the screenshots
(docs/site-home.png, docs/site-tutorial.png, docs/site-api.png) into the repository.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import inspect
import os
import pathlib
import re
import subprocess
import sys
import threading
import time

import pytest

import tensorcalc

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
TOOLCHAIN = ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python", "markdown_exec")
BUILD_TIMEOUT = 900  # s; about a minute on an idle two-core machine
CHROMIUM = "/usr/bin/chromium"
TIMEOUT = 30_000  # ms for one thing to appear (the machine may be busy)

PUBLIC = sorted(
    n for n in tensorcalc.__all__
    if callable(getattr(tensorcalc, n)) and not inspect.ismodule(getattr(tensorcalc, n))
)  # fmt: skip


def _cli(*args, timeout=60):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, "-m", "tensorcalc", "docs", *args],
        capture_output=True, text=True, timeout=timeout, env=env,
    )  # fmt: skip


def _have_toolchain() -> bool:
    try:
        return all(importlib.util.find_spec(m) is not None for m in TOOLCHAIN)
    except ModuleNotFoundError:
        return False


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if not _have_toolchain():
        pytest.skip("the docs toolchain is not installed (pip install '.[docs]')")
    if os.environ.get("TC_DOCS_SITE"):  # a site built already (to iterate on these tests)
        return pathlib.Path(os.environ["TC_DOCS_SITE"]).resolve()
    out = tmp_path_factory.mktemp("site")
    started = time.perf_counter()
    done = _cli("--source", str(ROOT), "--output", str(out), "--no-browser", timeout=BUILD_TIMEOUT)
    assert done.returncode == 0, done.stdout + done.stderr
    print(f"site built in {time.perf_counter() - started:.0f} s")
    assert done.stdout.startswith("built ") and (out / "index.html").is_file()
    return out


# ------------------------------------------------------------------ sources (no toolchain needed)


def test_every_public_name_is_in_the_api_reference():
    """Each public function and class has an entry on a reference page (a ``:::`` directive, or
    the list of elementwise functions whose docstrings the building page prints)."""
    text = "\n".join(p.read_text() for p in (DOCS / "reference").glob("*.md"))
    documented = set(re.findall(r"^::: tensorcalc\.(\w+)\s*$", text, re.M))
    documented |= set(re.findall(r'heading: "tensorcalc\.(\w+)"', text))
    listed = re.search(r"for name in \[(.*?)\]:", text, re.S)
    documented |= set(re.findall(r'"(\w+)"', listed.group(1)))
    assert set(PUBLIC) - documented == set()


def test_the_nav_lists_every_page():
    nav = (ROOT / "mkdocs.yml").read_text().split("\nnav:\n")[1]
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    assert {p for p in pages if p not in nav} == set()


def test_docs_command_bad_input_is_one_line_and_status_2(tmp_path):
    for args in (["--source", str(tmp_path)], ["--bogus"]):
        done = _cli(*args)
        assert done.returncode == 2 and done.stdout == ""
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr
    afile = tmp_path / "a-file"
    afile.write_text("")
    done = _cli("--source", str(ROOT), "--output", str(afile), "--no-browser")
    assert (
        done.returncode == 2 and done.stderr.strip() == f"error: --output {afile}: not a directory"
    )


# ------------------------------------------------------------------ the built site


def test_tutorials_were_executed_at_build_time(site):
    """Outputs on the pages are what the code computed: the seed examples' numbers."""
    page = lambda name: (site / "tutorials" / f"{name}.html").read_text()  # noqa: E731
    assert "sin(x^4)^4 * cos(x^4) * 4 * x^3 ✓" in page("01-univariate")  # verified steps
    backprop = page("06-backpropagation")
    assert backprop.count("df/dw: -4096") >= 3, "tensorcalc, PyTorch and TensorFlow tabs"
    assert backprop.count("f = 1024.0") >= 3
    assert "minimum at x = 2 (value -32)" in page("08-optimisation")
    for name in ("01-univariate", "07-hessians-taylor", "08-optimisation", "09-checking"):
        assert '<img class="tc-figure"' in page(name) and "data:image/png;base64," in page(name)


def test_api_reference_is_generated_from_the_docstrings(site):
    html = (site / "reference" / "expressions.html").read_text()
    assert 'id="tensorcalc.derivative"' in html and "tensorcalc.derivative" in html
    assert '<span class="gp">&gt;&gt;&gt; </span>' in html  # doctest examples as code
    assert "<blockquote>" not in html  # not read as nested quotes
    building = (site / "reference" / "building.html").read_text()
    assert "tensorcalc.sigmoid" in building and "Elementwise sigmoid." in building


def test_nothing_is_loaded_from_the_network(site):
    """No script, stylesheet, font or image of the site comes from another host."""
    remote = re.compile(r"""(?:src|href)=["'](?:https?:)?//""")
    css_remote = re.compile(r"""url\(\s*["']?(?:https?:)?//""")
    for path in site.rglob("*"):
        if path.suffix == ".html":
            for tag in re.findall(r"<(?:script|link|img|iframe|source)\b[^>]*>", path.read_text()):
                if 'rel="canonical"' in tag or "rel='canonical'" in tag:
                    continue
                assert not remote.search(tag), (path, tag)
        elif path.suffix == ".css":
            assert not css_remote.search(path.read_text(errors="replace")), path
    assert (site / "vendor" / "katex" / "katex.min.js").is_file()


# ------------------------------------------------------------------ in Chromium


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM)
        yield b
        b.close()


@pytest.fixture(scope="module")
def server(site):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _page(browser, base):
    """A page whose requests outside ``base`` (and data: URLs) are aborted and recorded."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    left, errors = [], []

    def route(r):
        url = r.request.url
        if url.startswith((base, "data:", "blob:")):
            r.continue_()
        else:
            left.append(url)
            r.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda err: errors.append(str(err)))
    return page, left, errors


def _search(page, query):
    box = page.locator("input.md-search__input")
    box.click()
    box.press_sequentially(query, delay=50)  # keystrokes: the search reads key events
    results = page.locator(".md-search-result__item")
    results.first.wait_for(timeout=TIMEOUT)
    return results


def _shoot(page, name, tmp_path):
    target = DOCS if os.environ.get("TC_DOCS_SCREENSHOT") else tmp_path
    page.screenshot(path=str(target / name))


def test_browse_tutorial_reference_and_search_over_http(browser, server, tmp_path):
    page, left, errors = _page(browser, server)
    page.goto(f"{server}/index.html")
    page.locator(".katex").first.wait_for(timeout=TIMEOUT)  # the home page's formula, by KaTeX
    _shoot(page, "site-home.png", tmp_path)

    # the navigation: the Tutorials tab, then lesson 7 with its figure
    page.locator(".md-tabs__link", has_text="Tutorials").click()
    page.wait_for_url("**/tutorials/index.html", timeout=TIMEOUT)
    page.locator("nav.md-nav a", has_text="7. Hessians and Taylor series").first.click()
    page.wait_for_url("**/tutorials/07-hessians-taylor.html", timeout=TIMEOUT)
    figure = page.locator("img.tc-figure").last
    figure.wait_for(timeout=TIMEOUT)
    assert page.evaluate("(img) => img.complete && img.naturalWidth > 0", figure.element_handle())
    assert page.locator(".katex").count() > 5
    page.evaluate("document.querySelector('#the-wireframe-figure').scrollIntoView()")
    page.evaluate("window.scrollBy(0, 150)")  # the call and the figure
    page.wait_for_timeout(800)  # the header's title transition
    _shoot(page, "site-tutorial.png", tmp_path)

    # the API reference
    page.locator(".md-tabs__link", has_text="API reference").click()
    page.wait_for_url("**/reference/index.html", timeout=TIMEOUT)
    page.locator("article a", has_text="Expressions and derivatives").first.click()
    page.wait_for_url("**/reference/expressions.html", timeout=TIMEOUT)
    page.locator("[id='tensorcalc.derivative']").wait_for(timeout=TIMEOUT)
    _shoot(page, "site-api.png", tmp_path)

    # search
    results = _search(page, "hessian")
    assert results.count() >= 3
    text = results.all_inner_texts()
    assert any("essian" in t for t in text), text
    assert left == [], f"requests left the machine: {left}"
    assert errors == [], errors
    page.close()


def test_search_works_from_the_file_system(browser, site):
    page, left, errors = _page(browser, site.as_uri())
    page.goto((site / "index.html").as_uri())
    results = _search(page, "hessian")
    assert results.count() >= 3
    results.first.locator("a").first.click()
    page.wait_for_load_state()
    assert page.url.startswith(site.as_uri())
    assert left == [], f"requests left the machine: {left}"
    assert errors == [], errors
    page.close()


def test_the_request_guard_sees_a_remote_load(browser, server):
    """The guard of the tests above is not vacuous: a remote image is caught (and aborted)."""
    page, left, _ = _page(browser, server)
    page.goto(f"{server}/index.html")
    page.evaluate("""() => { const i = new Image(); i.src = "https://example.invalid/x.png";
                             document.body.appendChild(i); }""")
    page.wait_for_timeout(500)
    assert left == ["https://example.invalid/x.png"]
    page.close()


def test_docs_command_without_the_toolchain_says_what_to_install(tmp_path):
    code = (
        "import sys; sys.modules['mkdocs'] = None; from tensorcalc.cli import main; "
        f"sys.exit(main(['docs', '--source', {str(ROOT)!r}, '--output', {str(tmp_path)!r}, "
        "'--no-browser']))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 2
    assert done.stderr == "error: tensorcalc docs needs mkdocs: pip install '.[docs]'\n"
