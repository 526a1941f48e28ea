"""The work behind each endpoint: validated request in, JSON-ready dict out.

These functions run inside the worker processes (``workers``) and use only the public API
(``import tensorcalc as tc``).  Errors are ``TensorCalcError``s; ``run`` turns them into the
``(status, body)`` pair the server sends (400 with ``{"error", "position"}``).

Expressions are read with ``tc.parse`` (``syntax="latex"`` for LaTeX, chosen automatically
when the text has a backslash), the steps come from ``tc.explain`` (verified), the exported
code from ``tc.codegen(..., script=True)`` (a complete script for every backend), and the
``where`` switch is the printers' ``where=``.
"""

from __future__ import annotations

import base64
import importlib
import io

import numpy as np

import tensorcalc as tc

from ..errors import ParseError, TensorCalcError, format_shape
from ..explain import STYLES
from ..expr import NOTES, variables
from ..shapes import as_shape
from .examples import EXAMPLES

# ------------------------------------------------------------------------------ parsing


def _syntax(req) -> str:
    if req["syntax"] == "auto":
        return "latex" if "\\" in req["expression"] else "text"
    return req["syntax"]


def _shape_text(shape) -> str:
    return ",".join(str(d) for d in shape)


def parse(req) -> tuple:
    """``(expr, shapes_used, assumed)`` for a request: the shapes declared, inferred from use or
    assumed by the parser's naming convention (capitals are matrices), and the assumed names."""
    declared = {k: v.strip() for k, v in req["shapes"].items()}
    text = req["expression"]
    if _syntax(req) == "latex":
        f = tc.parse(text, declared, syntax="latex")
    else:
        f = tc.parse(text, declared)
    found = variables(f)
    order = sorted(found, key=lambda n: (_first_use(text, n), n))
    used = {n: declared.get(n, _shape_text(found[n].shape)) for n in order}
    assumed = NOTES.get(f, {}).get("assumed", {})  # what the parser assumed, by convention
    return f, used, [n for n in order if n in assumed and n not in declared]


def _first_use(text: str, name: str) -> int:
    i = text.find(name)
    return i if i >= 0 else len(text)


def _wrt(f, req, used) -> str:
    if req["wrt"]:
        return req["wrt"]
    if not used:
        raise tc.DifferentiationError("the expression has no variables to differentiate by")
    return "x" if "x" in used else next(iter(used))


def _print(e, where: bool) -> dict:
    return {"text": tc.text(e, where=where), "latex": tc.latex(e, where=where)}


def _scalar_vars(f) -> list | None:
    """The names when ``f`` is a scalar function of one or two scalar variables, else None."""
    found = variables(f)
    ok = f.shape == () and 1 <= len(found) <= 2 and all(v.shape == () for v in found.values())
    return sorted(found) if ok else None


# ---------------------------------------------------------------------------- endpoints


def derivative(req) -> dict:
    """The derivative, its printed forms, its shape and the shapes used."""
    f, used, assumed = parse(req)
    wrt = _wrt(f, req, used)
    d = tc.derivative(f, wrt, order=req["order"], layout=req["layout"])
    return {
        **_print(d, req["where"]),
        "shape": list(d.shape),
        "shape_text": format_shape(d.shape) if d.shape else "scalar",
        "shapes": used,
        "assumed": assumed,
        "variables": list(used),
        "wrt": wrt,
        "wrt_latex": tc.latex(variables(f)[wrt]),
        "order": req["order"],
        "layout": req["layout"],
        "expression": _print(f, False),
        "expression_shape": list(f.shape),
        "analysis": _scalar_vars(f) is not None,
    }


def explain(req) -> dict:
    """The step-by-step explanation (``tc.explain``, every step verified) as
    ``{"style", "title", "steps", "result", "styles"}``."""
    f, used, _ = parse(req)
    wrt = _wrt(f, req, used)
    # the text itself where it is ours to read, so that the steps keep the user's spelling
    source = f if _syntax(req) == "latex" else req["expression"]
    e = tc.explain(source, wrt, req["order"], style=req.get("style"), shapes=used, verify=True)
    return {**e.to_dict(), "styles": list(STYLES)}


def check(req) -> dict:
    """``tc.check`` at random values: the verdict and the error figures for the derivative the
    page shows (``derivative`` for the same request, in its layout), which is ``checked``."""
    f, used, _ = parse(req)
    wrt = _wrt(f, req, used)
    d = tc.derivative(f, wrt, order=req["order"], layout=req["layout"])
    r = tc.check(f, wrt, order=req["order"], seed=req["seed"], layout=req["layout"])  # that d
    return {
        "checked": _print(d, req["where"]),
        "passed": bool(r.passed),
        "max_abs_error": r.max_abs_error,
        "max_rel_error": r.max_rel_error,
        "error_estimate": r.error_estimate,
        "worst_index": list(r.worst_index),
        "notes": list(r.notes),
        "report": str(r),
        "wrt": wrt,
    }


