"""Command-line interface.

    tensorcalc diff "x' @ A @ x" --wrt x [--order 2] [--shape A=n,n] [--layout numerator]
                    [--syntax auto|text|matlab|latex] [--latex | --json]
    tensorcalc diff "norm2(A*x - y)^2" --wrt x --syntax matlab
    tensorcalc check "logdet(X)" --wrt X [--order 2] [--shape X=n,n] [--seed 0] [--syntax ...]
                     [--layout numerator] [--derivative "inv(X)'"]
    tensorcalc taylor "x * exp(-x^2 - y^2)" --at x=-1 --at y=0 [--order 2] [--latex]
    tensorcalc critical "3*x^4 - 4*x^3 - 12*x^2" --over x=-3:3
    tensorcalc critical "x^3 - 3*x*y + y^3" --start x=1,y=1 --start x=0.1,y=-0.1
    tensorcalc minimize "x^2 - 4*x + 3" --wrt x --x0 x=4 [--method gd|momentum|newton|newton-cg]
                        [--lr 0.1] [--steps 100] [--tol 1e-8] [-o path.png]
    tensorcalc plot "x * exp(-x^2 - y^2)" --taylor x=-1 --taylor y=0 -o seed.png
    tensorcalc serve [--port 8000] [--host 127.0.0.1] [--no-browser]
    tensorcalc explain "norm(X - U @ V)^2" --wrt V --shape X=n,m --shape U=n,r [--verify]
                       [--style rules|differential|index|backprop|limit] [--at x=1]
                       [--latex | --markdown | --json]
    tensorcalc docs [--source DIR] [--output DIR] [--no-browser]

Values (``--at``, ``--x0``, ``--start``, ``--taylor``) are numbers or JSON lists such as
``x=[1,2]``; intervals are ``x=a:b``.  ``diff`` prints the derivative and its shape; ``check`` compares that
very expression (or the one given by ``--derivative``) with finite differences on random inputs that respect the functions' domains, prints the report and exits with 0 on a
pass and 1 on a failure.  Bad input prints the error (with a caret for parse errors) to stderr
and exits with status 2.  ``--syntax matlab`` reads matrixcalculus.org's syntax (``*`` is the
matrix product); where the expression could mean two things, a ``note:`` line on stderr says how
it was read (``Expr.notes``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
import traceback
import webbrowser
from pathlib import Path

import numpy as np

from .analysis import classify, critical_points, minimize, plot, taylor
from .analysis.optimize import STEPS
from .api import derivation, derivative, explain, parse
from .diff.layout import LAYOUTS
from .diff.reverse import MAX_ORDER
from .errors import TensorCalcError, format_shape
from .expr import NOTES
from .numeric.check import check
from .parse import resolve_syntax, where
from .shapes import as_shape, check_name, is_symmetric_spec

# Formats matplotlib writes; a path without a suffix is written as PNG (to exactly that path).
FIGURE_FORMATS = ("png", "pdf", "svg", "svgz", "eps", "ps", "jpg", "jpeg", "tif", "tiff", "webp")
MAX_STEPS = 1_000_000  # minimize --steps
MAX_DPI = 2000


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error: ``error: <what> (see tensorcalc <cmd> --help)``."""

    def error(self, message):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def _named(text: str, expected: str):
    """``(name, rest)`` of ``NAME=rest``, or an argparse error saying what was ``expected``."""
    name, eq, rest = text.partition("=")
    if not eq or not name.strip():
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return _name(name.strip()), rest


def _name(text: str) -> str:
    """A variable name (NFKC-normalised)."""
    try:
        return check_name(text)
    except TensorCalcError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _names(text: str) -> list:
    """One or more variable names, ``x`` or ``x1,x2`` (``--wrt`` may also be repeated)."""
    return [_name(t.strip()) for t in text.split(",")]


def _wrt(args) -> str | list:
    """The ``--wrt`` names in order, every one kept: one name, or a list of several."""
    names = [n for group in args.wrt for n in group]
    return names[0] if len(names) == 1 else names


