"""One fuzz input through cheap checks, and the name of its outcome.

``run_one(text)`` parses ``text`` (with ``strategies.SHAPES`` declared), prints it and parses
the print back (the two must agree at a random point), takes a first derivative, evaluates
both, and compares the derivative with central differences of the function itself.  Outcomes:

* ``ok``; ``TensorCalcError:<class>`` (bad input, rejected properly);
* findings: ``other:<exception>`` (anything else escaping), ``hang`` (over the watchdog's
  limit), ``fd-mismatch`` (a derivative that disagrees with finite differences),
  ``eval-mismatch`` (``evaluate`` and compiled code disagree on the derivative while the
  compiled value matches finite differences: the evaluator is wrong, not the derivative) and
  ``roundtrip`` (``parse(str(f))`` is not ``f``).
"""

from __future__ import annotations

import signal
import warnings
from contextlib import contextmanager

import numpy as np

import tensorcalc as tc

from .strategies import SHAPES

FINDINGS = ("other:", "hang", "fd-mismatch", "eval-mismatch", "roundtrip")


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


def _point(f, rng) -> dict:
    """Values in [0.5, 1.5] (inside every function's domain) for ``f``'s variables."""
    return {
        name: rng.uniform(0.5, 1.5, size=tuple(3 if isinstance(d, str) else d for d in v.shape))
        for name, v in tc.expr.variables(f).items()
    }


def _agree(a, b, rtol=1e-7) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        return False
    ok = np.isfinite(a) & np.isfinite(b)
    return bool(
        np.allclose(a[ok], b[ok], rtol=rtol, atol=rtol) and np.all(np.isnan(a) == np.isnan(b))
    )


def _fd_mismatch(f, d, wrt, point, exact=None) -> bool:
    """Whether ``d`` (∂f/∂wrt at ``point``; its value ``exact`` if given) disagrees with a
    *stable* central difference."""
    x0 = np.asarray(point[wrt], dtype=float)

    def fun(x):
        return np.asarray(tc.evaluate(f, {**point, wrt: x}), dtype=float)

    def central(h):
        out = np.zeros(fun(x0).shape + x0.shape)
        for idx in np.ndindex(*x0.shape):
            xp, xm = x0.copy(), x0.copy()
            xp[idx] += h
            xm[idx] -= h
            out[(Ellipsis, *idx)] = (fun(xp) - fun(xm)) / (2 * h)
        return out

    exact = np.asarray(tc.evaluate(d, point) if exact is None else exact, dtype=float)
    c1, c2 = central(1e-5), central(1e-6)
    if not (np.all(np.isfinite(exact)) and np.all(np.isfinite(c1)) and np.all(np.isfinite(c2))):
        return False
    scale = 1.0 + np.abs(c1)
    if np.any(np.abs(c1 - c2) > 1e-4 * scale):  # not smooth here (or too ill-conditioned)
        return False
    # a difference of values of size |f| is only good to about eps·|f|/h: `tr(A) - 25^27` or
    # exp(exp(y + 3)) near 1e38 has a slope of 1 that no difference at h = 1e-5 can see
    f0 = np.abs(fun(x0)).reshape(np.shape(c1)[: np.ndim(c1) - x0.ndim] + (1,) * x0.ndim)
    rounding = 8 * np.finfo(float).eps * f0 / 1e-5
    return bool(np.any(np.abs(exact - c1) > 1e-3 * scale + rounding))


def check(text: str, rng, *, fd: bool = True, compiled: bool = False, derive: bool = True) -> str:
    """Run the checks on ``text``; raises whatever escapes (``run_one`` names it).  ``derive``
    (default) takes and evaluates a derivative, ``fd`` also compares it with central
    differences, ``compiled`` also compares compiled code with ``evaluate``."""
    f = tc.parse(text, SHAPES)
    printed = str(f)
    f.latex()
    names = sorted(tc.expr.variables(f))
    back = tc.parse(printed, {n: tc.expr.variables(f)[n].shape for n in names})
    point = _point(f, rng)
    with np.errstate(all="ignore"):
        if back is not f and not _agree(tc.evaluate(back, point), tc.evaluate(f, point)):
            return "roundtrip"
        if not names or not derive:
            tc.evaluate(f, point)
            return "ok"
        wrt = names[int(rng.integers(len(names)))]
        d = tc.derivative(f, wrt)
        str(d)
        tc.evaluate(d, point)
        if compiled:
            got = tc.compile(d)(**point)
            if not _agree(got, tc.evaluate(d, point), 1e-6):
                return "fd-mismatch"
        if fd and _fd_mismatch(f, d, wrt, point):
            # tell a wrong derivative from a wrong evaluation of a right one
            got = tc.compile(d)(**point)
            if _fd_mismatch(f, d, wrt, point, exact=got):
                return "fd-mismatch"
            return "eval-mismatch"
    return "ok"


def run_one(text: str, rng, *, timeout: float | None = 5.0, clock: str = "wall", **kw) -> str:
    """The outcome of ``check(text)``: ``ok``, ``TensorCalcError:<class>``, or a finding."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with watchdog(timeout, clock):
                return check(text, rng, **kw)
    except Hang:
        return "hang"
    except tc.TensorCalcError as err:
        return f"TensorCalcError:{type(err).__name__}"
    except Exception as err:  # noqa: BLE001 - naming it is the point
        return f"other:{type(err).__name__}"
    except RecursionError:
        return "other:RecursionError"
