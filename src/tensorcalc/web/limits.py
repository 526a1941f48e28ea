"""Request limits and validation of the JSON bodies, before any work is done.

Every body is checked here in the server process (cheap, no parsing of the expression) and
normalised to plain values; anything over a limit or malformed raises ``RequestError`` with an
HTTP status in the 4xx range and a message that says what to change.  The expensive part (parsing,
differentiating, printing) then runs in a worker process (``workers``) under the time limit.
"""

from __future__ import annotations

from dataclasses import dataclass

LAYOUTS = ("jacobian", "numerator", "denominator", "vec")
BACKENDS = ("numpy", "jax", "torch", "dask", "tensorflow")
SYNTAXES = ("auto", "text", "matlab", "latex")
TASKS = ("derivative", "explain", "check", "code", "analysis")


@dataclass(frozen=True)
class Limits:
    """Per-request limits (the defaults are the page's)."""

    max_expression: int = 2000  # characters in the expression
    max_order: int = 4  # derivative order
    timeout: float = 5.0  # seconds of work in a worker before it is stopped
    workers: int = 2  # worker processes
    max_waiting: int = 64  # requests waiting for a worker before new ones get 429
    max_body: int = 65536  # bytes of JSON
    max_variables: int = 64  # entries in "shapes" and "at"


class RequestError(Exception):
    """A request the server will not do: ``status`` (4xx), ``message``, optional ``position``."""

    def __init__(self, status: int, message: str, position: int | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.position = position


def _bad(message: str, status: int = 400):
    raise RequestError(status, message)


def _int(body: dict, key: str, default: int, lo: int, hi: int, status_hi: int = 422) -> int:
    value = body.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        _bad(f'"{key}" must be an integer, got {value!r}')
    if value < lo:
        _bad(f'"{key}" must be at least {lo}, got {value}')
    if value > hi:
        _bad(f'"{key}" is {value}; the limit is {hi}', status_hi)
    return value


def _choice(body: dict, key: str, choices: tuple, default: str | None) -> str | None:
    value = body.get(key, default)
    if value is None:
        return default
    if value not in choices:
        _bad(f'"{key}" must be one of {", ".join(choices)}, got {value!r}')
    return value


def _name_map(body: dict, key: str, limits: Limits, value_ok, what: str) -> dict:
    value = body.get(key) or {}
    if not isinstance(value, dict):
        _bad(f'"{key}" must be an object such as {what}')
    if len(value) > limits.max_variables:
        _bad(f'"{key}" has {len(value)} entries; the limit is {limits.max_variables}', 413)
    for name, v in value.items():
        if not name.isidentifier():
            _bad(f'"{key}": {name!r} is not a variable name')
        if not value_ok(v):
            _bad(f'"{key}": the value for {name} must be {what.split(": ", 1)[-1]}, got {v!r}')
    return dict(value)


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _interval(v) -> bool:
    return isinstance(v, list) and len(v) == 2 and all(_number(t) for t in v) and v[0] < v[1]


def validate(task: str, body, limits: Limits) -> dict:
    """The normalised request for ``task`` or ``RequestError``.

    >>> validate("derivative", {"expression": "x' @ A @ x", "shapes": {"A": "n,n"}}, Limits())["order"]
    1
    """
    if task not in TASKS:
        _bad(f"unknown endpoint {task!r}", 404)
    if not isinstance(body, dict):
        _bad('the body must be a JSON object such as {"expression": "x\' @ A @ x", "wrt": "x"}')
    expression = body.get("expression")
    if not isinstance(expression, str) or not expression.strip():
        _bad('"expression" must be a non-empty string')
    if len(expression) > limits.max_expression:
        _bad(
            f"the expression has {len(expression)} characters; the limit is "
            f"{limits.max_expression}",
            413,
        )
    wrt = body.get("wrt")
    if wrt is not None and (
        not isinstance(wrt, str) or not all(w.strip().isidentifier() for w in wrt.split(","))
    ):
        _bad(f'"wrt" must be a variable name or names such as "x1,x2", got {wrt!r}')
    out = {
        "expression": expression,
        "wrt": wrt or None,
        "order": _int(body, "order", 1, 1, limits.max_order),
        "layout": _choice(body, "layout", LAYOUTS, "jacobian"),
        "syntax": _choice(body, "syntax", SYNTAXES, "auto"),
        "where": bool(body.get("where", True)),
        "shapes": _name_map(
            body, "shapes", limits, lambda v: isinstance(v, str) and len(v) <= 200,
            '{"A": "n,n"}: a string in the --shape syntax such as "n,n" ("" is a scalar)',
        ),
    }  # fmt: skip
    if task == "explain":
        style = body.get("style")
        if style is not None and (not isinstance(style, str) or not style.isidentifier()):
            _bad(f'"style" must be a style name, got {style!r}')
        out["style"] = style
    elif task == "check":
        out["seed"] = _int(body, "seed", 0, 0, 2**31 - 1, 400)
    elif task == "code":
        out["backend"] = _choice(body, "backend", BACKENDS, "numpy")
    elif task == "analysis":
        out["at"] = _name_map(body, "at", limits, _number, '{"x": -1, "y": 0}: a number')
        out["over"] = _name_map(body, "over", limits, _interval, '{"x": [-2, 2]}: [a, b], a < b')
        out["taylor_order"] = _int(body, "taylor_order", 2, 0, limits.max_order)
        out["plot"] = _choice(body, "plot", ("none", "plain", "taylor"), "none")
    return out