FILENAMES = {"numpy": "derivative.py", "jax": "derivative_jax.py", "torch": "derivative_torch.py",
             "dask": "derivative_dask.py", "tensorflow": "derivative_tensorflow.py"}  # fmt: skip


def code(req) -> dict:
    """The exported script (``tc.codegen(..., script=True)``): the value and every derivative up
    to the order (each checked against central differences of the one before when run), plus the
    derivative in the requested layout when it differs; random test data and a demo."""
    f, used, _ = parse(req)
    wrt = _wrt(f, req, used)
    order = req["order"]
    chain = [f, *(tc.derivative(f, wrt, order=k) for k in range(1, order + 1))]
    d = tc.derivative(f, wrt, order=order, layout=req["layout"])
    outputs = chain if d is chain[-1] else [*chain, d]
    source = tc.codegen(outputs, backend=req["backend"], name="fun", script=True)
    return {"backend": req["backend"], "code": source, "filename": FILENAMES[req["backend"]],
            "wrt": wrt}  # fmt: skip


DEFAULT_RANGES = {1: (-3.0, 3.0), 2: (-2.0, 2.0)}  # two variables: the seed's square


def analysis(req) -> dict:
    """Taylor polynomial at ``at``, critical points and (optionally) the plot, for a scalar
    function of one or two scalar variables."""
    f, used, _ = parse(req)
    names = _scalar_vars(f)
    if names is None:
        shown = ", ".join(f"{n} {format_shape(as_shape(s))}" for n, s in used.items())
        raise TensorCalcError(
            "analysis needs a scalar function of one or two scalar variables; "
            f"this one has shape {format_shape(f.shape)} and variables {shown or 'none'}"
        )
    unknown = sorted((set(req["at"]) | set(req["over"])) - set(names))
    if unknown:
        raise TensorCalcError(f"the expression has no variable {unknown[0]!r}")
    at = {n: float(req["at"].get(n, 0.0)) for n in names}
    over = {
        n: tuple(float(v) for v in req["over"].get(n, DEFAULT_RANGES[len(names)])) for n in names
    }
    t = tc.taylor(f, at=at, order=req["taylor_order"])
    out = {
        "variables": names,
        "at": at,
        "over": over,
        "taylor": {**_print(t, False), "order": req["taylor_order"]},
        "critical": [_point(p) for p in _critical(f, names, over)],
        "plot": None,
    }
    if req["plot"] != "none":
        taylor = at if req["plot"] == "taylor" else None
        fig = tc.plot(f, over=over, taylor=taylor, order=max(req["taylor_order"], 1))
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100)
        out["plot"] = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    return out


def _critical(f, names, over) -> list:
    if len(names) == 1:
        return tc.critical_points(f, over={names[0]: over[names[0]]})
    (a, b), (c, d) = over[names[0]], over[names[1]]
    starts = [
        {names[0]: float(x), names[1]: float(y)}
        for x in np.linspace(a, b, 5)
        for y in np.linspace(c, d, 5)
    ]
    points = tc.critical_points(f, start=starts)
    inside = [
        p for p in points
        if all(over[n][0] <= p.point[n] <= over[n][1] for n in names) and p.kind != "not critical"
    ]  # fmt: skip
    return sorted(inside, key=lambda p: tuple(p.point[n] for n in names))


def _point(p) -> dict:
    return {
        "point": {k: float(v) for k, v in p.point.items()},
        "value": float(p.value),
        "kind": p.kind,
        "text": str(p),
    }


def info() -> dict:
    """What this server offers: the explanation styles, the backends and the examples."""
    return {
        "styles": list(STYLES),
        "backends": list(FILENAMES),
        "examples": EXAMPLES,
        "version": tc.__version__,
    }


def warm() -> None:
    """Import the plotting stack once at a worker's start (about 2 s), not in a plot's 5 s."""
    try:
        importlib.import_module("matplotlib.figure")
        importlib.import_module("mpl_toolkits.mplot3d")
    except ImportError:  # no plots without the plot extra; analysis says so when asked
        pass


TASKS = {"derivative": derivative, "explain": explain, "check": check, "code": code,
         "analysis": analysis}  # fmt: skip


def _message(err: TensorCalcError, text: str) -> str:
    """The error's message without the echoed expression and caret line (the page draws its
    own caret under the input)."""
    if isinstance(err, ParseError):
        return err.message
    lines = str(err).split("\n")
    keep = [
        ln for ln in lines if ln.strip() not in (text.strip(), "^") and set(ln.strip()) != {"^"}
    ]
    return "\n".join(keep)


def run(task: str, req: dict) -> tuple:
    """``(status, body)`` for one request; TensorCalcError → 400 with the message and position."""
    try:
        return 200, TASKS[task](req)
    except TensorCalcError as err:
        position = getattr(err, "position", None)
        return 400, {"error": _message(err, req["expression"]), "position": position}
    except RecursionError:
        return 422, {"error": "the expression is nested too deeply", "position": None}
