"""What each derivative rule of the engine says, in words: one line per op.

``RULE_TEXT`` has an entry for every op in ``tensorcalc.diff.rules.PARTIAL`` (a registry test
checks it), so every rule the engine applies can be named in an explanation.  ``EINSUM`` is
the one op that stands for several textbook rules; ``EINSUM_TEXT`` tells them apart by how
many of its factors depend on the variable.
"""

from __future__ import annotations

from ..ops import Op

RULE_TEXT = {
    Op.ADD: "sum rule: d(a + b) = da + db",
    Op.EINSUM: "product rule: d(A B) = dA B + A dB",
    Op.EXP: "chain rule for exp: d exp(u) = exp(u) du",
    Op.LOG: "chain rule for log: d log(u) = du / u",
    Op.SIN: "chain rule for sin: d sin(u) = cos(u) du",
    Op.COS: "chain rule for cos: d cos(u) = -sin(u) du",
    Op.TAN: "chain rule for tan: d tan(u) = (1 + tan(u)^2) du",
    Op.ARCSIN: "chain rule for arcsin: d arcsin(u) = du / sqrt(1 - u^2)",
    Op.ARCCOS: "chain rule for arccos: d arccos(u) = -du / sqrt(1 - u^2)",
    Op.ARCTAN: "chain rule for arctan: d arctan(u) = du / (1 + u^2)",
    Op.TANH: "chain rule for tanh: d tanh(u) = (1 - tanh(u)^2) du",
    Op.SQRT: "chain rule for sqrt: d sqrt(u) = du / (2 sqrt(u))",
    Op.ABS: "chain rule for abs: d|u| = sign(u) du (u ≠ 0)",
    Op.SIGN: "sign is constant away from 0: d sign(u) = 0",
    Op.STEP: "step is constant away from 0: d step(u) = 0",
    Op.RELU: "chain rule for relu: d relu(u) = step(u) du (u ≠ 0)",
    Op.SIGMOID: "chain rule for sigmoid: dσ(u) = σ(u) (1 - σ(u)) du",
    Op.SOFTPLUS: "chain rule: d log(1 + exp(u)) = sigmoid(u) du",
    Op.LOG1P: "chain rule for log1p: d log(1 + u) = du / (1 + u)",
    Op.POW: "power rule: d(a^b) = b a^(b-1) da + a^b log(a) db",
    Op.DIV: "quotient rule: d(1/b) = -db / b^2",
    Op.INV: "inverse rule: d(X⁻¹) = -X⁻¹ dX X⁻¹",
    Op.DET: "determinant rule: d det(X) = det(X) tr(X⁻¹ dX)",
    Op.LOGDET: "log-determinant rule: d log|det X| = tr(X⁻¹ dX)",
    Op.NORM: "norm rule: d‖u‖ = ⟨u, du⟩ / ‖u‖",
    Op.UNIT: "unit-vector rule: d(u / ‖u‖) = (du − û ⟨û, du⟩) / ‖u‖, û = u / ‖u‖",
    Op.SOFTMAX: "softmax rule: ds = s ⊙ du - s (sᵀ du), s = softmax(u)",
    Op.LOGSUMEXP: "logsumexp rule: d logsumexp(u) = softmax(u)ᵀ du",
    Op.CHOLESKY: "Cholesky rule: dL = L Φ(L⁻¹ dS L⁻ᵀ), S = L Lᵀ, Φ = lower triangle, diagonal halved",
    Op.PHI: "linearity: dΦ(X) = Φ(dX) (lower triangle, diagonal halved)",
    Op.EIGVALSH: "eigenvalue rule: dλᵢ = vᵢᵀ dS vᵢ (distinct eigenvalues)",
    Op.SVDVALS: "singular-value rule: dσᵢ = uᵢᵀ dX vᵢ (full rank, distinct σ)",
    Op.PINV: "pseudo-inverse rule: dX⁺ = −X⁺ dX X⁺ + X⁺X⁺ᵀ dXᵀ (I − XX⁺) + (I − X⁺X) dXᵀ X⁺ᵀX⁺",
    Op.EIGVECSH: "eigenvector rule: dV = V (F ⊙ (Vᵀ dS V)), F_ij = 1 / (λ_j − λ_i), F_ii = 0",
    Op.EXPM: "Fréchet derivative: d e^X = L(X, dX), the top-right block of e^[[X, dX], [0, X]]",
    Op.EXPM_FRECHET: "Fréchet derivative again: d Dᵏe^X[E₁…Eₖ] = Dᵏ⁺¹e^X[E₁…Eₖ, dX] + Σᵢ Dᵏe^X[…dEᵢ…]",
    Op.STACK: "entry by entry: d[a, b] = [da, db]",
    Op.RESHAPE: "reshape is linear: d reshape(A) = reshape(dA), and d vec(X) = vec(dX)",
    Op.KRON: "Kronecker product rule: d(A ⊗ B) = dA ⊗ B + A ⊗ dB",
}

EINSUM_TEXT = {
    "square": "product rule for a square: d⟨E, E⟩ = 2⟨E, dE⟩",
    "product": RULE_TEXT[Op.EINSUM],
    "linear": "linearity: constants, sums, traces and transposes commute with d",
}

POW_TEXT = {  # which argument of a^b depends on the variable
    (True, False): "power rule: d(u^c) = c u^(c-1) du",
    (False, True): "exponential rule: d(c^u) = c^u log(c) du",
    (True, True): RULE_TEXT[Op.POW],
}

SUBSTITUTE = "substitute the parts' derivatives"
SIMPLIFY = "simplify"
CANCEL = "cancel: a factor over itself is 1 (u ⊙ du / u = du), then collect the terms"
PARTIAL_OF = "partial derivative: differentiate in one variable, the others held constant"
GRADIENT = "the gradient: the partial derivatives side by side, in the order of the variables"
HESSIAN = "the Hessian: row i holds the partial derivatives of the gradient's entry i"
NAME_PARTS = "name the parts"
CANONICAL = "canonical form df = ⟨G, dX⟩ = tr(Gᵀ dX)"
READ_OFF = "read off the gradient G"
READ_OFF_JACOBIAN = "read off the Jacobian from df = J[dX]"
HIGHER = "differentiate the derivative again"
SYMMETRIC = "the gradient on symmetric matrices, sym(G) = (G + Gᵀ)/2"