def _shape_arg(text: str):
    name, dims = _named(text, "NAME=DIMS such as A=n,n, S=n,n,sym or s= (scalar)")
    try:
        return name, as_shape(dims) + (("symmetric",) if is_symmetric_spec(dims) else ())
    except TensorCalcError as err:
        raise argparse.ArgumentTypeError(f"{text!r}: {err}") from None


def _numbers_only(v) -> bool:
    """Only JSON numbers (no bools, strings, objects or nulls), in lists."""
    if isinstance(v, list):
        return all(_numbers_only(x) for x in v)
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _value(text: str):
    """A finite number or a non-empty rectangular JSON list of finite numbers."""
    expected = f"expected a finite number or a JSON list of numbers such as [1,2], got {text!r}"
    try:
        v = json.loads(text)
        ok = _numbers_only(v)
        a = np.asarray(v, dtype=np.float64) if ok else None
    except (ValueError, RecursionError, OverflowError):
        ok = False
    if not ok or not a.size or not np.all(np.isfinite(a)):
        raise argparse.ArgumentTypeError(expected)
    return v


def _assignment(text: str):
    name, value = _named(text, "NAME=VALUE such as x=1 or x=[1,2]")
    return name, _value(value)


def _point(text: str) -> dict:
    """``x=1,y=[1,2]``: assignments split at the commas outside brackets."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += {"[": 1, "]": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    return dict(_assignment(p) for p in [*parts, cur])


def _interval(text: str):
    expected = "NAME=A:B with finite numbers A < B, such as x=-3:3"
    name, rng = _named(text, expected)
    lo, colon, hi = rng.partition(":")
    try:
        lo, hi = float(lo), float(hi)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
    if not colon or not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return name, (lo, hi)


def _int_in(lo: int, hi: int | None, what: str):
    """An argparse type: an int in ``lo..hi``."""

    def parse_int(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            v = None
        if v is None or v < lo or (hi is not None and v > hi):
            bound = f"{lo}..{hi}" if hi is not None else f"at least {lo}"
            raise argparse.ArgumentTypeError(f"{what} must be an integer {bound}, got {text!r}")
        return v

    parse_int.__name__ = what
    return parse_int


def _float_in(lo: float, hi: float, what: str, *, open_lo=False, open_hi=False):
    """An argparse type: a finite float in ``[lo, hi]`` (ends open where asked)."""

    def parse_float(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            v = math.nan
        ok = (
            math.isfinite(v)
            and (v > lo if open_lo else v >= lo)
            and (v < hi if open_hi else v <= hi)
        )
        if not ok:
            rng = f"{'(' if open_lo else '['}{lo:g}, {hi:g}{')' if open_hi else ']'}"
            raise argparse.ArgumentTypeError(f"{what} must be a number in {rng}, got {text!r}")
        return v

    parse_float.__name__ = what
    return parse_float


def _output(text: str) -> Path:
    """A figure path: its suffix names a format matplotlib writes, or there is none (PNG)."""
    path = Path(text)
    suffix = path.suffix[1:].lower()
    if not text or (suffix and suffix not in FIGURE_FORMATS):
        raise argparse.ArgumentTypeError(
            f"cannot write figures as {path.suffix!r}: use one of "
            + ", ".join("." + f for f in FIGURE_FORMATS)
        )
    try:
        is_dir = path.is_dir()
    except OSError as err:  # a name too long for the file system
        raise argparse.ArgumentTypeError(f"cannot write {path}: {err.strerror or err}") from None
    if is_dir:
        raise argparse.ArgumentTypeError(f"{text!r} is a directory")
    return path


def _save(fig, path: Path, dpi: int) -> None:
    """Write ``fig`` to exactly ``path`` (PNG unless its suffix names another format)."""
    fmt = path.suffix[1:].lower() or "png"
    try:
        with open(path, "wb") as fh:
            fig.savefig(fh, format=fmt, dpi=dpi)
    except OSError as err:
        raise CommandError(f"cannot write {path}: {err.strerror or err}") from None


class CommandError(Exception):
    """A failure outside tensorcalc's own checks (e.g. a file that cannot be written)."""


