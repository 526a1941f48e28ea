"""Code-generation backends: one module per array library, each a table.

A backend is a ``Backend``: import lines, the templates for every function of the print tree
(``{0}``, ``{1}`` are the rendered arguments), helper functions the templates may call, and a
few spellings (einsum, outer product, array conversion, dtype/device for new constants,
products and transposes where ``@`` and ``.T`` do not work) and the library's compiler, which
``tc.compile`` applies to the generated function (``jax.jit``, ``tf.function``).
Adding a backend is adding one module here and one line to ``BACKENDS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Backend:
    name: str
    imports: tuple
    funcs: dict  # print-tree function name -> template ({args}: all arguments, comma-separated)
    einsum: str  # template with {spec} and {args}
    outer: str
    asarray: str
    helpers: dict = field(default_factory=dict)  # helper name -> source
    prologue: str = ""  # emitted after the array conversions (e.g. dtype/device)
    bare_prologue: str = ""  # the prologue of a function with no array input (a constant)
    module: str = ""  # the importable module the backend needs (for skips and errors)
    matmul: str = ""  # template for a product when the library's ``@`` will not do
    transpose: str = ""  # template for a matrix transpose when ``.T`` will not do
    jit: Callable | None = None  # compiles the generated function (jax.jit, tf.function)
    # () -> the library's array type, which a call may hand to ``jit(entry)`` as it is: the
    # compiled entry point then checks shapes and dtypes itself (jax.jit's dispatch, in C++)
    native: Callable | None = None
    fuses: bool = False  # the compiler fuses elementwise work into loops (XLA): see paths.py
    install: str = ""  # how to get ``module`` when not ``pip install 'tensorcalc[name]'``
    # In-place writes (arrays that can be written through views): a large result is summed
    # into one array, term by term and block by block (blocks.accumulate).  ``accumulator``
    # makes the zero array ({0}: shape, {1}: the inputs, for the dtype); ``view`` is a writable
    # einsum view of it ({spec}, {0}), e.g. the diagonal that a Kronecker delta places a term on.
    accumulator: str = ""
    view: str = ""
    # products of Kronecker deltas placed with one ``where`` of all their masks (needs
    # broadcasting to the result's rank and ``&`` of booleans); without it, each delta and
    # selection is placed by ``place`` in turn (codegen/place.py), up to rank 5
    place_deltas: bool = True
    # a number given to a library function, where the library's functions take only arrays
    # (torch.sqrt(8.0) is a TypeError): {0} is the number
    scalar: str = ""


# functions every backend must provide (the registry test checks each table)
FUNCTIONS = (
    "exp", "log", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "tanh", "sqrt", "abs", "sign",
    "step", "relu", "sigmoid", "softplus", "log1p", "inv", "det", "logdet", "norm", "softmax",
    "logsumexp", "sum", "sum_axis", "tr", "diag_vec", "diag_mat", "eye", "ones", "zeros",
    "softmax_axis", "logsumexp_axis",  # softmax(X, axis), logsumexp(X, axis)
    "gram",  # gram(X, d) = X' diag(d) X
    "select",  # select(m, n, start, step): S[i, start + i*step] = 1
    "array",  # array([[1.0, 2.0], ...]): a constant from its nested-list literal
    "solve",  # solve(A, B) = A⁻¹ B, never forming the inverse
    "arange",  # arange(n) = [0, 1, ..., n - 1]: the positions that Kronecker deltas compare
    "where",  # where(mask, x) = x where mask holds, else 0: a delta placed, never multiplied
    "scatter",  # scatter(x, axis, n, start, step): x along axis at start + k*step of n, else 0
    "place",  # place(x, p, q, n, start, step): x[.., k, ..] at start + k*step of a new axis q
    "unit",  # unit(x) = x / norm(x), 0 at x = 0
    "cholesky",  # the lower Cholesky factor of the symmetric part (S + S')/2, last two axes
    "phi",  # the lower triangle with the diagonal halved, last two axes
    "eigvalsh",  # eigenvalues of the symmetric part, ascending
    "eigvecsh",  # its eigenvectors (columns), each's largest-magnitude entry positive
    "svdvals",  # singular values, descending
    "pinv",  # the Moore–Penrose pseudo-inverse
    "reshape",  # reshape(x, (2, 3)): row-major, as NumPy's
    "vec",  # vec(X) = reshape(X', m*n): the columns stacked
    "kron",  # kron(A, B): the Kronecker product of two matrices or two vectors
    "commutation",  # commutation(m, n): K[i*n + j, j*m + i] = 1, so K @ vec(A) = vec(A')
    "expm",  # the matrix exponential e^X, last two axes
    "expm_frechet",  # expm_frechet(X, E1, ..., Ek) ({args}): Fréchet derivatives of expm
    "stack",  # stack([a, b]): entries of one shape as a new first axis (a literal [a, b])
    "copy",  # copy(x): a result that is an input, a view of one or another result (writable arrays)
)  # fmt: skip
