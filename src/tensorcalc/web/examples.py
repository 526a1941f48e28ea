"""The examples menu: the seeds' worked examples and Matrix Cookbook identities.

Each entry is the state of the page it loads: the expression, the variable, the order, the
layout and the shapes (in the ``--shape`` syntax); ``note`` is the expected answer as the seed
or the Cookbook writes it, shown beside the menu.  ``tests/test_web_api.py`` computes every
entry.
"""

from __future__ import annotations


def _ex(group, title, expression, wrt, note, shapes=None, order=1, layout="jacobian", **more):
    return {
        "group": group, "title": title, "expression": expression, "wrt": wrt, "order": order,
        "layout": layout, "shapes": shapes or {}, "note": note, **more,
    }  # fmt: skip


SEEDS = "Course examples"
COOKBOOK = "Matrix Cookbook"
ANALYSIS = "Analysis (one or two variables)"

EXAMPLES = [
    _ex(SEEDS, "Quadratic form", "x' @ A @ x", "x", "(A + Aᵀ)x", {"x": "n", "A": "n,n"}),
    _ex(SEEDS, "Least squares", "norm(y - Phi @ theta)^2", "theta",
        "−2Φᵀ(y − Φθ); zero at θ = (ΦᵀΦ)⁻¹Φᵀy", {"y": "N", "Phi": "N,D", "theta": "D"}),
    _ex(SEEDS, "Least-squares Hessian", "norm(y - Phi @ theta)^2", "theta", "2ΦᵀΦ",
        {"y": "N", "Phi": "N,D", "theta": "D"}, order=2),
    _ex(SEEDS, "Matrix factorisation", "norm(X - U @ V)^2", "V", "−2Uᵀ(X − UV)",
        {"X": "n,m", "U": "n,r", "V": "r,m"}),
    _ex(SEEDS, "Linear map", "A @ x", "x", "A (M×N)", {"A": "M,N", "x": "N"}),
    _ex(SEEDS, "df/dA of Ax (a 3-tensor)", "A @ x", "A", "∂fᵢ/∂A_pq = x_q δ_ip",
        {"A": "M,N", "x": "N"}),
    _ex(SEEDS, "dK/dR of RᵀR (a 4-tensor)", "R' @ R", "R", "∂K_pq/∂R_ij = δ_jp R_iq + δ_jq R_ip",
        {"R": "M,N"}),
    _ex(SEEDS, "Chain rule", "sin(x^4)^5", "x", "20x³ sin⁴(x⁴) cos(x⁴)", {"x": ""}),
    _ex(SEEDS, "Product rule", "x^3 * sin(x)", "x", "3x² sin x + x³ cos x", {"x": ""}),
    _ex(SEEDS, "Power of a polynomial", "(x^2 + 5*x + 6)^10", "x", "10(x² + 5x + 6)⁹(2x + 5)",
        {"x": ""}),
    _ex(SEEDS, "Partial derivative", "(x + 2*y^3)^2", "y", "12(x + 2y³)y²", {"x": "", "y": ""}),
    _ex(SEEDS, "Log-sum-exp", "log(exp(x) + exp(y))", "x", "eˣ/(eˣ + eʸ)", {"x": "", "y": ""}),
    _ex(SEEDS, "Norm", "norm(v)", "v", "vᵀ/‖v‖₂", {"v": "n"}),
    _ex(SEEDS, "Logistic loss", "sum(log(1 + exp(-y * (X @ w))))", "w",
        "−Xᵀ(σ(−y ⊙ Xw) ⊙ y)", {"X": "N,D", "y": "N", "w": "D"}),
    _ex(COOKBOOK, "(69) ∂aᵀx/∂x", "a' @ x", "x", "a", {"a": "n", "x": "n"}),
    _ex(COOKBOOK, "(70) ∂aᵀXb/∂X", "a' @ X @ b", "X", "abᵀ", {"a": "m", "X": "m,n", "b": "n"}),
    _ex(COOKBOOK, "(81) ∂xᵀBx/∂x", "x' @ B @ x", "x", "(B + Bᵀ)x", {"x": "n", "B": "n,n"}),
    _ex(COOKBOOK, "(84) ∂(x − As)ᵀW(x − As)/∂s", "(x - A @ s)' @ W @ (x - A @ s)", "s",
        "−2AᵀW(x − As) for symmetric W", {"x": "m", "A": "m,n", "s": "n", "W": "m,m"}),
    _ex(COOKBOOK, "(49) ∂ det X/∂X", "det(X)", "X", "det(X) X⁻ᵀ", {"X": "n,n"}),
    _ex(COOKBOOK, "(57) ∂ log det X/∂X", "logdet(X)", "X", "X⁻ᵀ", {"X": "n,n"}),
    _ex(COOKBOOK, "(100) ∂ tr(AXB)/∂X", "tr(A @ X @ B)", "X", "AᵀBᵀ",
        {"A": "p,m", "X": "m,n", "B": "n,p"}),
    _ex(COOKBOOK, "(112) ∂ tr(XᵀBX)/∂X", "tr(X' @ B @ X)", "X", "BX + BᵀX",
        {"X": "n,m", "B": "n,n"}),
    _ex(COOKBOOK, "(124) ∂ tr(X⁻¹)/∂X", "tr(inv(X))", "X", "−(X⁻²)ᵀ", {"X": "n,n"}),
    _ex(COOKBOOK, "(61) ∂ aᵀX⁻¹b/∂X", "a' @ inv(X) @ b", "X", "−X⁻ᵀabᵀX⁻ᵀ",
        {"a": "n", "X": "n,n", "b": "n"}),
    _ex(ANALYSIS, "x·exp(−x² − y²)", "x * exp(-x^2 - y^2)", "x",
        "the course's wireframe with its quadratic approximation at (−1, 0)", {"x": "", "y": ""},
        at={"x": -1, "y": 0}, plot="taylor"),
    _ex(ANALYSIS, "3x⁴ − 4x³ − 12x²", "3*x^4 - 4*x^3 - 12*x^2", "x",
        "critical points −1, 0, 2 (f = −5, 0, −32)", {"x": ""}, plot="plain"),
    _ex(ANALYSIS, "x³ − 3xy + y³", "x^3 - 3*x*y + y^3", "x", "a saddle at (0, 0), a minimum at (1, 1)",
        {"x": "", "y": ""}),
]  # fmt: skip
