"""Render three explanations as LaTeX, compile them with pdflatex (amsmath only) and draw
each page as a PNG (mutool, or pdftoppm where installed).

    PYTHONPATH=src python docs/explanations/build.py
"""

from __future__ import annotations

import pathlib
import shutil
import subprocess

import tensorcalc as tc

HERE = pathlib.Path(__file__).parent
EXAMPLES = {
    "chain-rule-named-intermediates": (
        "x1^2*x2 + 3*x1 + 6*x2 where x1 = sin(t), x2 = exp(2*t)", "t", 1, {}
    ),
    "hessian-components": ("x * exp(-x^2 - y^2)", ["x", "y"], 2, {}),
    "least-squares-backprop": (
        "norm(y - Phi @ theta)^2", "theta", 1,
        {"shapes": {"y": "n", "Phi": "n,d"}, "style": "backprop"},
    ),
}  # fmt: skip
PREAMBLE = r"""\documentclass[10pt]{article}
\usepackage[paperwidth=32cm,paperheight=HEIGHTcm,margin=1cm]{geometry}
\usepackage{amsmath}
\allowdisplaybreaks
\pagestyle{empty}
\begin{document}
"""


def main():
    for name, (expr, wrt, order, kw) in EXAMPLES.items():
        e = tc.explain(expr, wrt, order, verify=True, **kw)
        title = e.title.replace("\\", "").replace("_", r"\_").replace("^", r"\^{}")
        height = 4 + 1.25 * len(e.steps)  # one page, about as tall as the steps
        body = (
            PREAMBLE.replace("HEIGHT", f"{height:.0f}")
            + r"\noindent\textbf{"
            + _ascii(title)
            + "}\n\n"
            + e.latex()
            + "\n\\end{document}\n"
        )
        tex = HERE / f"{name}.tex"
        tex.write_text(body, encoding="ascii")  # pdflatex reads ASCII only
        subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex.name],
                       cwd=HERE, check=True, capture_output=True)  # fmt: skip
        png = HERE / f"{name}.png"
        if shutil.which("pdftoppm"):
            subprocess.run(["pdftoppm", "-png", "-r", "110", "-singlefile", f"{name}.pdf", name],
                           cwd=HERE, check=True)  # fmt: skip
        else:
            subprocess.run(["mutool", "draw", "-q", "-r", "110", "-o", png.name, f"{name}.pdf", "1"],
                           cwd=HERE, check=True)  # fmt: skip
        for ext in ("aux", "log"):
            (HERE / f"{name}.{ext}").unlink(missing_ok=True)
        print(f"wrote {png}")


def _ascii(s: str) -> str:
    return s.encode("ascii", "replace").decode().replace("?", " ")


if __name__ == "__main__":
    main()
