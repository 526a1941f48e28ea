"""Soundness of every rewrite: ``simplify(e)`` and ``finite_form(e)`` equal ``e`` numerically.

Random expressions of the whole language (``fuzz.strategies.sized``: every function and
constructor, symbolic dimension names as often as concrete sizes) are parsed, and so are their
raw derivatives (the reverse sweep before any simplification, where most rewrites apply; a
quarter of them also at order 2).  Each
is evaluated at random sizes and values by ``fuzz.plain.plain``, which reads the IR node by node
and applies no rewrite at all (not even ``finite_form``, which ``tc.evaluate`` applies), and
compared with the same evaluation of ``simplify(e)``, ``finite_form(e)`` and both, and with
``tc.evaluate(e)``.  Where the plain value is finite the rewritten one must be finite and
close; where it is inf or NaN (a log of a negative, 0 / 0) the entry is not compared.

Examples are derandomized; ``TC_PROPERTY_EXAMPLES`` sets how many (1,000 by default).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

import tensorcalc as tc
from fuzz.plain import plain, plain_noise
from fuzz.strategies import sized
from tensorcalc.diff.reverse import derivative as raw_derivative
from tensorcalc.expr import variables
from tensorcalc.ops import Op
from tensorcalc.simplify import simplify
from tensorcalc.simplify.finite import finite_form

EXAMPLES = int(os.environ.get("TC_PROPERTY_EXAMPLES", "1000"))
RTOL = 1e-6


def point(f, rng, dims):
    """Values for ``f``'s variables at the sizes ``dims``: in [0.5, 1.5], or of both signs."""
    low = 0.5 if rng.integers(2) else -1.5
    return {
        name: rng.uniform(low, 1.5, size=tuple(dims.get(d, d) for d in v.shape))
        for name, v in variables(f).items()
    }


def gap(got, want, noise=0.0) -> str | None:
    """Where ``got`` disagrees with the plain value ``want`` (entries where ``want`` is finite
    must be finite and close in ``got``, within ``noise`` too: the plain value's own rounding
    error, see ``_noise``), or ``None``."""
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    if got.shape != want.shape:
        return f"shape {got.shape}, expected {want.shape}"
    ok = np.isfinite(want)
    if not ok.any():
        return None
    scale = max(1.0, float(np.max(np.abs(want[ok]))))
    with np.errstate(all="ignore"):
        bad = ok & ~(np.abs(got - want) <= RTOL * (np.abs(want) + 1e-2 * scale) + noise)
    if not bad.any():
        return None
    k = tuple(int(i) for i in np.argwhere(bad)[0])
    return f"at {k}: expected {want[k]!r}, got {got[k]!r}"


def _plain_or_none(e, values, dims):
    """The plain value, or ``None`` where it has none to compare: a singular matrix, or the
    quotient of rounding noise (``plain_noise``: 1 / Σ (x − mean(x)) is 1/0, not 1e16)."""
    try:
        value, unsure = plain_noise(e, values, dims)
    except np.linalg.LinAlgError:
        return None
    return None if unsure else value


def _exact_zero(e, f, wrt, values, dims) -> bool:
    """Whether a derivative the simplifier made an exact zero is one: f is constant in ``wrt``
    (sum(softmax(x)) = 1 makes exp(4 m sum(softmax(x))) constant), judged by central
    differences of the plain f, an oracle that uses no rule.  Its raw derivative then evaluates
    to rounding noise times the size of f (3e4 at f = 37^12), which is no evidence of a wrong
    rewrite; a dropped count or a lost factor is never a zero where f varies."""
    if e.op is not Op.CONST or np.any(np.asarray(e.attrs[0]) != 0):
        return False
    x = np.asarray(values[wrt.name], dtype=float)
    f0 = plain(f, values, dims)
    scale = max(1.0, float(np.max(np.abs(f0))))
    for idx in np.ndindex(*x.shape):
        moved = []
        for h in (1e-4, -1e-4):
            xx = x.copy()
            xx[idx] += h * max(1.0, abs(x[idx]))
            moved.append(plain(f, {**values, wrt.name: xx}, dims))
        if np.max(np.abs(moved[0] - moved[1])) > 1e-9 * scale:
            return False
    return True


def failures(text: str, shapes: dict, seed: int) -> list[str]:
    """Every disagreement between a rewritten form and the plain value, for ``text``."""
    try:
        f = tc.parse(text, shapes)
    except tc.TensorCalcError:
        return []
    rng = np.random.default_rng(seed)
    names = sorted(variables(f))
    dims = {"n": int(rng.integers(2, 6)), "m": int(rng.integers(2, 6))}
    values = point(f, rng, dims)
    found = []
    subjects = [("f", f)]
    if names:
        wrt = variables(f)[names[int(rng.integers(len(names)))]]
        first = raw_derivative(f, wrt)
        subjects.append((f"raw d/d{wrt.name}", first))
        if rng.integers(4) == 0 and first.ndim <= 2:  # a quarter also at order 2
            subjects.append((f"raw d2/d{wrt.name}2", raw_derivative(first, wrt)))
    for what, e in subjects:
        want = _plain_or_none(e, values, dims)
        if want is None:
            continue
        s = simplify(e)
        if what != "f" and _exact_zero(s, f, wrt, values, dims):
            continue  # f is constant in wrt, so every derivative is 0: the raw one is noise
        forms = [("simplify", s), ("finite_form", finite_form(e)), ("finite_form(simplify)",
                 finite_form(s))]  # fmt: skip
        for how, g in forms:
            got = _plain_or_none(g, values, dims)
            if got is not None and (where := gap(got, want)):
                found.append(f"{how} of {what} = {str(g)[:300]!r}: {where}")
        if what == "f":
            try:
                got = tc.evaluate(e, values, dims=dims)
            except tc.EvaluationError:
                continue
            if where := gap(got, want):
                found.append(f"tc.evaluate of {what}: {where}")
    if found:
        symbolic = {d for shape in shapes.values() for d in shape if isinstance(d, str)}
        sizes = {k: v for k, v in dims.items() if k in symbolic}
        used = {k: v.shape for k, v in variables(f).items()}
        head = f"{text!r} with shapes {used} sizes {sizes} seed {seed}"
        return [f"{head}: {m}" for m in found]
    return []


