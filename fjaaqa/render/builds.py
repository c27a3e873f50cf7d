"""Incremental rebuilds: a key per rendered output, kept beside it, so unchanged outputs are not rebuilt.

A report (pack, FRM report, scenario, summary, self-assessment) is rebuilt
only when something it is made from changed. Its *key* is a hash of:

- the package's code and version (:func:`fjaaqa.digests.code_hash`),
- the notebook, the HTML templates and stylesheet, and ``params/`` (threshold
  sets aside: the results a report reads already carry the set it uses),
- the notebook's parameters,
- a digest of the data the report reads (each builder supplies its own,
  e.g. :func:`fjaaqa.reports.pack_sections.pack_digests` for a pack).

After an output is written its key and the SHA-256 of its HTML and PDF go
into a hidden sidecar ``.<name>.build.json`` beside it. On the next run an
output is skipped only when the sidecar's key matches and the files on disk
still have the recorded hashes, so an output cut short, edited or deleted is
built again. The run's manifest lists every key.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

from ..digests import code_hash, digest, sha256_file
from ..paths import resource
from ..writers import atomic_write


@cache
def _tree_hash(folder: str, skip: str = "") -> str:
    h = hashlib.sha256()
    for p in sorted(Path(folder).rglob("*")):
        if p.is_file() and not (skip and p.relative_to(folder).parts[0] == skip):
            h.update(p.relative_to(folder).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def file_hash(path) -> str:
    """SHA-256 of a file (parameters and inputs that are not in the package's code hash)."""
    return sha256_file(Path(path))


def render_key(notebook: Path, parameters: dict, data_digest: str, reads: tuple[str, ...] = ()) -> str:
    """The key of one rendered output: code, notebook, templates, parameters, the params it reads and its data.

    ``reads`` names files or folders under ``params/`` (the report kind's
    registry entry says which); a threshold set is part of the data digest.
    """
    doc = {"code": code_hash(), "notebook": file_hash(notebook),
           "templates": _tree_hash(str(resource("templates"))),
           "params": {name: params_hash(name) for name in reads},
           "parameters": parameters, "data": data_digest}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:24]


def params_hash(name: str) -> str:
    """Hash of a file or folder under ``params/``."""
    path = resource("params", name)
    return _tree_hash(str(path)) if path.is_dir() else file_hash(path)


def page_key(*parts) -> str:
    """The key of a single file made without a notebook (worklist, FRM workbook): code, templates, params, data."""
    doc = {"code": code_hash(), "templates": _tree_hash(str(resource("templates"))),
           "params": _tree_hash(str(resource("params")), skip="thresholds"), "data": digest(*parts)}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:24]


def file_record(path: Path) -> Path:
    return path.with_name(f".{path.name}.key.json")


def file_fresh(path: Path, key: str) -> bool:
    """True when ``path`` was written with ``key`` and still has the recorded bytes (then skip making it)."""
    try:
        rec = json.loads(file_record(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return rec.get("key") == key and path.is_file() and sha256_file(path) == rec.get("sha256")


def note_file(path: Path, key: str) -> None:
    atomic_write(file_record(path), json.dumps({"key": key, "sha256": sha256_file(path)}, sort_keys=True) + "\n")


def sidecar(html: Path) -> Path:
    return html.with_name(f".{html.stem}.build.json")


def up_to_date(html: Path, key: str, pdf: bool) -> bool:
    """True when ``html`` (and its PDF, when asked for) was built with ``key`` and is intact on disk."""
    if not key:
        return False
    try:
        rec = json.loads(sidecar(html).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if rec.get("key") != key:
        return False
    wanted = [("html", html)] + ([("pdf", html.with_suffix(".pdf"))] if pdf else [])
    return all(rec.get(kind) and path.is_file() and sha256_file(path) == rec[kind] for kind, path in wanted)


def record(html: Path, key: str, pdf: bool) -> None:
    """Note the key and hashes of a finished output (written last, so a cut-short build has none)."""
    if not key:
        return
    rec = {"key": key, "html": sha256_file(html)}
    if pdf:
        rec["pdf"] = sha256_file(html.with_suffix(".pdf"))
    atomic_write(sidecar(html), json.dumps(rec, sort_keys=True) + "\n")


def keys_under(folder: Path, root: Path | None = None) -> dict[str, str]:
    """Every output's build key under ``folder`` (for a manifest), by its path relative to ``root``."""
    keys = {}
    root = Path(root or folder)
    for car in sorted(Path(folder).rglob(".*.build.json")):
        try:
            rec = json.loads(car.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        html = car.with_name(car.name[1:-len(".build.json")] + ".html")
        keys[html.relative_to(root).as_posix()] = rec.get("key", "")
    return keys

