"""One fuzz input through cheap checks, and the name of its outcome.

``run_one(text)`` parses ``text`` (with ``strategies.SHAPES`` declared, or the ``shapes``
given: symbolic dimension names are bound to random distinct sizes), prints it and parses the
print back (the two must agree at a random point), takes a first derivative, evaluates both,
and compares the derivative, as returned and as printed and parsed back, with central
differences of the function itself.  The central differences, and the reference value of f,
come from ``plain.plain``, which evaluates the IR with no rewrite (``tc.evaluate`` applies the
evaluation form ``finite_form``, itself under test).  Outcomes:

* ``ok``; ``TensorCalcError:<class>`` (bad input, rejected properly);
* findings: ``other:<exception>`` (anything else escaping), ``hang`` (over the watchdog's
  limit), ``fd-mismatch`` (a derivative that disagrees with finite differences),
  ``eval-mismatch`` (``evaluate`` and compiled code disagree on the derivative while the
  compiled value matches finite differences: the evaluator is wrong, not the derivative),
  ``compiled-mismatch`` (compiled code and ``evaluate`` disagree on the derivative where ``f``
  itself is finite, or compiled f and the plain value of f disagree), ``roundtrip``
  (``parse(str(f))`` is not ``f``), ``value-mismatch`` (``evaluate`` gives another value of
  f than the plain evaluation) and
  ``printed-mismatch`` (the derivative as printed and parsed back disagrees with central
  differences while the returned one agrees).

``run_one_detailed`` also gives a one-line message (the exception, or where values differ).
"""

from __future__ import annotations

import signal
import traceback
import warnings
from contextlib import contextmanager

import numpy as np

import tensorcalc as tc

from .plain import plain
from .strategies import SHAPES

FINDINGS = (
    "other:", "hang", "fd-mismatch", "eval-mismatch", "compiled-mismatch", "roundtrip",
    "value-mismatch", "printed-mismatch",
)  # fmt: skip


class Hang(Exception):
    """Raised by the watchdog inside a check that ran too long."""


CLOCKS = {  # the watchdog's clock: wall time, or this process's CPU time (not slowed by load)
    "wall": (signal.ITIMER_REAL, signal.SIGALRM),
    "cpu": (signal.ITIMER_PROF, signal.SIGPROF),
}


@contextmanager
def watchdog(seconds: float | None, clock: str = "wall"):
    """Raise ``Hang`` in the main thread after ``seconds`` of ``clock`` (no-op for ``None``)."""
    if not seconds:
        yield
        return
    timer, signum = CLOCKS[clock]

    def fire(signum, frame):
        raise Hang()

    old = signal.signal(signum, fire)
    # it fires again every 0.1 s: a Hang raised inside a gc callback is swallowed by Python
    signal.setitimer(timer, seconds, 0.1)
    try:
        yield
    finally:
        signal.setitimer(timer, 0)
        signal.signal(signum, old)


def shown(text: str, limit: int = 300) -> str:
    """``repr(text)``, shortened in the middle when long."""
    r = repr(text)
    return (
        r if len(r) <= limit else f"{r[: limit // 2]} ...({len(text)} chars)... {r[-limit // 2 :]}"
    )


def is_finding(outcome: str) -> bool:
    return outcome.startswith(FINDINGS)


def _dims(shapes: dict, rng) -> dict:
    """Distinct random sizes (2 to 6) for the dimension names of ``shapes``."""
    names = sorted({d for shape in shapes.values() for d in shape if isinstance(d, str)})
    sizes = rng.choice(np.arange(2, 7), size=min(len(names), 5), replace=False)
    return {d: int(sizes[k % len(sizes)]) for k, d in enumerate(names)}


def _point(f, rng, dims=None) -> dict:
    """Values in [0.5, 1.5] (inside every function's domain) for ``f``'s variables, with the
    symbolic sizes ``dims`` (3 for a name not there)."""
    dims = dims or {}
    return {
        name: rng.uniform(0.5, 1.5, size=tuple(dims.get(d, 3) if isinstance(d, str) else d
                                               for d in v.shape))
        for name, v in tc.expr.variables(f).items()
    }  # fmt: skip


