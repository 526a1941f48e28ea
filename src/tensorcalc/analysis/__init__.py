"""Analysis tools built on the exact derivatives: Taylor polynomials (``taylor``), critical
points and their classification (``critical``), optimisers that show their work
(``optimize``), closed-form stationary points (``stationary``) and plots (``plot``, with the
``[plot]`` extra)."""

from .critical import CriticalPoint, classify, critical_points
from .optimize import OptimizeResult, minimize
from .plot import plot, plot_path
from .stationary import solve_stationary
from .taylor import taylor

__all__ = [
    "CriticalPoint", "OptimizeResult", "classify", "critical_points", "minimize", "plot",
    "plot_path", "solve_stationary", "taylor",
]  # fmt: skip
