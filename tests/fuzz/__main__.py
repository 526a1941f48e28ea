"""The long fuzz campaign: ``python -m tests.fuzz --examples 100000 [--seed 0] [--timeout 5]
[--cpu-time] [--findings FILE] [--ml]``, and ``python -m tests.fuzz --rerun FILE``.

Runs ``--examples`` inputs through ``oracle.run_one_detailed`` (each under a
``--timeout``-second watchdog): half from ``strategies.texts`` (the small grammar and its
mutations, concrete sizes), half from ``strategies.sized`` (the whole language, its shapes
symbolic or concrete, half and half); ``--ml`` runs the ML generator of ``fuzz.ml`` instead
(values and gradients against independent NumPy at symbolic sizes).  It prints the count of
each outcome and up to ten reproducers per finding, and exits with status 1 if any input
escaped as a non-TensorCalcError, hung, gave a value or derivative that disagrees with the
plain evaluation or central differences of f, or compiled code that disagrees with
``evaluate`` (else 0).  ``--findings FILE`` writes every finding as one JSON line (``text``,
``outcome``, ``message``, the ``shapes`` declared (null: ``strategies.SHAPES``), and the
``seed`` and ``compiled`` flag that reproduce its point and checks; ``ml_seed`` for ``--ml``);
``--rerun FILE`` runs the inputs of such a file again and prints what each gives now (exit
status 1 if any is still a finding).  Run it from the repository root with
``PYTHONPATH=src`` (or an installed tensorcalc).
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as with_seed
from hypothesis import strategies as st

from . import ml
from .oracle import is_finding, run_one_detailed, shown
from .strategies import sized, texts

CASES = st.one_of(texts.map(lambda t: (t, None)), sized())  # half symbolic-or-concrete language


class _Stop(Exception):
    """The campaign's time budget is spent."""


def campaign(
    examples: int, seed: int, timeout: float, minutes=None, compiled_every: int = 10, clock="wall",
    findings=None,
):  # fmt: skip
    """``(counts, reproducers, seconds)`` of a campaign of ``examples`` inputs (fewer if the
    ``minutes`` budget runs out first); progress goes to stderr every 1,000 inputs, and each
    finding to ``findings`` (a text file) as a JSON line when given.  Each input's point comes
    from its own generator, seeded from the campaign's, so that a finding can be re-run alone."""
    counts, found = collections.Counter(), collections.defaultdict(list)
    rng = np.random.default_rng(seed)
    start = time.time()

    @settings(
        max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
        suppress_health_check=list(HealthCheck), derandomize=False,
    )  # fmt: skip
    @given(CASES, st.integers(0, compiled_every - 1))
    def one(case, k):
        text, shapes = case
        point_seed = int(rng.integers(2**63))
        outcome, message = run_one_detailed(
            text, np.random.default_rng(point_seed), timeout=timeout, compiled=k == 0, clock=clock,
            shapes=shapes,
        )  # fmt: skip
        counts[outcome] += 1
        if is_finding(outcome):
            if len(found[outcome]) < 10:
                found[outcome].append((text, message))
            if findings is not None:
                record = {"text": text, "outcome": outcome, "message": message,
                          "seed": point_seed, "compiled": k == 0, "shapes": shapes}  # fmt: skip
                findings.write(json.dumps(record) + "\n")
                findings.flush()
        total = sum(counts.values())
        if total % 1000 == 0:
            bad = sum(n for o, n in counts.items() if is_finding(o))
            print(f"{total} inputs, {time.time() - start:.0f} s, {bad} findings", file=sys.stderr)
        if minutes and time.time() - start > 60 * minutes:
            raise _Stop()

    try:
        with_seed(seed)(one)()
    except _Stop:
        pass
    return counts, found, time.time() - start


