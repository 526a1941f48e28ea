"""The op enum: every node of the IR has one of these ops.

Following the Einstein-notation design, every product, transpose, sum, trace and diagonal
is one ``EINSUM`` op; the others are leaves, n-ary addition, elementwise functions and the
few matrix functions with their own derivative rules.  ``KIND`` groups ops for the engines,
which dispatch on tables keyed by op and never on a specific op.
"""

from __future__ import annotations

from enum import Enum


class Op(Enum):
    VAR = "var"
    CONST = "const"  # a tensor filled with one number
    EYE = "eye"  # the n×n identity / Kronecker delta
    SELECT = "select"  # the m×n 0/1 matrix with S[i, start + i·step] = 1 (constant slicing)
    ARRAY = "array"  # a constant tensor of given numbers (a literal like [1, 2]; Taylor points)
    COMMUTATION = "commutation"  # K_{m,n}, the mn×mn permutation with K vec(A) = vec(A'), A m×n
    EINSUM = "einsum"
    ADD = "add"
    EXP = "exp"
    LOG = "log"
    SIN = "sin"
    COS = "cos"
    TAN = "tan"
    ARCSIN = "arcsin"
    ARCCOS = "arccos"
    ARCTAN = "arctan"
    TANH = "tanh"
    SQRT = "sqrt"
    ABS = "abs"
    SIGN = "sign"
    STEP = "step"  # Heaviside step, the derivative of relu
    RELU = "relu"
    SIGMOID = "sigmoid"
    SOFTPLUS = "softplus"
    LOG1P = "log1p"
    POW = "pow"
    DIV = "div"
    INV = "inv"
    DET = "det"
    LOGDET = "logdet"
    NORM = "norm"
    UNIT = "unit"  # x / ‖x‖, the unit tensor; 0 at x = 0 (as sign(0) = 0)
    SOFTMAX = "softmax"
    LOGSUMEXP = "logsumexp"
    CHOLESKY = "cholesky"  # the lower Cholesky factor L of an SPD S = L Lᵀ (of its symmetric part)
    PHI = "phi"  # Φ(X): the lower triangle of X with its diagonal halved (Cholesky's differential)
    EIGVALSH = "eigvalsh"  # eigenvalues of a symmetric matrix, ascending (of its symmetric part)
    EIGVECSH = "eigvecsh"  # their unit eigenvectors as columns, each's largest entry positive
    SVDVALS = "svdvals"  # singular values, descending (full rank)
    PINV = "pinv"  # the Moore–Penrose pseudo-inverse (full rank)
    EXPM = "expm"  # the matrix exponential e^X (per matrix of a stack)
    EXPM_FRECHET = "expm_frechet"  # Dᵏ e^X[E₁, …, Eₖ], multilinear in the directions Eᵢ
    STACK = "stack"  # [a, b, ...]: n same-shape expressions as one tensor, the new axis first
    RESHAPE = "reshape"  # row-major, to the shape in attrs (vec(X) = reshape(X', mn))
    KRON = "kron"  # NumPy's Kronecker product of two matrices (or two vectors)


LEAF = "leaf"
UNARY = "unary"  # elementwise, one argument
BINARY = "binary"  # elementwise, two same-shape arguments
STRUCT = "struct"  # everything else

KIND = {
    Op.VAR: LEAF,
    Op.CONST: LEAF,
    Op.EYE: LEAF,
    Op.SELECT: LEAF,
    Op.ARRAY: LEAF,
    Op.COMMUTATION: LEAF,
    Op.EINSUM: STRUCT,
    Op.ADD: STRUCT,
    Op.EXP: UNARY,
    Op.LOG: UNARY,
    Op.SIN: UNARY,
    Op.COS: UNARY,
    Op.TAN: UNARY,
    Op.ARCSIN: UNARY,
    Op.ARCCOS: UNARY,
    Op.ARCTAN: UNARY,
    Op.TANH: UNARY,
    Op.SQRT: UNARY,
    Op.ABS: UNARY,
    Op.SIGN: UNARY,
    Op.STEP: UNARY,
    Op.RELU: UNARY,
    Op.SIGMOID: UNARY,
    Op.SOFTPLUS: UNARY,
    Op.LOG1P: UNARY,
    Op.POW: BINARY,
    Op.DIV: BINARY,
    Op.INV: STRUCT,
    Op.DET: STRUCT,
    Op.LOGDET: STRUCT,
    Op.NORM: STRUCT,
    Op.UNIT: STRUCT,
    Op.SOFTMAX: STRUCT,
    Op.LOGSUMEXP: STRUCT,
    Op.CHOLESKY: STRUCT,
    Op.PHI: STRUCT,
    Op.EIGVALSH: STRUCT,
    Op.EIGVECSH: STRUCT,
    Op.SVDVALS: STRUCT,
    Op.PINV: STRUCT,
    Op.EXPM: STRUCT,
    Op.EXPM_FRECHET: STRUCT,
    Op.STACK: STRUCT,
    Op.RESHAPE: STRUCT,
    Op.KRON: STRUCT,
}

UNARY_OPS = tuple(op for op in Op if KIND[op] == UNARY)
