"""Fuzzing tensorcalc's promises: only ``TensorCalcError`` for bad input, bounded time, and
derivatives that match central differences.

* ``strategies`` — hypothesis strategies for expression text (a typed grammar of valid
  expressions, grammar-aware mutations of them, Unicode look-alikes, huge numbers, deep
  nesting and long chains), for shape specs and for values;
* ``oracle`` — runs one input through cheap checks (parse, ``str`` round trip, a derivative,
  evaluation and, for a sample, central differences) and names the outcome;
* ``test_fuzz`` — the CI run (2,000 examples, derandomized);
* ``python -m tests.fuzz --examples 100000`` — the long campaign with a per-input watchdog,
  counts per outcome and a non-zero exit on any finding; ``--findings FILE`` writes them as
  JSON lines and ``--rerun FILE`` runs them again.
"""