_ORDER = _int_in(0, MAX_ORDER, "--order")


def _common(p):
    """The expression, ``--shape`` and ``--at`` arguments the analysis commands share."""
    p.add_argument("expression")
    p.add_argument("--shape", action="append", type=_shape_arg, default=[], metavar="NAME=DIMS")
    p.add_argument(
        "--at", action="append", type=_assignment, default=[], metavar="NAME=VALUE",
        help="a value for a variable (repeatable)",
    )  # fmt: skip


SYNTAX_HELP = (
    "how to read EXPR: auto (LaTeX if it has a backslash, default), text (* is elementwise, "
    "@ the matrix product), matlab (matrixcalculus.org's: * is the matrix product, .* "
    "elementwise, a-g scalars, h-z vectors, A-Z matrices) or latex"
)


def _syntax(p):
    p.add_argument("--syntax", choices=["auto", "text", "matlab", "latex"], default="auto",
                   help=SYNTAX_HELP)  # fmt: skip
    p.add_argument("--latex-input", action="store_true", help="the same as --syntax latex")


def _read(args, shapes):
    """The expression parsed in the syntax asked for; its notes on stderr."""
    syntax = "latex" if args.latex_input else args.syntax
    f = parse(args.expression, shapes, syntax=syntax)
    for note in f.notes:
        print(f"note: {note}", file=sys.stderr)
    return f


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="tensorcalc", description="Exact matrix and tensor calculus.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    d = sub.add_parser("diff", help="differentiate an expression")
    d.add_argument("expression", help='e.g. "x\' @ A @ x"')
    d.add_argument(
        "--wrt", action="append", required=True, type=_names,
        help="variable to differentiate with respect to; several (--wrt x1,x2 or repeated): "
        "scalars stacked in order, others one result each",
    )  # fmt: skip
    d.add_argument("--order", type=_ORDER, default=1, help="derivative order (default 1)")
    d.add_argument(
        "--shape", action="append", type=_shape_arg, default=[], metavar="NAME=DIMS",
        help="declare a shape, e.g. --shape A=n,n --shape x=n (repeatable; 's=' is a scalar)",
    )  # fmt: skip
    d.add_argument("--layout", choices=LAYOUTS, default=None)
    _syntax(d)
    d.add_argument(
        "--symmetric", choices=["sym", "cookbook"], default="sym",
        help="wrt a symmetric matrix (--shape S=n,n,sym): (G + G')/2 (default) or the Matrix "
        "Cookbook's G + G' - diag(G)",
    )  # fmt: skip
    fmt = d.add_mutually_exclusive_group()
    fmt.add_argument("--latex", action="store_true", help="print LaTeX")
    fmt.add_argument("--json", action="store_true", help="print JSON")
    c = sub.add_parser("check", help="check a derivative against finite differences")
    c.add_argument("expression")
    c.add_argument("--wrt", action="append", required=True, type=_names, help="x or x1,x2")
    c.add_argument("--order", type=_ORDER, default=1)
    c.add_argument("--shape", action="append", type=_shape_arg, default=[], metavar="NAME=DIMS")
    _syntax(c)
    c.add_argument(
        "--seed", type=_int_in(0, 2**32 - 1, "--seed"), default=0, help="seed of the random inputs"
    )
    c.add_argument("--layout", choices=LAYOUTS, default=None)
    c.add_argument(
        "--derivative", metavar="EXPR", default=None,
        help="check this derivative instead of the one `diff` prints",
    )  # fmt: skip
    t = sub.add_parser("taylor", help="Taylor polynomial about the point given by --at")
    _common(t)
    t.add_argument("--order", type=_ORDER, default=2)
    t.add_argument("--latex", action="store_true")
    k = sub.add_parser(
        "critical",
        help="critical points and their classification",
        description="Find critical points on an interval (--over) or by Newton from starts "
        "(--start); with neither, classify the point given by --at.",
    )
    _common(k)
    k.add_argument("--over", type=_interval, metavar="NAME=A:B", help="one variable on [A, B]")
    k.add_argument("--start", action="append", type=_point, metavar="POINT",
                   help="Newton start such as x=1,y=2 (repeatable)")  # fmt: skip
    m = sub.add_parser("minimize", help="gradient descent, momentum or Newton, step by step")
    _common(m)
    m.add_argument("--wrt", action="append", required=True, type=_names)
    m.add_argument("--x0", type=_point, required=True, metavar="POINT", help="e.g. x=4 or x=1,y=2")
    m.add_argument("--method", choices=list(STEPS), default="gd")
    m.add_argument("--lr", type=_float_in(0, 1e6, "--lr", open_lo=True), default=0.1)
    m.add_argument("--beta", type=_float_in(0, 1, "--beta", open_hi=True), default=0.9)
    m.add_argument("--steps", type=_int_in(0, MAX_STEPS, "--steps"), default=100)
    m.add_argument("--tol", type=_float_in(0, 1e300, "--tol"), default=1e-8)
    m.add_argument(
        "-o", "--output", type=_output, help="also draw the path to this PNG (needs matplotlib)"
    )
    g = sub.add_parser("plot", help="plot a function of one or two variables to a PNG")
    _common(g)
    g.add_argument("--over", type=_interval, action="append", default=[], metavar="NAME=A:B")
    g.add_argument("--taylor", action="append", type=_assignment, default=[], metavar="NAME=VALUE",
                   help="draw the Taylor polynomial at this point (repeat for each variable)")  # fmt: skip
    g.add_argument("--order", type=_ORDER, default=2)
    g.add_argument("--kind", choices=["wireframe", "surface"], default="wireframe")
    g.add_argument("--gradient", action="store_true", help="draw the gradient field")
    g.add_argument("-o", "--output", required=True, type=_output, help="PNG file to write")
    g.add_argument("--dpi", type=_int_in(1, MAX_DPI, "--dpi"), default=110)
    w = sub.add_parser("serve", help="the web page on this machine (needs tensorcalc[web])")
    w.add_argument("--port", type=_int_in(1, 65535, "--port"), default=8000)
    w.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    w.add_argument("--no-browser", action="store_true", help="do not open a browser")
    e = sub.add_parser("explain", help="a step-by-step derivation, every step checkable")
    _common(e)
    e.add_argument("--wrt", action="append", required=True, type=_names,
                   help="variable; several as x1,x2 or repeated")  # fmt: skip
    e.add_argument("--order", type=_ORDER, default=1)
    e.add_argument("--style", choices=["rules", "differential", "index", "backprop", "limit"])
    e.add_argument("--layout", choices=LAYOUTS, default=None)
    e.add_argument("--then", choices=["solve"], help="then set the gradient to zero and solve")
    e.add_argument("--verify", action="store_true", help="check every step at random points")
    _syntax(e)
    out = e.add_mutually_exclusive_group()
    out.add_argument("--latex", action="store_true", help="an align environment")
    out.add_argument("--markdown", action="store_true")
    out.add_argument("--json", action="store_true")
    s = sub.add_parser(
        "docs", help="build the documentation site and open it (needs tensorcalc[docs])"
    )
    s.add_argument("--source", type=Path, help="the checkout with mkdocs.yml (default: found)")
    s.add_argument("--output", type=Path, help="where to build the site (default: SOURCE/site)")
    s.add_argument("--no-browser", action="store_true", help="do not open a browser")
    return p


