"""The course table of issue 21: every example of tests/data/course-examples.json explained in
every style that applies, with its step count and longest line (tables aside).

    PYTHONPATH=src python benchmarks/explain_course.py [--old]

``--old`` explains an example's ``old`` form (components of a vector) where the stated form is
refused, as the code before issue 21 needed.
"""

from __future__ import annotations

import json
import pathlib
import sys

import tensorcalc as tc

DATA = pathlib.Path(__file__).parent.parent / "tests" / "data" / "course-examples.json"
STYLES = ("rules", "differential", "index", "backprop", "limit")
REFUSED = "refused"


def lines_of(e) -> list:
    """The lines a reader sees (``str(e)``; no values given, so no tables)."""
    return e.text().splitlines()


def run(ex, style, old=False):
    expr, wrt, shapes = ex["expr"], ex["wrt"], ex.get("shapes")
    order = ex.get("order", 1)
    try:
        e = tc.explain(expr, wrt, order, style=style, shapes=shapes, verify=True)
    except tc.TensorCalcError as err:
        if old and "old" in ex:
            expr, wrt, shapes = ex["old"]
            try:
                e = tc.explain(expr, wrt, order, style=style, shapes=shapes, verify=True)
            except tc.TensorCalcError as err2:
                return None, f"{REFUSED}: {str(err2)[:60]}"
            return e, "old form"
        return None, f"{REFUSED}: {str(err)[:60]}"
    except Exception as err:  # noqa: BLE001 -- a bare error is a finding of the table
        return None, f"ERROR {type(err).__name__}: {str(err)[:60]}"
    return e, ""


def main(argv):
    old = "--old" in argv
    rows = ["| example | style | steps | longest line | note |", "|---|---|---|---|---|"]
    for ex in json.loads(DATA.read_text())["examples"]:
        for style in STYLES:
            e, note = run(ex, style, old)
            if e is None and note.startswith(REFUSED):
                continue
            steps = len(e.steps) if e else "-"
            longest = max(map(len, lines_of(e))) if e else "-"
            rows.append(f"| {ex['id']} | {style} | {steps} | {longest} | {note} |")
        if not any(r.startswith(f"| {ex['id']} |") for r in rows):
            rows.append(f"| {ex['id']} | (none) | - | - | {run(ex, None, old)[1]} |")
    print("\n".join(rows))


if __name__ == "__main__":
    main(sys.argv[1:])
