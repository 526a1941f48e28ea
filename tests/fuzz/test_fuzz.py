"""The CI fuzz run: 2,000 derandomized inputs, none may escape as a non-TensorCalcError, hang
or give a derivative that disagrees with central differences.  The long campaign is
``python -m tests.fuzz --examples 100000``."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import tensorcalc as tc
from tensorcalc import build
from tensorcalc.shapes import as_shape

from . import oracle
from .__main__ import main
from .oracle import is_finding, run_one, run_one_detailed, shown
from .strategies import LANGUAGE_SYMBOLIC, shape_specs, sized, texts, values

CI = settings(
    max_examples=2000, derandomize=True, deadline=None, database=None,
    phases=[Phase.generate], suppress_health_check=list(HealthCheck),
)  # fmt: skip


@CI
@given(texts, st.integers(0, 2**32 - 1))
def test_text_gives_only_tensorcalc_errors(text, seed):
    # a generous watchdog here (CI machines are shared); the campaign uses 5 s
    # cheap checks on every input, a derivative on half, central differences on an eighth
    rng = np.random.default_rng(seed)
    outcome = run_one(text, rng, timeout=30.0, derive=seed % 2 == 0, fd=seed % 8 == 0)
    assert not is_finding(outcome), f"{outcome} for {shown(text)}"


LANGUAGE_EXAMPLES = int(os.environ.get("TC_FUZZ_LANGUAGE_EXAMPLES", "300"))


@settings(CI, max_examples=LANGUAGE_EXAMPLES)
@given(sized(), st.integers(0, 2**32 - 1))
def test_the_whole_language_at_symbolic_and_concrete_sizes(case, seed):
    """Every input is differentiated; f's value, and the derivative as returned, as printed and
    read back and (every fourth) as compiled, against the plain evaluation of f."""
    text, shapes = case
    rng = np.random.default_rng(seed)
    outcome, message = run_one_detailed(text, rng, timeout=60.0, compiled=seed % 4 == 0,
                                        shapes=shapes)  # fmt: skip
    assert not is_finding(outcome), f"{outcome} for {shown(text)} ({shapes}): {message}"
    assert outcome == "ok", f"{outcome} for {shown(text)} ({shapes}): {message}"


def test_the_language_grammar_covers_every_function():
    """Every function the parser knows is in some rule or leaf of the sized grammar."""
    from tensorcalc.parse.lower import FUNCTIONS

    from .strategies import _LANG_LEAVES, _LANG_RULES, LANGUAGE_FUNCS

    spelled = " ".join(t for rules in _LANG_RULES.values() for t, _ in rules)
    spelled += " " + " ".join(t for leaves in _LANG_LEAVES.values() for t in leaves)
    spelled += " " + " ".join(f"{f}(" for f in LANGUAGE_FUNCS)
    missing = [f for f in FUNCTIONS if f"{f}(" not in spelled]
    assert not missing, missing
    assert any(isinstance(d, str) for v in LANGUAGE_SYMBOLIC.values() for d in v)


@settings(CI, max_examples=300)
@given(shape_specs)
def test_shape_specs_are_tuples_of_dims_or_shape_errors(spec):
    try:
        shape = as_shape(spec)
    except tc.ShapeError:
        return
    assert all((isinstance(d, int) and d >= 1) or d.isidentifier() for d in shape)
    assert build.var("v", shape).shape == shape


@settings(CI, max_examples=300)
@given(values, st.sampled_from(["sum(x * x)", "x' @ A @ x", "sum(exp(x))"]))
def test_values_give_numbers_or_evaluation_errors(value, text):
    f = tc.parse(text, {"x": (3,), "A": (3, 3)})
    with np.errstate(all="ignore"):
        try:
            out = tc.evaluate(f, {"x": value, "A": np.eye(3)})
        except tc.TensorCalcError:
            return
    assert np.asarray(out).dtype.kind in "fc"


def test_the_strategies_reach_the_derivative_engine():
    """Most grammar-generated inputs are valid (else the fuzz would only test the lexer)."""
    seen = []

    @settings(CI, max_examples=100)
    @given(texts)
    def collect(text):
        seen.append(run_one(text, np.random.default_rng(0), fd=False))

    collect()
    assert seen.count("ok") > 25
    assert any(o.startswith("TensorCalcError:") for o in seen)


@pytest.mark.parametrize("depth", [99, 100])
def test_nesting_at_the_limit_works_everywhere(depth):
    """At ``MAX_DEPTH`` the whole pipeline runs (no RecursionError downstream)."""
    from tensorcalc.parse.parser import MAX_DEPTH

    assert depth <= MAX_DEPTH
    text = "sin(" * (depth - 1) + "x" + ")" * (depth - 1)
    assert run_one(text, np.random.default_rng(0), compiled=True) == "ok"


def _compiled_as(monkeypatch, change):
    """``tc.compile`` in the oracle gives ``change(evaluate's value)``."""
    monkeypatch.setattr(
        oracle.tc,
        "compile",
        lambda d: lambda dims=None, **point: change(tc.evaluate(d, point, dims=dims)),
    )


def test_compiled_code_that_disagrees_with_evaluate_is_its_own_finding(monkeypatch):
    _compiled_as(monkeypatch, lambda v: v + 1e-3)
    outcome, message = run_one_detailed("sin(x) * y", np.random.default_rng(0), compiled=True)
    assert outcome == "compiled-mismatch" and is_finding(outcome)
    assert "compiled vs" in message
    assert run_one("sin(x) * y", np.random.default_rng(0), compiled=False) == "ok"


def test_compiled_code_is_compared_with_evaluate_only_where_f_is_finite(monkeypatch):
    # exp(exp(exp(exp(exp(x))))) is inf on [0.5, 1.5]: its slope there is no number to compare
    _compiled_as(monkeypatch, lambda v: np.full(np.shape(v), np.nan))
    text = "exp(exp(exp(exp(exp(x)))))"
    assert run_one(text, np.random.default_rng(0), compiled=True, fd=False) == "ok"
    # where f is finite a nan is still a disagreement
    assert run_one("sin(x)", np.random.default_rng(0), compiled=True) == "compiled-mismatch"


def test_compiled_code_is_not_compared_where_f_is_rounding_noise():
    # det(x x') is 0 in exact arithmetic: 1 / det of it is rounding noise of size 1e16 and its
    # slope 1e32 in both, different noise (seed 41's campaign); central differences are unstable
    text = "det(outer(x[::-1], x[::-1]))/det(outer(x[::-1], x[::-1]))/det(outer(x[::-1], x[::-1]))"
    rng = np.random.default_rng(3294109262251710974)
    assert run_one(text, rng, compiled=True) == "ok"


def test_the_campaign_writes_its_findings_as_json_lines_that_rerun(monkeypatch, tmp_path, capsys):
    _compiled_as(monkeypatch, lambda v: np.asarray(v) + 1.0)  # every compiled check disagrees
    path = tmp_path / "findings.jsonl"
    assert main(["--examples", "60", "--seed", "3", "--cpu-time", "--findings", str(path)]) == 1
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert records and {r["outcome"] for r in records} == {"compiled-mismatch"}
    assert all(r["compiled"] and isinstance(r["seed"], int) and r["message"] for r in records)
    printed = capsys.readouterr().out
    assert f"{len(records)} finding(s)" in printed and "compiled-mismatch   <-- finding" in printed
    monkeypatch.undo()  # compiled code is right again: the same inputs and points pass
    assert main(["--rerun", str(path)]) == 0
    printed = capsys.readouterr().out
    assert printed.count("(was compiled-mismatch)") == len(records)
    assert "0 still a finding" in printed
