"""Where a batch's pieces run: a local process pool (the default) or a Dask distributed cluster.

Both offer one call, ``map(fn, *iterables, progress=None)``, returning
results in input order. ``--executor dask://HOST:PORT`` connects to a
running scheduler (start one with ``dask scheduler`` and workers with
``dask worker HOST:PORT`` on each machine; every worker needs this package
installed and the data at the same path). A failure on a worker is raised
here like a local one.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed

from ..errors import InputError


def default_workers() -> int:
    """Cores available to this process (respecting CPU affinity, e.g. in a container)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class LocalExecutor:
    """A pool of fresh Python processes on this machine (spawned: no state shared with the parent)."""

    def __init__(self, workers: int | None = None):
        self.workers = workers or default_workers()

    def map(self, fn, *iterables, progress=None) -> list:
        args = list(zip(*iterables))
        if self.workers == 1 or len(args) <= 1:
            out = []
            for a in args:
                out.append(fn(*a))
                if progress:
                    progress(out[-1])
            return out
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(self.workers, len(args)), mp_context=ctx) as pool:
            futures = {pool.submit(fn, *a): i for i, a in enumerate(args)}
            out = [None] * len(args)
            for f in as_completed(futures):
                out[futures[f]] = f.result()
                if progress:
                    progress(out[futures[f]])
        return out

    def close(self) -> None:
        pass


class DaskExecutor:
    """Pieces submitted to a Dask distributed scheduler (``dask://HOST:PORT`` or a Client)."""

    def __init__(self, address_or_client):
        from distributed import Client

        self.client = (address_or_client if isinstance(address_or_client, Client)
                       else Client(address_or_client, timeout="10s"))
        self._own = not isinstance(address_or_client, Client)

    def map(self, fn, *iterables, progress=None) -> list:
        from distributed import as_completed as dask_completed

        args = list(zip(*iterables))
        futures = [self.client.submit(fn, *a, pure=False) for a in args]
        index = {f.key: i for i, f in enumerate(futures)}
        out = [None] * len(args)
        for f in dask_completed(futures):
            out[index[f.key]] = f.result()
            if progress:
                progress(out[index[f.key]])
        return out

    def close(self) -> None:
        if self._own:
            self.client.close()


def check_executor(spec: str | None) -> str:
    """The spec, tidied, if it names an executor we know; checked before any work so a typo never waits on a cache."""
    spec = (spec or "local").strip()
    if spec == "local" or spec.startswith("dask://"):
        return spec
    raise InputError(f"--executor must be 'local' or 'dask://HOST:PORT', not '{spec}'")


def make_executor(spec: str, workers: int | None = None):
    """``local`` (default) or ``dask://HOST:PORT``; anything else is a one-line error."""
    spec = check_executor(spec)
    if spec == "local":
        return LocalExecutor(workers)
    if spec.startswith("dask://"):
        address = "tcp://" + spec[len("dask://"):]
        try:
            return DaskExecutor(address)
        except ImportError as exc:
            raise InputError(f"--executor {spec}: Dask is not installed ({exc})") from exc
        except OSError as exc:
            raise InputError(f"--executor {spec}: cannot reach the Dask scheduler ({exc})") from exc
