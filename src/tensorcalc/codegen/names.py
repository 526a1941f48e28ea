"""Identifiers of a generated module: one namespace per function.

Every name a generated function binds (its own name, import aliases, helpers, parameters,
dimension locals, temporaries, loop variables) is drawn from one set ``taken`` by
``safe_name``, so that no temporary can shadow an input.  Python reads identifiers
NFKC-normalised, so names are normalised before they are compared.
"""

from __future__ import annotations

import keyword
import re
import unicodedata

from ..errors import TensorCalcError
from .backends import Backend

RESERVED = {
    "np",
    "jnp",
    "jax",
    "torch",
    "da",
    "_new",
    "_small",
    "_sigmoid",
    "_softmax",
    "_logsumexp",
    "_softmax_axis",
    "_logsumexp_axis",
    "_step",
    "_select",
    "_gram",
    "_syrk",
    "_unit",
    "_float",
}


def safe_name(name: str, taken: set, internal: bool = False) -> str:
    """A Python identifier for ``name`` that collides with no keyword, module, parameter or
    temporary: every name of a generated function is drawn from the one set ``taken``.

    Python reads identifiers NFKC-normalised (``ｔ0`` is ``t0``, ``ﬁ`` is ``fi``), so names are
    normalised first and then made unique; user names never take the temporaries' ``t<k>`` and
    ``d_<dim>`` forms.

    >>> taken = {"f"}
    >>> safe_name("ｔ0", taken), safe_name("x", taken), safe_name("x", taken)
    ('t0_', 'x', 'x_')
    """
    out = re.sub(r"\W", "_", unicodedata.normalize("NFKC", name))
    if not out.isidentifier():
        out = "_" + out
    if (
        keyword.iskeyword(out)
        or out in RESERVED
        or (not internal and re.fullmatch(r"t\d+|d_\w+", out))
    ):
        out += "_"
    while out in taken:
        out += "_"
    taken.add(out)
    return out


def dim_name(d: str, taken: set) -> str:
    """The parameter or local name of symbolic dimension ``d``.

    >>> dim_name("n", set())
    'd_n'
    """
    return safe_name("d_" + d, taken, internal=True)


def module_names(backend: Backend) -> set:
    """The names the generated module defines at top level: import aliases and helpers.

    >>> from tensorcalc.codegen.backends.numpy import BACKEND
    >>> {"np", "_scatter"} <= module_names(BACKEND)
    True
    """
    names = set(backend.helpers)
    for line in backend.imports:
        words = line.split()
        if words and words[0] == "import":
            names.add(words[-1] if " as " in line else words[1].split(".")[0])
        elif words and words[0] == "from":
            names.add(words[-1])
    return names


def check_function_name(name) -> str:
    """``name`` if it can name the generated function, else a ``TensorCalcError``.

    >>> check_function_name("objective")
    'objective'
    """
    if (
        not isinstance(name, str)
        or not name.isidentifier()
        or keyword.iskeyword(name)
        or unicodedata.normalize("NFKC", name) != name
        or name in RESERVED
    ):
        raise TensorCalcError(f"the function name must be a plain Python identifier, got {name!r}")
    return name
