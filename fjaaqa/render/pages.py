"""Whole pages made without a notebook (index, worklist, listings), and the one manifest writer.

A page is a Jinja template from ``templates/pages`` that extends
``layout.html.j2``: the house stylesheet inlined, nothing loaded from the
network, every value escaped. The manifest records what a run used and
made, with paths relative to the output folder, so it is itself
reproducible.
"""

from __future__ import annotations

import json
import platform
from importlib import metadata
from pathlib import Path

from .. import __version__
from ..digests import sha256_file
from ..writers import atomic_write
from . import builds
from .export import css
from .templating import render

VERSIONED = ["pandas", "numpy", "pyarrow", "pandera", "pydantic", "altair", "vl-convert-python", "weasyprint",
             "nbconvert", "papermill", "jinja2"]


def page(template: str, **ctx) -> str:
    """A whole self-contained page in the house style (ending in a newline, as a text file should)."""
    return render(template, css=css(), version=__version__, **ctx).rstrip("\n") + "\n"


def write_page(path: Path, template: str, **ctx) -> Path:
    """Render ``template`` and write it atomically to ``path``."""
    return atomic_write(path, page(template, **ctx))


def relative_link(target: Path, page_path: Path) -> str:
    """The href from the page at ``page_path`` to ``target`` (both under the same output folder)."""
    import os

    return Path(os.path.relpath(target, page_path.parent)).as_posix()


def versions() -> dict:
    """Python's and the key libraries' versions (outputs depend on them, e.g. WeasyPrint's PDF producer)."""
    out = {"python": platform.python_version()}
    for n in VERSIONED:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            out[n] = None
    return out


def outputs_under(folder: Path, root: Path) -> list[dict]:
    """Every deliverable under ``folder`` (hidden build records and manifests aside), path relative to ``root``."""
    return [{"path": p.relative_to(root).as_posix(), "sha256": sha256_file(p), "bytes": p.stat().st_size}
            for p in sorted(Path(folder).rglob("*"))
            if p.is_file() and p.name != "manifest.json" and not p.name.startswith(".")]


def write_manifest(folder: Path, root: Path, doc: dict) -> Path:
    """``folder/manifest.json``: ``doc`` plus the package version, library versions, outputs and build keys."""
    full = {"fjaaqa": __version__, "versions": versions(), **doc,
            "outputs": outputs_under(folder, root), "builds": builds.keys_under(folder, root)}
    return atomic_write(Path(folder) / "manifest.json", json.dumps(full, indent=2, sort_keys=True) + "\n")
