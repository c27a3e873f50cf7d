"""Where the repository's own files are.

The package is installed editable, so notebooks, templates and params are
found next to the package, never relative to the current directory: the
``fjaaqa`` command works from any folder.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def repo_path(*parts: str) -> Path:
    """A path inside the repository (params, notebooks, templates, outputs)."""
    return REPO_ROOT.joinpath(*parts)
