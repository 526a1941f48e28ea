"""Plots of functions of one or two variables (the ``[plot]`` extra: matplotlib).

Every function returns a ``matplotlib.figure.Figure`` built without pyplot, so it works
headless (``fig.savefig("out.png")``) and shows inline in Jupyter.  The variables are those of
an ``Objective``: one scalar (a curve) or two entries in all (two scalars or one 2-vector: a
surface or wireframe beside a contour plot).  Overlays come from the other tools: the critical
points, the Taylor polynomial at a point, the gradient field and an optimiser's path.
"""

from __future__ import annotations

import importlib

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
    out = []
    for name, size in zip(obj.names, obj.sizes):
        out += (
            [name]
            if size == 1 and not obj.shapes[obj.names.index(name)]
            else [f"{name}[{i}]" for i in range(size)]
        )
    return out


def _objective(f, over, at, shapes):
    at = dict(at or {})
    f = scalar_expr(f, point_shapes(at, shapes), "plot")
    free = [n for n in sorted(variables(f)) if n not in at]
    names = list(over) if over else free
    if set(names) != set(free):
        raise TensorCalcError(
            f"plot over {', '.join(free) or 'no variables'}; give values for the others with at="
        )
    start = {n: np.zeros(variables(f)[n].shape) for n in names}
    obj = Objective(f, names, {**at, **start})
    if obj.n not in (1, 2) or any(isinstance(d, str) for n in names for d in variables(f)[n].shape):
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
    taylor_expr = None
    if taylor is not None:
        taylor_expr = taylor_poly(obj.f, at=taylor, order=order)
        t_obj = Objective(taylor_expr, obj.names, {**obj.fixed, **obj.unpack(obj.start)})
        t_point = obj.pack({**obj.unpack(obj.start), **taylor})
    ranges = _ranges(obj, over)
    name = {0: "constant", 1: "tangent", 2: "quadratic approximation"}.get(order)
    what = name or f"order-{order} Taylor polynomial"
    if obj.n == 1:
        fig = _figure(figsize=(6.4, 4.4), layout="constrained")
        ax = fig.add_subplot()
        (a, b), label = ranges[0], _labels(obj)[0]
        xs = np.linspace(a, b, samples or 400)
        ax.plot(xs, _grid_values(obj, [xs]), color=STYLE["f"], label=f"f({label})")
        title = f"f({label}) = {to_text(obj.f)}"
        if taylor_expr is not None:
            ax.plot(xs, _grid_values(t_obj, [xs]), "--", color=STYLE["taylor"], label=what)
            ax.plot(t_point, [obj.value(t_point)], "o", color=STYLE["taylor"])
            title = f"f and its {what} at {label} = {t_point[0]:g}"
        if critical:
            for p in critical_points(obj.f, over={obj.names[0]: (a, b)}, at=obj.fixed):
                ax.plot([p.point[obj.names[0]]], [p.value], "o", color=STYLE["critical"])
                ax.annotate(p.kind, (p.point[obj.names[0]], p.value), textcoords="offset points",
                            xytext=(4, 6), fontsize=8)  # fmt: skip
        ax.set_xlabel(label)
        ax.set_ylabel(f"f({label})")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8)
        return fig
    fig = _figure(figsize=(11, 4.6), layout="constrained")
    (ax0, ax1), labels = (
        (fig.add_subplot(1, 2, 1, projection="3d"), fig.add_subplot(1, 2, 2)),
        _labels(obj),
    )
    n = samples or 41
    axes = [np.linspace(lo, hi, n) for lo, hi in ranges]
    X, Y = np.meshgrid(*axes)
    Z = _grid_values(obj, axes)
    draw = ax0.plot_wireframe if kind == "wireframe" else ax0.plot_surface
    style = (
        {"rstride": 2, "cstride": 2} if kind == "wireframe" else {"cmap": "viridis", "alpha": 0.8}
    )
    draw(
        X,
        Y,
        Z,
        color=STYLE["f"] if kind == "wireframe" else None,
        linewidth=0.6,
        label="f",
        **style,
    )
    ax1.contour(X, Y, Z, levels=20, cmap="viridis")
    ax0.set_title(f"f({', '.join(labels)}) = {to_text(obj.f)}", fontsize=10)
    if taylor_expr is not None:
        T = _grid_values(t_obj, axes)
        margin = 0.25 * np.ptp(Z)
        T = np.where((T < Z.min() - margin) | (T > Z.max() + margin), np.nan, T)  # stay in view
        ax0.plot_wireframe(X, Y, T, color=STYLE["taylor"], linewidth=0.6, rstride=2, cstride=2,
                           label=what)  # fmt: skip
        ax0.scatter(*t_point, obj.value(t_point), color="k", s=20)
        ax1.plot(
            *t_point,
            "o",
            color=STYLE["taylor"],
            label=f"expansion point ({t_point[0]:g}, {t_point[1]:g})",
        )
        ax0.set_title(f"f and its {what} at ({t_point[0]:g}, {t_point[1]:g})", fontsize=10)
        ax0.set_zlim(Z.min() - 0.1 * np.ptp(Z), Z.max() + 0.1 * np.ptp(Z))
        ax0.legend(fontsize=8)
        ax1.legend(fontsize=8)
    if gradient:
        k = max(1, n // 12)
        G = np.array(
            [
                obj.value_and_grad(np.array([x, y]))[1]
                for x, y in zip(X[::k, ::k].ravel(), Y[::k, ::k].ravel())
            ]
        )
        ax1.quiver(
            X[::k, ::k].ravel(), Y[::k, ::k].ravel(), G[:, 0], G[:, 1], color="0.3", angles="xy"
        )
    ax0.set_xlabel(labels[0])
    ax0.set_ylabel(labels[1])
    ax1.set_xlabel(labels[0])
    ax1.set_ylabel(labels[1])
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
