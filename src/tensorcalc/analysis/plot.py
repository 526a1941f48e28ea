"""Plots of functions of one or two variables (the ``[plot]`` extra: matplotlib).

Every function returns a ``matplotlib.figure.Figure`` built without pyplot, so it works
headless (``fig.savefig("out.png")``) and shows inline in Jupyter.  The variables are those of
an ``Objective``: one scalar (a curve) or two entries in all (two scalars or one 2-vector: a
surface or wireframe beside a contour plot).  Overlays come from the other tools: the critical
points, the Taylor polynomial at a point, the gradient field and an optimiser's path.
"""

from __future__ import annotations

import importlib
from typing import NamedTuple

import numpy as np

from ..errors import TensorCalcError
from ..expr import variables
from ..printing.text import to_text
from .common import Objective, point_shapes, scalar_expr
from .critical import critical_points
from .taylor import taylor as taylor_poly

DEFAULT_RANGE = (-2.0, 2.0)
STYLE = {"f": "tab:blue", "taylor": "tab:orange", "critical": "tab:red", "path": "tab:red"}


def _figure(**kw):
    try:
        figure = importlib.import_module("matplotlib.figure")  # optional: the [plot] extra
    except ImportError:
        raise TensorCalcError("plotting needs matplotlib: pip install 'tensorcalc[plot]'") from None
    return figure.Figure(**kw)


def _labels(obj: Objective) -> list:
    """Axis labels: ``x`` for a scalar variable, ``x[0]``, ``x[1]`` for a vector's entries."""
    out = []
    for name, shape, size in zip(obj.names, obj.shapes, obj.sizes):
        out += [f"{name}[{i}]" for i in range(size)] if shape else [name]
    return out


def _objective(f, over, at, shapes):
    at = dict(at or {})
    f = scalar_expr(f, point_shapes(at, shapes), "plot")
    found = variables(f)
    free = [n for n in sorted(found) if n not in at]
    names = list(over) if over else free
    if not free:
        raise TensorCalcError(f"{to_text(f)} has no free variable to plot over")
    if set(names) != set(free):
        raise TensorCalcError(
            f"plot over {', '.join(free) or 'no variables'}; give values for the others with at="
        )
    if any(isinstance(d, str) for n in names for d in found[n].shape):
        raise TensorCalcError("plot needs concrete sizes; declare them, e.g. shapes={'x': 2}")
    obj = Objective(f, names, {**at, **{n: np.zeros(found[n].shape) for n in names}})
    if obj.n not in (1, 2):
        raise TensorCalcError(
            "plot draws functions of one or two variables (two scalars or one 2-vector); "
            f"{', '.join(names)} has {obj.n} entries"
        )
    return obj


def _ranges(obj, over) -> list:
    over = over or {}
    out = []
    for name, size in zip(obj.names, obj.sizes):
        r = over.get(name, DEFAULT_RANGE)
        r = np.broadcast_to(np.asarray(r, dtype=float), (size, 2)) if np.ndim(r) < 2 else r
        out += [tuple(map(float, row)) for row in np.asarray(r).reshape(size, 2)]
    return out


def _grid_values(obj: Objective, axes: list) -> np.ndarray:
    """f on the product grid of ``axes`` (one or two 1-D arrays)."""
    mesh = np.meshgrid(*axes, indexing="xy")
    pts = np.stack([m.ravel() for m in mesh], axis=1)
    vals = np.array([obj.value(p) for p in pts])
    return vals.reshape(mesh[0].shape)


def plot(
    f,
    over: dict | None = None,
    *,
    at: dict | None = None,
    taylor: dict | None = None,
    order: int = 2,
    kind: str = "wireframe",
    gradient: bool = False,
    critical: bool = True,
    samples: int | None = None,
    shapes=None,
):
    """Plot ``f`` over ``over`` (``{"x": (a, b)}``; default [−2, 2] for each variable).

    One variable: the curve, its critical points (``critical=True``) and, with
    ``taylor={"x": x0}``, the Taylor polynomial of ``order`` at x₀ (order 1: the tangent).
    Two variables: a ``kind="wireframe"`` or ``"surface"`` plot beside a contour plot, with
    the Taylor approximation at ``taylor`` drawn over both and, with ``gradient=True``, the
    gradient field on the contours.  ``at`` fixes any other variables.

    >>> import tensorcalc as tc
    >>> fig = tc.plot("x * exp(-x^2 - y^2)", taylor={"x": -1, "y": 0})  # the seed's figure
    >>> [ax.get_title() for ax in fig.axes]
    ['f and its quadratic approximation at (-1, 0)', 'contours of f']
    """
    if kind not in ("wireframe", "surface"):
        raise TensorCalcError(f"kind must be 'wireframe' or 'surface', got {kind!r}")
    obj = _objective(f, over, at, shapes)
    approx = None
    if taylor is not None:
        t_expr = taylor_poly(obj.f, at=taylor, order=order)
        name = {0: "constant", 1: "tangent", 2: "quadratic approximation"}.get(order)
        approx = _Approx(
            Objective(t_expr, obj.names, {**obj.fixed, **obj.unpack(obj.start)}),
            obj.pack({**obj.unpack(obj.start), **taylor}),
            name or f"order-{order} Taylor polynomial",
        )
    ranges = _ranges(obj, over)
    if obj.n == 1:
        return _plot_curve(obj, ranges[0], approx, critical, samples or 400)
    return _plot_surface(obj, ranges, approx, kind, gradient, samples or 41)


class _Approx(NamedTuple):
    obj: Objective  # the Taylor polynomial
    point: np.ndarray  # the expansion point θ₀
    what: str  # "tangent", "quadratic approximation", …


