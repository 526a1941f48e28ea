"""MkDocs hooks.

* The code blocks of the tutorials import tensorcalc from this checkout's ``src/`` (and the
  ``docs/_support`` helpers), the same code mkdocstrings documents.
* The package's vendored KaTeX (``src/tensorcalc/web/static/vendor/katex``) is served as
  ``vendor/katex/`` in the site, so math renders with no network and no second copy.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "src" / "tensorcalc" / "web" / "static" / "vendor"


def on_config(config):
    for path in (ROOT / "docs" / "_support", ROOT / "src"):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    return config


def on_files(files, config):
    for path in sorted(VENDOR.rglob("*")):
        if path.is_file():
            uri = path.relative_to(VENDOR.parent).as_posix()
            files.append(File.generated(config, uri, abs_src_path=str(path)))
    return files
