"""Simplification to matrix notation: a layer of rewrites between differentiation and printing.

Derivatives come out of the reverse-mode engine as canonical einsums, often as a contraction of
a 4-tensor sum with a matrix.  ``simplify`` rewrites them, every rewrite an equality, into the
form an expert writes: contractions of sums distribute (``B @ X @ C + B' @ X @ C'``), symmetric
matrices are known (``is_symmetric``) and their transposes dropped, equal terms merge, inverses
cancel and constants fold.  The rewrites are a table (``rules.REWRITES``); the engine
(``engine``) applies them bottom-up to a fixed point.
"""

from .engine import simplify
from .symmetry import is_symmetric

__all__ = ["simplify", "is_symmetric"]
