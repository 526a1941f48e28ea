"""Command-line interface.

    tensorcalc diff "x' @ A @ x" --wrt x [--order 2] [--shape A=n,n] [--layout numerator]
                    [--latex | --json]
    tensorcalc check "logdet(X)" --wrt X [--order 2] [--shape X=n,n] [--seed 0]

``diff`` prints the derivative and its shape; ``check`` compares it with finite differences on
random inputs that respect the functions' domains, prints the report and exits with 0 on a
pass and 1 on a failure.  Bad input prints the error (with a caret for parse errors) to stderr
and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from .api import derivative, parse
from .errors import TensorCalcError, format_shape
from .numeric.check import check
from .shapes import as_shape


def _shape_arg(text: str):
    name, eq, dims = text.partition("=")
    if not eq or not name.strip().isidentifier():
        raise argparse.ArgumentTypeError(
            f"expected NAME=DIMS such as A=n,n or s= (scalar), got {text!r}"
        )
    return name.strip(), as_shape(dims)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tensorcalc", description="Exact matrix and tensor calculus.")
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("diff", help="differentiate an expression")
    d.add_argument("expression", help='e.g. "x\' @ A @ x"')
    d.add_argument("--wrt", required=True, help="variable to differentiate with respect to")
    d.add_argument("--order", type=int, default=1, help="derivative order (default 1)")
    d.add_argument(
        "--shape", action="append", type=_shape_arg, default=[], metavar="NAME=DIMS",
        help="declare a shape, e.g. --shape A=n,n --shape x=n (repeatable; 's=' is a scalar)",
    )  # fmt: skip
    d.add_argument("--layout", choices=["jacobian", "numerator", "denominator"], default=None)
    fmt = d.add_mutually_exclusive_group()
    fmt.add_argument("--latex", action="store_true", help="print LaTeX")
    fmt.add_argument("--json", action="store_true", help="print JSON")
    c = sub.add_parser("check", help="check a derivative against finite differences")
    c.add_argument("expression")
    c.add_argument("--wrt", required=True)
    c.add_argument("--order", type=int, default=1)
    c.add_argument("--shape", action="append", type=_shape_arg, default=[], metavar="NAME=DIMS")
    c.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    return p


def _check(args) -> int:
    report = check(
        parse(args.expression, dict(args.shape)), args.wrt, order=args.order, seed=args.seed
    )
    print(report)
    return 0 if report.passed else 1


def _diff(args) -> int:
    shapes = dict(args.shape)
    f = parse(args.expression, shapes)
    d = derivative(f, args.wrt, order=args.order, layout=args.layout)
    if args.json:
        out = {
            "expression": str(f),
            "wrt": args.wrt,
            "order": args.order,
            "layout": args.layout or "jacobian",
            "derivative": str(d),
            "latex": d.latex(),
            "shape": list(d.shape),
        }
        print(json.dumps(out))
    elif args.latex:
        print(d.latex())
    else:
        print(d)
        print(f"shape: {format_shape(d.shape)}")
    return 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return {"diff": _diff, "check": _check}[args.command](args)
    except TensorCalcError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
