"""Random expressions from ML building blocks against an independent NumPy twin.

``fuzz.ml`` builds each expression twice, as tensorcalc text and as a NumPy function, and
compares at symbolic sizes (n and N bound to random distinct ints) the value (``evaluate``,
and compiled code for every fifth) and the gradient, as returned and as printed and parsed
back, with central differences of the NumPy function (and for every fifth the Hessian, with
second differences).  ``TC_RANDOM_ML_EXAMPLES`` sets how
many seeds run (500 by default); the long campaign is ``python -m tests.fuzz --ml``.
"""

from __future__ import annotations

import os
import re

import numpy as np

import tensorcalc as tc
from fuzz import ml
from fuzz.plain import plain

EXAMPLES = int(os.environ.get("TC_RANDOM_ML_EXAMPLES", "500"))


def test_random_ml_expressions_match_numpy():
    found, outcomes = [], []
    for seed in range(EXAMPLES):
        outcome, message, _ = ml.run_one(seed, compiled=seed % 5 == 0, hessian=seed % 5 == 1)
        outcomes.append(outcome)
        if outcome.startswith(ml.FINDINGS):
            found.append(f"seed {seed}: {outcome}: {message}")
    assert outcomes.count("ok") > EXAMPLES // 2  # most inputs are compared, not skipped
    assert not found, f"{len(found)} of {EXAMPLES}:\n" + "\n".join(found)


def test_the_numpy_twins_render_the_same_function():
    """The oracle itself: each NumPy twin equals the plain, rewrite-free evaluation of its text
    at concrete sizes (where dimension counts are numbers when the node is built)."""
    checked = 0
    for seed in range(200):
        rng = np.random.default_rng(seed)
        text, fn = ml.random_case(rng)
        point = ml.values(rng)
        shapes = {k: tuple({"n": len(point["x"]), "N": len(point["t"])}.get(d, d) for d in v)
                  for k, v in ml.SHAPES.items()}  # fmt: skip
        sizes = {"n": len(point["x"]), "N": len(point["t"])}
        text = re.sub(r"\b(ones|eye)\(([nN, ]+)\)",
                      lambda m: f"{m[1]}({', '.join(str(sizes[d.strip()]) for d in m[2].split(','))})",
                      text)  # fmt: skip
        with np.errstate(all="ignore"):
            want = fn(point)
            if not np.isfinite(want):
                continue
            got = plain(tc.parse(text, shapes), point)
        assert np.isclose(got, want, rtol=1e-9, atol=1e-12), (seed, text, got, want)
        checked += 1
    assert checked > 150


def test_a_wrong_derivative_is_a_finding(monkeypatch):
    """Planted: a derivative that forgets a dimension count is reported."""
    real = tc.derivative
    monkeypatch.setattr(ml.tc, "derivative", lambda f, w: 2 * real(f, w))
    rng = np.random.default_rng(0)
    point = ml.values(rng)
    outcome, message = ml.check_case("mean(x)^2", lambda e: np.mean(e["x"]) ** 2, point, rng)
    assert outcome == "gradient", message


def test_a_wrong_hessian_is_a_finding(monkeypatch):
    real = tc.derivative
    monkeypatch.setattr(
        ml.tc,
        "derivative",
        lambda f, w, order=1: real(f, w, order=order) * (1.5 if order == 2 else 1),
    )
    rng = np.random.default_rng(0)
    point = ml.values(rng)
    text, fn = "mean(x)^2 * norm(y)", lambda e: np.mean(e["x"]) ** 2 * np.linalg.norm(e["y"])
    assert ml.check_case(text, fn, point, rng)[0] == "ok"
    outcome, message = ml.check_case(text, fn, point, np.random.default_rng(0), hessian=True)
    assert outcome == "hessian", message
