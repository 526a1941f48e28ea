"""Plots render headless to PNG with the expected axes, titles and artists (needs matplotlib)."""

from __future__ import annotations

import io
import pathlib

import numpy as np
import pytest

import tensorcalc as tc
from tensorcalc.cli import main

pytest.importorskip("matplotlib")
from matplotlib.image import imread  # noqa: E402
from matplotlib.quiver import Quiver  # noqa: E402
from mpl_toolkits.mplot3d.art3d import Line3DCollection, Poly3DCollection  # noqa: E402


def png_pixels(fig) -> np.ndarray:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=60)
    assert buf.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
    buf.seek(0)
    return imread(buf, format="png")


def assert_not_blank(fig):
    img = png_pixels(fig)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    assert img[..., :3].std() > 0.05  # not one flat colour
    assert (img[..., :3].min(axis=2) < 0.5).mean() > 0.01  # some dark ink was drawn


def test_seed_figure_wireframes_and_contours():
    fig = tc.plot("x * exp(-x^2 - y^2)", taylor={"x": -1, "y": 0})
    assert_not_blank(fig)
    ax3d, ax = fig.axes[:2]
    assert ax3d.get_title() == "f and its quadratic approximation at (-1, 0)"
    assert ax.get_title() == "contours of f"
    assert (ax3d.get_xlabel(), ax3d.get_ylabel(), ax.get_xlabel()) == ("x", "y", "x")
    wires = [c for c in ax3d.collections if isinstance(c, Line3DCollection)]
    assert len(wires) == 2  # f and its quadratic approximation
    assert [t.get_text() for t in ax3d.get_legend().get_texts()] == ["f", "quadratic approximation"]
    assert len(ax.collections) >= 1 and len(ax.lines) == 1  # contour set + expansion point
    np.testing.assert_allclose(ax.lines[0].get_xydata(), [[-1, 0]])


def test_one_variable_curve_critical_points_and_tangent():
    fig = tc.plot("3*x^4 - 4*x^3 - 12*x^2", over={"x": (-2, 3)}, taylor={"x": 1}, order=1)
    assert_not_blank(fig)
    (ax,) = fig.axes
    assert ax.get_title() == "f and its tangent at x = 1"
    assert ax.get_xlabel() == "x" and ax.get_ylabel() == "f(x)"
    # curve, tangent, tangent point, three critical points
    assert len(ax.lines) == 6
    assert [t.get_text() for t in ax.texts] == ["local minimum", "local maximum", "global minimum"]
    xs, ys = ax.lines[1].get_data()
    np.testing.assert_allclose(ys, -13 - 24 * (xs - 1))  # f(1) = −13, f′(1) = −24
    assert ax.get_xlim()[0] <= -2 and ax.get_xlim()[1] >= 3


def test_surface_with_gradient_field():
    fig = tc.plot("x^2 + 3*y^2", kind="surface", gradient=True)
    assert_not_blank(fig)
    ax3d, ax = fig.axes[:2]
    assert any(isinstance(c, Poly3DCollection) for c in ax3d.collections)
    (q,) = [c for c in ax.collections if isinstance(c, Quiver)]
    assert q.U.size == q.V.size > 9
    assert ax.get_title() == "contours of f and its gradient field"


def test_optimizer_path_over_contours():
    r = tc.minimize("(1 - x)^2 + 5 * (y - x^2)^2", ["x", "y"], {"x": -1.0, "y": 1.0},
                    method="momentum", lr=0.01, steps=100)  # fmt: skip
    fig = r.plot()
    assert_not_blank(fig)
    (ax,) = fig.axes
    path, start = ax.lines
    assert path.get_xydata().shape == (101, 2)
    np.testing.assert_allclose(start.get_xydata(), [[-1.0, 1.0]])
    assert ax.get_title().startswith("momentum: 100 steps")
    assert len(ax.collections) >= 1  # the contour set


def test_one_variable_path():
    r = tc.minimize("x^2 - 4*x + 3", "x", 4, steps=5)
    fig = r.plot()
    (ax,) = fig.axes
    assert len(ax.lines) == 3  # f, the path, the start
    np.testing.assert_allclose(ax.lines[1].get_xdata(), r.iterates)


def test_plot_errors():
    with pytest.raises(tc.TensorCalcError, match="one or two variables"):
        tc.plot("x + y + z")
    with pytest.raises(tc.TensorCalcError, match="kind must be"):
        tc.plot("x^2", kind="bars")
    with pytest.raises(tc.TensorCalcError, match="concrete sizes"):
        tc.plot("sum(x^2)", shapes={"x": "n"})
    with pytest.raises(tc.TensorCalcError, match="give values for the others"):
        tc.plot("x * a", over={"x": (0, 1)})


def test_readme_figure_is_what_its_command_draws(tmp_path):
    root = pathlib.Path(__file__).resolve().parents[1]
    command = (
        'tensorcalc plot "x * exp(-x^2 - y^2)" --taylor x=-1 --taylor y=0 -o docs/seed-taylor.png'
    )
    assert command in (root / "README.md").read_text()
    out = tmp_path / "seed.png"
    assert (
        main(["plot", "x * exp(-x^2 - y^2)", "--taylor", "x=-1", "--taylor", "y=0", "-o", str(out)])
        == 0
    )
    committed, fresh = imread(root / "docs" / "seed-taylor.png"), imread(out)
    assert committed.shape == fresh.shape
    assert np.abs(committed - fresh).mean() < 0.02  # the same drawing (fonts may differ slightly)
