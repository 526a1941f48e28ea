"""Derivatives with respect to a symmetric matrix variable S.

Reverse mode gives G = ∂f/∂S with the n² entries of S treated as independent (evaluated where
S = Sᵀ).  Two answers are then in use, and they differ off the diagonal by a factor of 2:

* ``"sym"`` (the default): sym(G) = (G + Gᵀ)/2, the gradient of f on the space of symmetric
  matrices for the Frobenius inner product, ⟨A, B⟩ = tr(AᵀB): df = ⟨sym(G), dS⟩ for every
  symmetric dS, and it is itself symmetric.  This is what gradient descent on S, Newton's
  method and optimisers need (a step along it keeps S symmetric).
* ``"cookbook"``: G + Gᵀ − diag(G), the derivative with respect to the n(n+1)/2 independent
  entries S_ij (i ≤ j), laid out as a matrix: ∂f/∂S_ij for i ≠ j counts both S_ij and S_ji.
  This is the Matrix Cookbook's convention (∂ log det S/∂S = 2S⁻¹ − diag(S⁻¹)).

For derivatives of higher order or of non-scalar f, the projection acts on each pair of axes
that belongs to S (the last two after each differentiation).
"""

from __future__ import annotations

from ..build import add, einsum, eye, scale, sub
from ..errors import DifferentiationError
from ..expr import Expr

MODES = ("sym", "cookbook")


def project(d: Expr, mode: str = "sym") -> Expr:
    """Turn the unconstrained derivative ``d`` (S's axes last) into the ``mode`` convention."""
    if mode not in MODES:
        raise DifferentiationError(f"symmetric must be one of {MODES}, got {mode!r}")
    idx = tuple(range(d.ndim))
    p, q = idx[-2:]
    swapped = einsum([(d, idx)], idx[:-2] + (q, p))  # Gᵀ on S's axes
    if mode == "sym":
        return scale(0.5, add(d, swapped))
    diagonal = einsum([(d, idx[:-2] + (p, p)), (eye(d.shape[-1]), (p, q))], idx)
    return sub(add(d, swapped), diagonal)