def _docs_source(given: Path | None) -> Path:
    """The checkout to build: ``--source``, else the one this package runs from, else the
    current directory or one above it that has ``mkdocs.yml``."""
    if given is not None:
        if not (given / "mkdocs.yml").is_file():
            raise CommandError(f"--source {given}: no mkdocs.yml there")
        return given
    here = Path.cwd().resolve()
    for d in (Path(__file__).resolve().parents[2], here, *here.parents):
        if (d / "mkdocs.yml").is_file() and (d / "docs").is_dir():
            return d
    raise CommandError(
        "tensorcalc docs builds the site from a source checkout (mkdocs.yml and docs/): run it "
        "there or pass --source DIR"
    )


def _docs(args) -> int:
    source = _docs_source(args.source)
    out = (args.output or source / "site").resolve()
    if out.exists() and not out.is_dir():
        raise CommandError(f"--output {out}: not a directory")
    try:
        import mkdocs  # noqa: F401 - only to say what is missing
    except ImportError:
        raise CommandError("tensorcalc docs needs mkdocs: pip install '.[docs]'") from None
    cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "--clean", "-q"]
    cmd += ["-f", str(source / "mkdocs.yml"), "-d", str(out)]
    started = time.perf_counter()
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=source)
    if done.returncode != 0:
        log = (done.stdout + done.stderr).splitlines()
        first = next(
            (ln for ln in log if ln.startswith(("ERROR", "WARNING"))), log[-1] if log else ""
        )
        raise CommandError(
            f"the documentation build failed: {first.strip()} (python -m mkdocs build --strict "
            "shows the whole log)"
        )
    index = out / "index.html"
    print(f"built {index} in {time.perf_counter() - started:.0f} s")
    if not args.no_browser:
        webbrowser.open(index.as_uri())
    return 0