def ml_campaign(examples: int, seed: int, minutes=None, compiled_every: int = 5, findings=None):
    """``(counts, reproducers, seconds)`` of ``examples`` inputs of ``fuzz.ml`` (seeds
    ``seed``, ``seed + 1``, ...; compiled code checked on every ``compiled_every``-th)."""
    counts, found = collections.Counter(), collections.defaultdict(list)
    start = time.time()
    for s in range(seed, seed + examples):
        try:
            outcome, message, text = ml.run_one(
                s, compiled=s % compiled_every == 0, hessian=s % compiled_every == 1
            )
        except Exception as err:  # noqa: BLE001 - naming it is the point
            outcome, message, text = f"other:{type(err).__name__}", str(err)[:300], f"ml seed {s}"
        outcome = outcome if not outcome.startswith(ml.FINDINGS) else f"ml-{outcome}"
        counts[outcome] += 1
        if is_finding(outcome) or outcome.startswith("ml-"):
            if len(found[outcome]) < 10:
                found[outcome].append((text, f"seed {s}: {message}"))
            if findings is not None:
                findings.write(json.dumps({"ml_seed": s, "text": text, "outcome": outcome,
                                           "message": message}) + "\n")  # fmt: skip
                findings.flush()
        total = sum(counts.values())
        if total % 1000 == 0:
            bad = sum(n for o, n in counts.items() if o.startswith(("ml-", "other:")))
            print(f"{total} inputs, {time.time() - start:.0f} s, {bad} findings", file=sys.stderr)
        if minutes and time.time() - start > 60 * minutes:
            break
    return counts, found, time.time() - start


def rerun(path: str, timeout: float, clock: str) -> int:
    """Run the findings recorded in ``path`` again; 1 if any is still a finding."""
    bad = 0
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            r = json.loads(line)
            if "ml_seed" in r:  # an input of the ML generator
                outcome, message, _ = ml.run_one(r["ml_seed"], compiled=True)
                outcome = f"ml-{outcome}" if outcome.startswith(ml.FINDINGS) else outcome
                bad += outcome.startswith("ml-")
                print(f"{outcome} (was {r['outcome']}): {shown(r['text'], 200)}")
                continue
            shapes = r.get("shapes")
            if shapes is not None:
                shapes = {k: tuple(v) for k, v in shapes.items()}
            outcome, message = run_one_detailed(
                r["text"], np.random.default_rng(r.get("seed", 0)), timeout=timeout, clock=clock,
                compiled=r.get("compiled", True), shapes=shapes,
            )  # fmt: skip
            bad += is_finding(outcome)
            print(f"{outcome} (was {r['outcome']}): {shown(r['text'], 200)}")
            if message:
                print(f"    {message}")
    print(f"\n{bad} still a finding")
    return 1 if bad else 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.split("\n")[0])
    p.add_argument("--examples", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=5.0, help="seconds per input (watchdog)")
    p.add_argument("--minutes", type=float, default=None, help="stop after this long")
    p.add_argument(
        "--cpu-time", action="store_true",
        help="the watchdog counts CPU seconds, so a loaded machine does not turn slow into hung",
    )  # fmt: skip
    p.add_argument(
        "--findings", metavar="FILE",
        help="write each finding (text, outcome, message, seed, compiled) as a JSON line",
    )  # fmt: skip
    p.add_argument("--rerun", metavar="FILE", help="run the findings written by --findings again")
    p.add_argument("--ml", action="store_true", help="the ML generator (fuzz.ml) instead")
    args = p.parse_args(argv)
    clock = "cpu" if args.cpu_time else "wall"
    if args.rerun:
        return rerun(args.rerun, args.timeout, clock)
    out = open(args.findings, "w", encoding="utf-8") if args.findings else None  # noqa: SIM115
    try:
        if args.ml:
            counts, found, seconds = ml_campaign(
                args.examples, args.seed, args.minutes, findings=out
            )
        else:
            counts, found, seconds = campaign(
                args.examples, args.seed, args.timeout, args.minutes, clock=clock, findings=out
            )
    finally:
        if out is not None:
            out.close()
    total = sum(counts.values())
    print(
        f"{total} inputs in {seconds:.0f} s (seed {args.seed}, watchdog {args.timeout:g} s {clock})"
    )
    for outcome, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        flag = is_finding(outcome) or outcome.startswith("ml-")
        print(f"  {n:8d}  {outcome}{'   <-- finding' if flag else ''}")
    for outcome, items in found.items():
        print(f"\n{outcome}:")
        for text, message in items:
            print(f"  {shown(text, 400)}")
            print(f"      {message[:400]}")
    bad = sum(n for o, n in counts.items() if is_finding(o) or o.startswith("ml-"))
    print(f"\n{bad} finding(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
