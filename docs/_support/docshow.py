"""Helpers for the executed code blocks of the documentation (not part of tensorcalc).

``show(fig)`` writes a matplotlib figure into the page as an inline PNG (the block needs
``html="1"``), so the built site needs no image files and no network. In Jupyter a figure
shows itself; in a script use ``fig.savefig("out.png")``.
"""

from __future__ import annotations

import base64
import inspect
import io


def show(fig, alt: str = "figure", dpi: int = 80) -> None:
    """Write ``fig`` into the page as an ``<img>`` with a PNG data URL."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    # markdown-exec captures the output of a block through the ``print`` in its globals.
    emit = inspect.currentframe().f_back.f_globals.get("print", print)
    emit(f'<img class="tc-figure" alt="{alt}" src="data:image/png;base64,{data}">')