def _serve(args) -> int:
    try:
        from .web.server import serve
    except ImportError as err:
        print(f"error: tensorcalc serve needs {err.name}: pip install 'tensorcalc[web]'",
              file=sys.stderr)  # fmt: skip
        return 2
    serve(args.host, args.port, open_browser=not args.no_browser)
    return 0


def _explain(args) -> int:
    wrt = _wrt(args)
    f = _read(args, dict(args.shape))  # its notes on stderr
    text = resolve_syntax(args.expression, "latex" if args.latex_input else args.syntax) == "text"
    source = args.expression if text else f  # the text itself keeps the user's spelling
    e = explain(
        source, wrt, args.order, style=args.style, at=dict(args.at) or None,
        shapes=dict(args.shape), verify=args.verify, layout=args.layout, then=args.then,
    )  # fmt: skip
    if args.json:
        print(e.to_json())
    elif args.latex:
        print(e.latex())
    elif args.markdown:
        print(e.markdown())
    else:
        print(e)
    return 0


def _taylor(args) -> int:
    t = taylor(args.expression, dict(args.at), order=args.order, shapes=dict(args.shape))
    print(t.latex() if args.latex else t)
    return 0


def _critical(args) -> int:
    shapes, at = dict(args.shape), dict(args.at)
    if args.over:
        name, interval = args.over
        points = critical_points(args.expression, {name: interval}, at=at, shapes=shapes)
    elif args.start:
        points = critical_points(args.expression, start=args.start, at=at, shapes=shapes)
    else:
        points = [classify(args.expression, at, shapes=shapes)]
    for p in points:
        print(p)
    if not points:
        print("no critical points found")
    return 0


def _minimize(args) -> int:
    r = minimize(
        args.expression, [n for group in args.wrt for n in group], args.x0, method=args.method, lr=args.lr, steps=args.steps,
        tol=args.tol, beta=args.beta, at=dict(args.at), shapes=dict(args.shape),
    )  # fmt: skip
    print(r)
    if args.output:
        _save(r.plot(), args.output, 110)
        print(f"wrote {args.output}")
    return 0


def _plot(args) -> int:
    fig = plot(
        args.expression, dict(args.over) or None, at=dict(args.at), taylor=dict(args.taylor) or None,
        order=args.order, kind=args.kind, gradient=args.gradient, shapes=dict(args.shape),
    )  # fmt: skip
    _save(fig, args.output, args.dpi)
    print(f"wrote {args.output}")
    return 0


