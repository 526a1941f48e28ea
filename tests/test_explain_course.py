"""Every explanation of the course table (tests/data/course-examples.json: the seed examples
and exercises the course states, in the course's own notation), in every style that applies,
read as a student would: every step verifies, no line is over 120 characters, no internal
word reaches the reader, and the polynomial and chain-rule answers end in their textbook form.
"""

from __future__ import annotations

import json
import pathlib
import re
import shutil
import subprocess

import pytest

import tensorcalc as tc

DATA = json.loads((pathlib.Path(__file__).parent / "data" / "course-examples.json").read_text())
EXAMPLES = DATA["examples"]
STYLES = ("rules", "differential", "index", "backprop", "limit")
INTERNAL = re.compile(r"\bseed\b|\bengine\b|select\(|\bzq\w*qz\b|\btensorcalc\.|\bEINSUM\b|STACK")
REFUSALS = ("style", "several variables", "rank", "scalar variable", "limit style")


def explained(ex, style):
    try:
        return tc.explain(ex["expr"], ex["wrt"], ex.get("order", 1), style=style,
                          shapes=ex.get("shapes"), verify=True)  # fmt: skip
    except tc.TensorCalcError as err:  # a style that does not apply says so
        assert any(w in str(err) for w in REFUSALS), str(err)
        return None


CASES = [(ex, style) for ex in EXAMPLES for style in STYLES]


def test_the_table_is_the_course():
    assert len(EXAMPLES) >= 30
    assert len({ex["id"] for ex in EXAMPLES}) == len(EXAMPLES)


@pytest.mark.parametrize("ex,style", CASES, ids=[f"{ex['id']}-{s}" for ex, s in CASES])
def test_course_explanation_reads_well(ex, style):
    e = explained(ex, style)
    if e is None:
        return
    assert all(s.verified for s in e.steps)
    text = e.text()
    longest = max(text.splitlines(), key=len)
    assert len(longest) <= 120, longest
    assert not INTERNAL.search(text + e.latex()), INTERNAL.search(text + e.latex()).group()
    assert e.latex().isascii()  # pdflatex reads ASCII only
    answer = str(e.result) if e.result.op.value != "stack" else None
    if "final" in ex and style in ("rules", "differential", "index", "backprop"):
        assert answer == ex["final"], (answer, ex["final"])
        last = e.steps[-1].text.replace("\n", " ")
        assert re.sub(r"\s+", " ", last).endswith(ex["final"]) or style == "limit", last


def test_every_example_has_a_style():
    for ex in EXAMPLES:
        assert any(explained(ex, s) is not None for s in STYLES), ex["id"]


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="needs pdflatex")
def test_every_course_explanation_compiles_with_pdflatex(tmp_path):
    parts = []
    for ex, style in CASES:
        e = explained(ex, style)
        if e is not None:
            parts.append(rf"\noindent {ex['id']} {style}" + "\n" + e.latex() + "\n")
    doc = (
        "\\documentclass{article}\n\\usepackage[paperwidth=60cm,paperheight=200cm]{geometry}\n"
        "\\usepackage{amsmath}\n\\allowdisplaybreaks\n\\begin{document}\n"
        + "\n".join(parts) + "\\end{document}\n"
    )  # fmt: skip
    (tmp_path / "course.tex").write_text(doc, encoding="ascii")
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "course.tex"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert run.returncode == 0, [line for line in run.stdout.splitlines() if line.startswith("!")]
    assert (tmp_path / "course.pdf").stat().st_size > 0
