r"""Printers: ``matrix`` recovers matrix notation as a print tree; ``text`` and ``latex`` render
that tree with a table per node kind plus a precedence table.

**Sizes.**  A count of entries, ``sum(ones(n))`` (the n of ``mean(x) = sum(x) / n``), is a
node of the IR like any other.  LaTeX and explanations show it as the size ``n``
(``matrix.named_sizes``; ``m n`` for ``sum(ones(m, n))``), as a textbook writes it.  The text
printer keeps ``sum(ones(n))``: text must read back as the same node, and in the input language
a bare ``n`` is a scalar variable, which this does not change.  The LaTeX reader reads a bare
name back as the size only when the declared shapes use it as a dimension and do not declare it
as a variable, and says so in ``expr.notes``; where a variable has the dimension's name, the
LaTeX keeps ``\operatorname{sum}(\mathbf{1}_{n})``.

**Products.**  An einsum's independent scalar factors (``a' @ c``, ``tr(A)``, ``s^-0.5``) are
read one by one and written in front, equal ones as a power: ``0.5 * s^(-0.5) * (a' @ c) * b``,
never ``c' @ (s^(-0.5) * a) * b``.
"""