def _check(args) -> int:
    f = _read(args, dict(args.shape))
    wrt = _wrt(args)
    names = wrt if isinstance(wrt, list) else [wrt]
    if args.derivative and len(names) > 1:
        raise TensorCalcError("--derivative checks one variable: give one --wrt with it")
    reports = [
        check(f, name, order=args.order, seed=args.seed, derivative=args.derivative,
              layout=args.layout)
        for name in names
    ]  # fmt: skip
    for report in reports:
        print(report)
    return 0 if all(r.passed for r in reports) else 1


def _diff(args) -> int:
    shapes = dict(args.shape)
    f = _read(args, shapes)
    wrt = _wrt(args)
    if not isinstance(wrt, list):
        found = derivation(f, wrt, order=args.order, layout=args.layout, symmetric=args.symmetric)
        return _print_derivative(args, f, found.result, wrt, found.notes)
    d = derivative(f, wrt, order=args.order, layout=args.layout, symmetric=args.symmetric)
    if isinstance(d, tuple):  # several non-scalar variables: one derivative each
        for name, one in zip(wrt, d):
            print(f"d/d{name}:")
            _print_derivative(args, f, one, name, [])
        return 0
    return _print_derivative(args, f, d, wrt, [])


def _print_derivative(args, f, d, wrt, notes) -> int:
    if args.json:
        out = {
            "expression": str(f),
            "wrt": wrt,
            "order": args.order,
            "layout": args.layout or "jacobian",
            "derivative": str(d),
            "latex": d.latex(),
            "shape": list(d.shape),
            "assumed": {k: list(v) for k, v in NOTES.get(f, {}).get("assumed", {}).items()},
            "notes": [*f.notes, *notes],
        }
        print(json.dumps(out))
    elif args.latex:
        print(d.latex())
    else:
        print(d)
        print(f"shape: {format_shape(d.shape)}")
        if where(f):
            print(f"where {where(f)}")
    for note in notes:
        print(f"note: {note}", file=sys.stderr)  # as every note: stdout keeps the result
    return 0


def main(argv=None) -> int:
    """Run the command line; returns the exit status (0, 1 for a failed check, 2 for an error).

    Bad input is one line on stderr and status 2, never a traceback; ``TC_DEBUG=1`` shows
    the traceback of an unexpected error.
    """
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as done:  # --help (0) or a bad argument (2, already reported)
        return done.code if isinstance(done.code, int) else 2
    commands = {
        "diff": _diff, "check": _check, "taylor": _taylor, "critical": _critical,
        "minimize": _minimize, "plot": _plot, "serve": _serve, "explain": _explain,
        "docs": _docs,
    }  # fmt: skip
    try:
        return commands[args.command](args)
    except TensorCalcError as err:
        if os.environ.get("TC_DEBUG"):
            traceback.print_exc()
        print(f"error: {_cli_hint(err)}", file=sys.stderr)
        return 2
    except CommandError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`tensorcalc … | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (Exception, RecursionError, MemoryError) as err:
        if os.environ.get("TC_DEBUG"):
            traceback.print_exc()
        elif isinstance(err, MemoryError):
            print(f"error: not enough memory ({err})", file=sys.stderr)
        else:
            print(
                f"internal error: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
                " (set TC_DEBUG=1 for the traceback)",
                file=sys.stderr,
            )
        return 2


def _cli_hint(err) -> str:
    """The error, with a shape hint in ``--shape`` syntax instead of Python's."""
    suggested = getattr(err, "suggested", None)
    if not suggested:
        return str(err)
    flags = " ".join(f"--shape {k}={','.join(str(d) for d in v)}" for k, v in suggested.items())
    return f"{err.plain}\nThese shapes would work: {flags}"


if __name__ == "__main__":
    sys.exit(main())