def _agree(a, b, rtol=1e-7, where=None) -> bool:
    """Whether ``a`` and ``b`` agree: equal shapes, the same NaNs, and close where both are
    finite; only on the entries ``where`` (a boolean mask) when given."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        return False
    if where is not None:
        a, b = a[where], b[where]
    ok = np.isfinite(a) & np.isfinite(b)
    return bool(
        np.allclose(a[ok], b[ok], rtol=rtol, atol=rtol) and np.all(np.isnan(a) == np.isnan(b))
    )


def _worst(a, b) -> str:
    """Where ``a`` and ``b`` differ most, for a finding's message."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        return f"shapes {a.shape} and {b.shape}"
    with np.errstate(all="ignore"):
        gap = np.where(np.isnan(a) == np.isnan(b), np.nan_to_num(np.abs(a - b), nan=0.0), np.inf)
    k = tuple(int(i) for i in np.unravel_index(int(np.argmax(gap)), a.shape)) if a.ndim else ()
    return f"at {k}: {float(a[k])!r} vs {float(b[k])!r}"


def _centrals(f, wrt, point, dims=None):
    """Central differences of ``f`` in ``wrt`` at steps 1e-5 and 1e-6, and ``f`` there, or
    ``None`` where they are not finite or not *stable* (disagree: f is not smooth here, or too
    ill-conditioned for any value of its derivative to mean much, e.g. 1 / det of a singular
    matrix, which is rounding noise)."""
    x0 = np.asarray(point[wrt], dtype=float)

    def fun(x):
        try:
            return np.asarray(plain(f, {**point, wrt: x}, dims), dtype=float)
        except np.linalg.LinAlgError:
            return np.full(np.shape(plain_shape(f, dims)), np.nan)

    def central(h):
        out = np.zeros(fun(x0).shape + x0.shape)
        for idx in np.ndindex(*x0.shape):
            xp, xm = x0.copy(), x0.copy()
            xp[idx] += h
            xm[idx] -= h
            out[(Ellipsis, *idx)] = (fun(xp) - fun(xm)) / (2 * h)
        return out

    c1, c2 = central(1e-5), central(1e-6)
    if not (np.all(np.isfinite(c1)) and np.all(np.isfinite(c2))):
        return None
    if np.any(np.abs(c1 - c2) > 1e-4 * (1.0 + np.abs(c1))):
        return None
    return c1, fun(x0)


def plain_shape(f, dims):
    """An array of ``f``'s shape at the sizes ``dims``."""
    return np.zeros(tuple((dims or {}).get(d, d) for d in f.shape))


def _fd_gap(f, d, wrt, point, exact=None, dims=None) -> str | None:
    """Where ``d`` (∂f/∂wrt at ``point``; its value ``exact`` if given) disagrees with a
    *stable* central difference (``None`` if it does not)."""
    exact = np.asarray(tc.evaluate(d, point, dims=dims) if exact is None else exact, dtype=float)
    found = _centrals(f, wrt, point, dims)
    if found is None or not np.all(np.isfinite(exact)):
        return None
    c1, value = found
    x0 = np.asarray(point[wrt], dtype=float)
    # a difference of values of size |f| is only good to about eps·|f|/h: `tr(A) - 25^27` or
    # exp(exp(y + 3)) near 1e38 has a slope of 1 that no difference at h = 1e-5 can see
    f0 = np.abs(value).reshape(np.shape(c1)[: np.ndim(c1) - x0.ndim] + (1,) * x0.ndim)
    rounding = 8 * np.finfo(float).eps * f0 / 1e-5
    if np.any(np.abs(exact - c1) > 1e-3 * (1.0 + np.abs(c1)) + rounding):
        return f"d/d{wrt} vs central difference {_worst(exact, c1)}"
    return None


def _fd_mismatch(f, d, wrt, point, exact=None, dims=None) -> bool:
    """Whether ``d`` disagrees with a stable central difference (see ``_fd_gap``)."""
    return _fd_gap(f, d, wrt, point, exact, dims) is not None


def _where_finite(value, d) -> np.ndarray:
    """The entries of ``d`` (shape ``f.shape + wrt.shape``) whose ``f`` entry is finite."""
    ok = np.isfinite(np.asarray(value, dtype=float))
    return np.broadcast_to(ok.reshape(ok.shape + (1,) * (np.ndim(d) - ok.ndim)), np.shape(d))


