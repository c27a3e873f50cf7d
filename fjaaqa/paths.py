"""Where things are: the package's own resources, the outputs and the caches.

Notebooks, templates and parameter files are edited in the repository's
top-level folders (``notebooks/``, ``templates/``, ``params/``); a wheel
ships copies inside the package (``fjaaqa/resources/``), so an installed
``fjaaqa`` works in any folder without the repository. :func:`resource`
finds them either way, through :mod:`importlib.resources`.

Nothing is ever written inside the install: outputs go to ``./outputs`` of
the current folder unless told otherwise, and caches to ``FJAAQA_CACHE`` or
the user's cache folder.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path

import yaml

from .errors import InputError

RESOURCE_FOLDERS = ("notebooks", "templates", "params")


@lru_cache(maxsize=1)
def source_root() -> Path | None:
    """The repository checkout the package runs from (an editable install), or None when installed."""
    root = Path(__file__).resolve().parent.parent
    return root if all((root / f).is_dir() for f in RESOURCE_FOLDERS) and (root / "pyproject.toml").is_file() else None


@lru_cache(maxsize=1)
def resource_root() -> Path:
    """The folder holding ``notebooks/``, ``templates/`` and ``params/``."""
    shipped = Path(str(resources.files("fjaaqa") / "resources"))
    if shipped.is_dir():
        return shipped
    root = source_root()
    if root is None:
        raise RuntimeError("fjaaqa is installed without its resources (notebooks, templates, params)")
    return root


def resource(*parts: str) -> Path:
    """A notebook, template or parameter file shipped with the package."""
    return resource_root().joinpath(*parts)


@cache
def params_yaml(name: str) -> dict:
    """A parameter file from ``params/`` (read once per process)."""
    return yaml.safe_load(resource("params", name).read_text(encoding="utf-8"))


def default_out() -> Path:
    """Outputs go to ``./outputs`` of the current folder unless ``--out`` says otherwise."""
    return Path.cwd() / "outputs"


def default_data() -> Path:
    """Where ``fjaaqa demo`` writes its synthetic data unless ``--data`` says otherwise."""
    return Path.cwd() / "data" / "synthetic"


def cache_dir(*parts: str) -> Path:
    """The cache folder: ``FJAAQA_CACHE`` when set, else the user's cache folder (never the install)."""
    base = os.environ.get("FJAAQA_CACHE")
    if not base:
        import platformdirs

        base = platformdirs.user_cache_dir("fjaaqa", appauthor=False)
    return Path(base).joinpath(*parts)


# Anything that becomes part of a file name (an agency id, a UKPRN, a threshold-set or report name) is one
# of these: ASCII letters and digits, '.', '_' and '-', starting with a letter or digit. No separator, no
# "..", no control character, so an id read from a file can never move an output elsewhere.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")


def file_name_part(value, what: str) -> str:
    """``value`` as it may appear in a file name, or a one-line InputError saying why it may not."""
    s = str(value)
    if not NAME.fullmatch(s):
        shown = s if len(s) <= 40 else s[:40] + "…"
        raise InputError(f"{what} {shown!r} cannot be part of a file name (use letters, digits, '.', '_' or '-')")
    return s


def inside(out: str | Path, path: str | Path) -> Path:
    """``path``, once it is known to lie under ``out`` with every symbolic link resolved.

    The last check before writing: a name that passed :func:`file_name_part`
    still cannot reach outside ``--out`` through a link planted inside it.
    """
    root, real = Path(out).resolve(), Path(path).resolve()
    if real != root and root not in real.parents:
        raise InputError(f"refusing to write {Path(path).name} outside the output folder (a symbolic link leads "
                         f"to {real.parent})", file=str(out))
    return Path(path)


def output_folder(out: str | Path) -> Path:
    """``--out`` checked before anything is written: a folder (or nothing yet), holding no symbolic link.

    A link anywhere in the output folder could carry a write elsewhere, so
    the run stops with one line naming it rather than decide which links
    are safe.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError("--out names a file, not a folder", file=str(out))
    if out.is_symlink():
        raise InputError("--out is a symbolic link: name the folder it points to", file=str(out))
    for folder, dirs, files in os.walk(out):  # os.walk does not follow links into folders
        for name in dirs + files:
            p = Path(folder) / name
            if p.is_symlink():
                raise InputError(f"{p.relative_to(out)} is a symbolic link: fjaaqa writes nothing through links in "
                                 "the output folder", file=str(out))
    return out


LOCK_NAME = ".fjaaqa.lock"


@contextmanager
def output_lock(out: str | Path):
    """Hold ``--out`` for one run: a second run into the same folder stops with one line instead of interleaving.

    The lock is the operating system's (``flock`` on ``.fjaaqa.lock``), so
    it is released when the process ends, however it ends.
    """
    import fcntl

    out = output_folder(out)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    lock = out / LOCK_NAME
    with open(lock, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError("another fjaaqa run is writing to this folder; run again when it has finished",
                             file=str(out)) from None
        try:
            yield out
        finally:
            if created and [p.name for p in out.iterdir()] == [lock.name]:  # a run that wrote nothing leaves nothing
                lock.unlink()
                out.rmdir()
            fcntl.flock(fh, fcntl.LOCK_UN)