def _plot_curve(obj, interval, approx, critical, samples):
    fig = _figure(figsize=(6.4, 4.4), layout="constrained")
    ax = fig.add_subplot()
    (a, b), label, name = interval, _labels(obj)[0], obj.names[0]
    xs = np.linspace(a, b, samples)
    ax.plot(xs, _grid_values(obj, [xs]), color=STYLE["f"], label=f"f({label})")
    title = f"f({label}) = {to_text(obj.f)}"
    if approx is not None:
        ax.plot(xs, _grid_values(approx.obj, [xs]), "--", color=STYLE["taylor"], label=approx.what)
        ax.plot(approx.point, [obj.value(approx.point)], "o", color=STYLE["taylor"])
        title = f"f and its {approx.what} at {label} = {approx.point[0]:g}"
    if critical:
        for p in critical_points(obj.f, over={name: (a, b)}, at=obj.fixed):
            xy = (p.point[name], p.value)
            ax.plot(*xy, "o", color=STYLE["critical"])
            ax.annotate(p.kind, xy, textcoords="offset points", xytext=(4, 6), fontsize=8)
    ax.set_xlabel(label)
    ax.set_ylabel(f"f({label})")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return fig


def _plot_surface(obj, ranges, approx, kind, gradient, samples):
    fig = _figure(figsize=(11, 4.6), layout="constrained")
    ax0 = fig.add_subplot(1, 2, 1, projection="3d")
    ax1 = fig.add_subplot(1, 2, 2)
    labels = _labels(obj)
    axes = [np.linspace(lo, hi, samples) for lo, hi in ranges]
    X, Y = np.meshgrid(*axes)
    Z = _grid_values(obj, axes)
    if kind == "wireframe":
        ax0.plot_wireframe(
            X, Y, Z, color=STYLE["f"], linewidth=0.6, rstride=2, cstride=2, label="f"
        )
    else:
        ax0.plot_surface(X, Y, Z, cmap="viridis", alpha=0.8, linewidth=0, label="f")
    ax1.contour(X, Y, Z, levels=20, cmap="viridis")
    ax0.set_title(f"f({', '.join(labels)}) = {to_text(obj.f)}", fontsize=10)
    if approx is not None:
        T = _grid_values(approx.obj, axes)
        margin = 0.25 * np.ptp(Z)
        T = np.where((T < Z.min() - margin) | (T > Z.max() + margin), np.nan, T)  # stay in view
        ax0.plot_wireframe(
            X, Y, T, color=STYLE["taylor"], linewidth=0.6, rstride=2, cstride=2, label=approx.what
        )
        p0 = approx.point
        ax0.scatter(*p0, obj.value(p0), color="k", s=20)
        where = f"({p0[0]:g}, {p0[1]:g})"
        ax1.plot(*p0, "o", color=STYLE["taylor"], label=f"expansion point {where}")
        ax0.set_title(f"f and its {approx.what} at {where}", fontsize=10)
        ax0.legend(fontsize=8)
        ax1.legend(fontsize=8)
    if gradient:
        k = max(1, samples // 12)
        gx, gy = X[::k, ::k].ravel(), Y[::k, ::k].ravel()
        G = np.array([obj.value_and_grad(np.array(p))[1] for p in zip(gx, gy)])
        ax1.quiver(gx, gy, G[:, 0], G[:, 1], color="0.3", angles="xy")
    for ax in (ax0, ax1):
        ax.set_xlabel(labels[0])
        ax.set_ylabel(labels[1])
    ax1.set_title("contours of f" + (" and its gradient field" if gradient else ""), fontsize=10)
    ax1.set_aspect("equal")
    return fig


def plot_path(result, over: dict | None = None, levels: int = 25, samples: int = 101):
    """An optimiser's path (an ``OptimizeResult``) over the contours of its objective (two
    variables) or on its curve (one variable)."""
    obj = Objective(result.f, result.names, {**result.fixed, **_as_point(result, 0)})
    if obj.n not in (1, 2):
        raise TensorCalcError(f"a path can be drawn for one or two variables, not {obj.n}")
    path = np.array([obj.pack(_as_point(result, k)) for k in range(len(result.iterates))])
    pad = 0.15 * max(1e-3, float(np.ptp(path)))
    lo, hi = path.min(axis=0) - pad, path.max(axis=0) + pad
    if over:
        lo, hi = np.array(_ranges(obj, over)).T
    labels = _labels(obj)
    fig = _figure(figsize=(6.4, 5.2), layout="constrained")
    ax = fig.add_subplot()
    if obj.n == 1:
        xs = np.linspace(lo[0], hi[0], samples * 4)
        ax.plot(xs, _grid_values(obj, [xs]), color=STYLE["f"], label="f")
        ax.plot(path[:, 0], result.values, "o-", color=STYLE["path"], ms=3, label=result.method)
        ax.set_ylabel(f"f({labels[0]})")
    else:
        axes = [np.linspace(lo[i], hi[i], samples) for i in range(2)]
        X, Y = np.meshgrid(*axes)
        ax.contour(X, Y, _grid_values(obj, axes), levels=levels, cmap="viridis")
        ax.plot(path[:, 0], path[:, 1], "o-", color=STYLE["path"], ms=3, label=result.method)
        ax.set_ylabel(labels[1])
        ax.set_aspect("equal")
    ax.plot(
        *([path[0, 0], result.values[0]] if obj.n == 1 else path[0]), "s", color="k", label="start"
    )
    ax.set_xlabel(labels[0])
    ax.set_title(f"{result.method}: {result.steps} steps, f = {result.values[-1]:.6g}", fontsize=10)
    ax.legend(fontsize=8)
    return fig


def _as_point(result, k) -> dict:
    it = result.iterates[k]
    return dict(it) if len(result.names) > 1 else {result.names[0]: it}