def checked(
    text: str, rng, *, fd: bool = True, compiled: bool = False, derive: bool = True, shapes=None
) -> tuple[str, str]:
    """``(outcome, message)`` of the checks on ``text``; raises whatever escapes
    (``run_one_detailed`` names it).  ``shapes`` are the declared shapes (``SHAPES`` by
    default).  ``derive`` (default) takes and evaluates a derivative, ``fd`` also compares it,
    as returned and as printed and parsed back, with central differences, ``compiled`` also
    compares compiled code with ``evaluate`` (where ``f`` itself is finite: at an inf or NaN of
    ``f`` the derivative is undefined and either may be any inf or NaN; and where central
    differences of ``f`` are stable: at a numerically singular det or inv the values are
    rounding noise)."""
    shapes = SHAPES if shapes is None else shapes
    f = tc.parse(text, shapes)
    printed = str(f)
    f.latex()
    names = sorted(tc.expr.variables(f))
    declared = {n: tc.expr.variables(f)[n].shape for n in names}
    back = tc.parse(printed, declared)
    dims = _dims(shapes, rng)
    point = _point(f, rng, dims)
    run = (lambda e: tc.compile(e)(**point, dims=dims)) if dims else (
        lambda e: tc.compile(e)(**point))  # fmt: skip
    with np.errstate(all="ignore"):
        value = tc.evaluate(f, point, dims=dims)
        if back is not f:
            again = tc.evaluate(back, point, dims=dims)
            if not _agree(again, value):
                return "roundtrip", f"{printed!r} parses back to {_worst(again, value)}"
        try:
            reference = plain(f, point, dims)
        except np.linalg.LinAlgError:
            reference = None
        if reference is not None:
            finite = np.isfinite(reference)
            for how, got in [("evaluate", value)] + ([("compiled", run(f))] if compiled else []):
                if not _agree(got, reference, 1e-6, finite) and _stable(f, names, point, dims):
                    outcome = "value-mismatch" if how == "evaluate" else "compiled-mismatch"
                    return outcome, f"f {how} vs plain {_worst(got, reference)}"
        if not names or not derive:
            return "ok", ""
        wrt = names[int(rng.integers(len(names)))]
        d = tc.derivative(f, wrt)
        shown_d = str(d)
        want = tc.evaluate(d, point, dims=dims)
        if compiled:
            got = run(d)
            where = _where_finite(value, want)
            if not _agree(got, want, 1e-6, where) and _centrals(f, wrt, point, dims) is not None:
                got, want = np.asarray(got), np.asarray(want)
                gap = _worst(np.where(where, got, 0), np.where(where, want, 0))
                return "compiled-mismatch", f"d/d{wrt} compiled vs evaluate {gap}"
        if fd and (gap := _fd_gap(f, d, wrt, point, exact=want, dims=dims)):
            # tell a wrong derivative from a wrong evaluation of a right one
            got = run(d)
            if (again := _fd_gap(f, d, wrt, point, exact=got, dims=dims)) is not None:
                return "fd-mismatch", f"{again}; d/d{wrt} = {shown_d[:300]!r}"
            return "eval-mismatch", f"{gap} (compiled code agrees with the central difference)"
        if fd:
            try:
                read = tc.parse(shown_d, declared)
            except tc.ParseError as err:
                if "nested too deeply" in str(err):  # the parser's documented depth limit
                    return "ok", ""
                return "roundtrip", f"d/d{wrt} printed {shown_d[:300]!r} does not parse: {err}"
            again = tc.evaluate(read, point, dims=dims)
            if (gap := _fd_gap(f, read, wrt, point, exact=again, dims=dims)) is not None:
                return "printed-mismatch", f"{gap}; d/d{wrt} printed {shown_d[:300]!r}"
    return "ok", ""


def _stable(f, names, point, dims) -> bool:
    """Whether f is smooth and well-conditioned at ``point`` (central differences in its first
    variable are stable), so that evaluate and plain may be compared; True without variables."""
    return not names or _centrals(f, names[0], point, dims) is not None


def check(text: str, rng, **kw) -> str:
    """The outcome of ``checked(text)`` (see there)."""
    return checked(text, rng, **kw)[0]


def run_one_detailed(
    text: str, rng, *, timeout: float | None = 5.0, clock: str = "wall", **kw
) -> tuple[str, str]:
    """``(outcome, message)``: ``ok``, ``TensorCalcError:<class>`` or a finding, and a line on
    what happened (the exception, or where values differ)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with watchdog(timeout, clock):
                return checked(text, rng, **kw)
    except Hang:
        return "hang", f"over {timeout:g} s ({clock} clock)"
    except tc.TensorCalcError as err:
        return f"TensorCalcError:{type(err).__name__}", str(err).split("\n")[0][:300]
    except Exception as err:  # noqa: BLE001 - naming it is the point
        return f"other:{type(err).__name__}", _where_raised(err)  # RecursionError included


def _where_raised(err: BaseException) -> str:
    """``Type: message (file:line in function)`` of the innermost frame of ``err``."""
    tb = traceback.extract_tb(err.__traceback__)
    at = f" ({tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno} in {tb[-1].name})" if tb else ""
    return f"{type(err).__name__}: {str(err)[:300]}{at}"


def run_one(text: str, rng, **kw) -> str:
    """The outcome of ``check(text)``: ``ok``, ``TensorCalcError:<class>``, or a finding."""
    return run_one_detailed(text, rng, **kw)[0]
