"""Printers: ``matrix`` recovers matrix notation as a print tree; ``text`` and ``latex`` render
that tree with a table per node kind plus a precedence table."""
