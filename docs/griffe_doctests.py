"""A Griffe extension for the API reference: the doctest examples of tensorcalc's docstrings
(``>>>`` lines and their output, up to a blank line) are shown as ``pycon`` code blocks, not
read as Markdown (where ``>>>`` would be a nested quote and ``[1, 2]`` a link)."""

from __future__ import annotations

import griffe


def fence_doctests(text: str) -> str:
    out, in_fence, in_example = [], False, False
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith("```"):
            in_fence = not in_fence
        elif not in_fence and not in_example and stripped.startswith(">>>"):
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}```pycon")
            in_example = True
        elif in_example and not stripped:
            out.append(f"{indent}```")
            in_example = False
        out.append(line)
    if in_example:
        out.append(f"{indent}```")
    return "\n".join(out)


class DoctestBlocks(griffe.Extension):
    def on_object(self, *, obj, **kwargs) -> None:
        if obj.docstring is not None and ">>>" in obj.docstring.value:
            obj.docstring.value = fence_doctests(obj.docstring.value)
