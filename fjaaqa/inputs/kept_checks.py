"""A file's check outcome, kept under a hash of what decides it, so the next command to open the file skips the checks.

Checking every row is most of the SQL loader's work on a large file. Which
rows fail which check depends only on the file's bytes, where it sits in
DATA, how it was read, the table's declared checks and the code. So the
outcome (the failing rows with their flags, and the checks those flags
stand for) is kept under a hash of exactly those, in ``<cache>/checks/``.
A command opening a file an earlier command checked (FRM at R14 after R06,
the indicators after FRM, a policy team trying thresholds) reads the outcome
instead of working it out. The rows the outcome names are rejected as
before: the rejected rows, the reconciliation and the views are the same.

Kept as Parquet and JSON, never pickled: a cache folder may be shared.
A damaged entry is worked out again, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import pandas as pd

from ..digests import code_hash
from ..paths import cache_dir


def default_folder() -> Path:
    """Where commands keep check outcomes: ``<cache>/checks`` (``FJAAQA_CACHE``, else the user's cache folder)."""
    return cache_dir("checks")


def outcome_key(*parts) -> str:
    """The key of one file's outcome: the code and every part that decides it (text, lists, numbers)."""
    doc = json.dumps([code_hash(), *parts], sort_keys=True, default=str)
    return hashlib.sha256(doc.encode()).hexdigest()[:32]


def read(folder: Path, key: str) -> tuple[pd.DataFrame, list[dict]] | None:
    """The failing rows and the checks of a kept outcome, or None when there is none (or it is damaged)."""
    meta, rows = folder / f"{key}.json", folder / f"{key}.parquet"
    if not meta.is_file():
        return None
    try:
        checks = json.loads(meta.read_text(encoding="utf-8"))["checks"]
        bad = pd.read_parquet(rows)
    except (OSError, ValueError, KeyError):
        return None
    return bad, checks


def write(folder: Path, key: str, bad: pd.DataFrame, checks: list[dict]) -> None:
    """Keep an outcome: the rows first, then the JSON that says it is whole (each file replaced in one step).

    Keeping only saves time: a folder that cannot be written (read-only, full) keeps nothing, and the checks
    are worked out again next time.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _replace(folder / f"{key}.parquet", lambda p: bad.reset_index(drop=True).to_parquet(p, index=False))
        _replace(folder / f"{key}.json", lambda p: Path(p).write_text(json.dumps({"checks": checks}), encoding="utf-8"))
    except OSError:
        return


def _replace(target: Path, write_to) -> None:
    """Write through a temporary file in the same folder, then rename: a reader sees the old file or the new."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
    os.close(fd)
    try:
        write_to(tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