CI = settings(
    max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
    phases=[Phase.generate], suppress_health_check=list(HealthCheck),
)  # fmt: skip


@CI
@given(sized(depth=3), st.integers(0, 2**32 - 1))
def test_rewrites_keep_the_value(case, seed):
    text, shapes = case
    try:
        tc.parse(text, shapes)
    except tc.TensorCalcError:
        assume(False)
    bad = failures(text, shapes, seed)
    assert not bad, "\n".join(bad)


# the issue's reproducers, at symbolic and concrete sizes: values of f and of raw derivatives
REPRODUCERS = [
    "mean(x)^2",
    "mean(X @ x - z)^2",
    "mean(X, 1)' @ mean(X, 1)",
    "(sum(ones(n)) * norm(x))^-1",
    "(tr(eye(n)) * norm(x))^-1",
    "(sum(ones(n)) * norm(x))^0.5",
    "sum(ones(n))^2 * norm(x)",
    "sum(ones(n))^-1 * sum(x)",
    "x' @ (x / norm(x))",
    "sum(x * x / norm(x))",
]


@pytest.mark.parametrize("symbolic", [True, False], ids=["symbolic", "concrete"])
@pytest.mark.parametrize("text", REPRODUCERS)
def test_the_issue_reproducers_keep_their_value(text, symbolic):
    from fuzz.strategies import LANGUAGE_CONCRETE, LANGUAGE_SYMBOLIC, concrete_text

    shapes = LANGUAGE_SYMBOLIC if symbolic else LANGUAGE_CONCRETE
    text = text if symbolic else concrete_text(text)
    for seed in range(3):
        bad = failures(text, shapes, seed)
        assert not bad, "\n".join(bad)


def test_the_plain_evaluator_reads_the_ir_literally():
    """The oracle itself against closed forms (so a wrong oracle cannot pass everything)."""
    x, A = np.array([3.0, 4.0]), np.array([[1.0, 2.0], [3.0, 5.0]])
    v = {"x": x, "A": A}
    sh = {"x": ("n",), "A": ("n", "n")}
    cases = {
        "sum(ones(n))^2 * norm(x)": 4 * 5.0,
        "x' @ (x / norm(x))": 5.0,
        "sum(x * x / norm(x))": 5.0,
        "mean(x)^2": 3.5**2,
        "logdet(A)": np.log(abs(np.linalg.det(A))),
        "tr(inv(A))": np.trace(np.linalg.inv(A)),
        "logsumexp(x)": np.log(np.exp(3) + np.exp(4)),
        "sum(softmax(A, 0) @ x)": float(np.sum(np.exp(A) / np.exp(A).sum(0) @ x)),
    }
    for text, want in cases.items():
        assert float(plain(tc.parse(text, sh), v)) == pytest.approx(want, rel=1e-12), text
    d = plain(tc.parse("diag(x)", sh), v)
    np.testing.assert_array_equal(d, np.diag(x))


def test_a_wrong_rewrite_is_caught(monkeypatch):
    """Planted: a simplifier that takes Σ 1 for 1 (the issue's defect) is reported."""
    from tensorcalc import build

    count = build.sum_(build.ones(("n",)))

    real = simplify

    def broken(e):
        return build.substitute(real(e), {count: build.const(1.0)})

    monkeypatch.setitem(globals(), "simplify", broken)
    bad = failures("sum(ones(n))^2 * norm(x)", {"x": ("n",)}, 0)
    assert any(": simplify of f = " in m for m in bad), bad


def test_the_oracle_modules_examples():
    import doctest

    import fuzz.ml
    import fuzz.plain

    for module in (fuzz.plain, fuzz.ml):
        assert doctest.testmod(module).failed == 0


def test_an_exact_zero_is_no_disagreement_with_rounding_noise():
    # sum(softmax(x)) = 1, so f is constant and its derivative is exactly 0; the raw derivative
    # evaluates to rounding noise times 37^12 (about 3e4), which is no evidence of a wrong rewrite
    text = "(1 + (sum(ones(m, n)))^2)^((ones(m) + ones(m))' @ ((ones(m, n)) + (ones(m, n))) @ softmax(x))"
    assert failures(text, {"x": ("n",)}, 637) == []


def test_a_zero_where_f_varies_is_still_a_disagreement():
    f = tc.parse("exp(sum(x))", {"x": ("n",)})
    x = variables(f)["x"]
    values, dims = {"x": np.array([0.1, 0.2, 0.3])}, {"n": 3}
    assert not _exact_zero(tc.zeros(("n",)), f, x, values, dims)
    g = tc.parse("exp(sum(softmax(x)))", {"x": ("n",)})
    assert _exact_zero(tc.zeros(("n",)), g, variables(g)["x"], values, dims)
