"""Hashes: of files, of the package's own code, and of the data a report reads.

Caches and incremental builds are keyed by these, so a change to an input,
a parameter or the code makes a fresh result, and nothing else does.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from . import __version__

PACKAGE = Path(__file__).resolve().parent


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file, read in chunks (inputs may be large)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@lru_cache(maxsize=1)
def code_hash() -> str:
    """Hash of the package's own code and reference data: a code change invalidates caches.

    The shipped resources (notebooks, templates, params) are left out: build
    keys hash those themselves, each where it matters.
    """
    h = hashlib.sha256(__version__.encode())
    for p in sorted(PACKAGE.rglob("*")):
        rel = p.relative_to(PACKAGE)
        if p.is_file() and p.suffix in {".py", ".csv", ".yaml"} and rel.parts[0] != "resources":
            h.update(rel.as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


def digest(*parts) -> str:
    """A short hash of data frames, dicts and strings (the data a report reads)."""
    import pandas as pd

    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, pd.DataFrame):  # column names and dtypes, then a row-wise hash of the values
            h.update(json.dumps([[str(c), str(t)] for c, t in part.dtypes.items()]).encode())
            h.update(pd.util.hash_pandas_object(part, index=False).to_numpy().tobytes())
        else:
            h.update(json.dumps(part, sort_keys=True, default=str).encode())
        h.update(b"\x00")
    return h.hexdigest()[:24]
