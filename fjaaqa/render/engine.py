"""The render engine every report kind uses: warm kernels, jobs, a process pool, recycling.

A :class:`RenderJob` is one notebook run with its parameters, the HTML page
it becomes and the words its page carries (title, description, marking);
:mod:`fjaaqa.reports.registry` makes them, so a report kind adds nothing
here. :func:`run_jobs` renders every job whose output is out of date: each
worker keeps one Jupyter kernel warm and reuses it (its namespace reset
between outputs), which is what makes a batch cheap: starting a kernel and
importing pandas costs seconds, a warm run a fraction of one. HTML is
exported in-process and the PDF printed from the same HTML
(:mod:`fjaaqa.render.export`). Every file is written atomically, and the
executed notebook, which may hold learner references, is never kept.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import MethodType

import nbformat

from ..paths import source_root
from ..writers import atomic_write, sweep_temporary
from . import builds
from .export import export_html, write_pdf


@dataclass
class RenderJob:
    """One notebook run to render: its parameters, where the HTML goes, the words on its page."""

    notebook: Path
    parameters: dict
    html: Path
    record: dict  # e.g. {"agency_id": …, "audience": …} or {"ukprn": …}: what the build summary lists
    title: str = ""
    description: str = ""
    marking: str = ""  # who may read it, printed in the footer ("Restricted: learner references")
    run_date: str = ""  # the date printed on the page (a parameter, never today)
    index_href: str = ""  # the page's link back to the run's index.html (relative), when it has one
    key: str = ""  # build key (fjaaqa.render.builds.render_key); an output with an unchanged key is not rebuilt
    private: bool = False  # holds learner identifiers: written readable by its owner only


@dataclass
class BuildSummary:
    """What a batch did: outputs built, failed, and unchanged since an earlier run."""

    built: list[dict] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    unchanged: list[dict] = field(default_factory=list)  # up to date from an earlier run: not rebuilt
    seconds: float = 0.0

    @property
    def present(self) -> list[dict]:
        """Outputs that exist after the run: built now or unchanged since an earlier run."""
        return self.built + self.unchanged


def working_folder() -> Path:
    """Where kernels run: the repository in a checkout (so notebook defaults resolve), else the current folder."""
    return source_root() or Path.cwd()


# ------------------------------------------------------------------ kernels

class Runner:
    """One warm kernel running notebooks (review packs, FRM reports), one after another.

    The kernel manager is the asynchronous one: with it nbclient watches the
    kernel while a cell runs, so a kernel that dies or a cell that overruns
    its time limit ends that output with an error instead of waiting forever
    (with the blocking manager nbclient's wait for output never returned).
    """

    def __init__(self):
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_core.utils import run_sync

        class Manager(AsyncKernelManager):
            """Keeps the clients it hands out, so :meth:`Runner.run` can close each run's one; makes them warm."""

            def client(self, **kwargs):
                kc = super().client(**kwargs)
                kc.wait_for_ready = MethodType(_wait_for_warm_kernel, kc)
                self.opened.append(kc)
                return kc

        self._sync = run_sync
        self.km = Manager(kernel_name="python3", transport="ipc", ip=str(_ipc_dir() / "kernel"))
        self.km.opened = []
        self._sync(self.km.start_kernel)(extra_arguments=["--HistoryManager.enabled=False"])
        self._fresh = True
        self._reset()

    def _reset(self) -> None:
        """Clear the namespace so one pack never sees another's variables.

        The first time (a new kernel) by ``%reset -f``, after which the names
        a fresh namespace holds are noted; every later time by removing the
        names added since (:data:`CLEAR_NAMESPACE`). ``%reset -f`` also runs a
        full garbage collection and rebuilds IPython's aliases, which cost
        0.14 s of a pack's 0.9 s (measured); dropping the names is enough for
        isolation, and imported modules stay warm either way.
        """
        kc = self.km.client()
        kc.start_channels()
        try:
            self._sync(kc.wait_for_ready)(timeout=60)
            run = self._sync(kc.execute_interactive)
            if self._fresh:
                run("%reset -f", timeout=60, store_history=False)
                run(NOTE_NAMESPACE, timeout=60, store_history=False, silent=True)
                self._fresh = False
            else:
                run(CLEAR_NAMESPACE, timeout=60, store_history=False, silent=True)
        finally:
            self._close_clients()

    def alive(self) -> bool:
        return bool(self._sync(self.km.is_alive)())

    def run(self, parameters: dict, notebook: Path, timeout: int | None = None) -> nbformat.NotebookNode:
        import papermill

        if not self.alive():
            self.restart()
        self._reset()
        try:
            return papermill.execute_notebook(str(notebook), None, parameters=parameters, progress_bar=False,
                                              km=self.km, kernel_name="python3", cwd=str(working_folder()),
                                              execution_timeout=timeout)
        finally:
            self._close_clients()

    def _close_clients(self) -> None:
        """Close the client nbclient opened for the run just ended.

        nbclient leaves its client connected when the kernel manager is not its
        own (ours lives on for the next output), and each client holds a ZeroMQ
        context with its threads and sockets: left open, a worker grew by about
        8 MB, 14 file descriptors and 3 threads per output (measured).
        """
        while self.km.opened:
            self.km.opened.pop().stop_channels()

    def restart(self) -> None:
        """A fresh kernel after a failure: a dead one, or one still busy after a timeout, is replaced."""
        self._sync(self.km.restart_kernel)(now=True)
        self._fresh = True
        self._reset()

    def close(self) -> None:
        self._sync(self.km.shutdown_kernel)(now=True)


# Run in the kernel (silently, outside its history): note the names of a freshly reset namespace, then,
# before each later notebook, drop every name added since and the cached cell results (Out).
NOTE_NAMESPACE = "get_ipython()._fjaaqa_names = frozenset(get_ipython().user_ns)"
CLEAR_NAMESPACE = ("(lambda shell: (shell.user_ns['Out'].clear(), [shell.user_ns.pop(name, None) "
                   "for name in set(shell.user_ns) - shell._fjaaqa_names]))(get_ipython())")


async def _wait_for_warm_kernel(kc, timeout: float | None = None) -> None:
    """jupyter_client's ``wait_for_ready``, without its wait for a quiet IOPub channel.

    Once the kernel answers ``kernel_info`` and IOPub is seen to carry its
    status, the kernel is ready. jupyter_client then waits until IOPub has
    been silent for 0.2 s; a pack asked for that twice (the namespace reset
    and nbclient's own client), which on a warm kernel was most of a pack's
    time. Messages left over are told apart by nbclient anyway: each reply
    names the request it answers.
    """
    from queue import Empty

    from jupyter_core.utils import ensure_async

    deadline = time.monotonic() + (60.0 if timeout is None else timeout)
    while True:
        msg_id = kc.kernel_info()
        try:
            reply = await ensure_async(kc.shell_channel.get_msg(timeout=1))
        except Empty:
            reply = None
        if reply is not None and reply["parent_header"].get("msg_id") == msg_id:
            try:  # the kernel's busy/idle status for this request: IOPub is connected
                await ensure_async(kc.iopub_channel.get_msg(timeout=0.2))
                return
            except Empty:
                pass
        if not await ensure_async(kc.is_alive()):
            raise RuntimeError("Kernel died before replying to kernel_info")
        if time.monotonic() > deadline:
            raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")


def _ipc_dir() -> Path:
    """A private folder for the kernel's IPC sockets (no TCP ports: no collisions, no warning)."""
    import tempfile

    return Path(tempfile.mkdtemp(prefix="fjaaqa-kernel-"))


NOTEBOOK_TIMEOUT = 900  # seconds a notebook cell may run before the output is given up as failed
# Outputs one worker process builds before it is replaced by a fresh one. WeasyPrint keeps a little
# memory per PDF (~0.4 MB for a DfE pack) that nothing releases; a new process every hundred outputs
# keeps a long batch's memory flat for ~1 % more time (a process and kernel start in a few seconds).
RECYCLE_AFTER = 100


def _failure(exc: Exception, timeout: int | None) -> str:
    """One line saying why an output failed, in words an analyst can act on."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    if isinstance(exc, DeadKernelError):
        return "the kernel died while running the notebook (it was restarted for the next output)"
    if isinstance(exc, (TimeoutError, CellTimeoutError)):
        return f"the notebook took longer than {timeout} s and was stopped"
    return _one_line(exc)


_PROGRESS_QUEUE = None  # set in each local worker process as it starts (a queue cannot be sent with a task)


def _set_progress_queue(queue) -> None:
    global _PROGRESS_QUEUE
    _PROGRESS_QUEUE = queue


def _build_chunk(jobs: list[RenderJob], pdf: bool, queue=None, timeout: int | None = NOTEBOOK_TIMEOUT) -> list[dict]:
    """Render a list of notebooks with one warm kernel (runs in a worker process).

    Each finished output is also put on ``queue`` (when given) so the parent
    can move its progress bar while workers run.
    """
    done: list[dict] = []

    def finish(rec: dict) -> None:
        done.append(rec)
        q = queue if queue is not None else _PROGRESS_QUEUE
        if q is not None:
            q.put(rec)

    parent = os.getppid()
    runner = Runner()
    try:
        for job in jobs:
            if os.getppid() != parent:  # the batch was killed: stop, rather than build on for nobody
                runner.close()
                os._exit(1)  # nobody is left to take the results
            try:
                nb = runner.run(job.parameters, job.notebook, timeout)
                page = export_html(nb, job.title, job.description, job.marking, job.run_date, job.index_href)
                del nb  # the executed notebook is never kept: it may hold learner references
                rec = {**job.record, "html": job.html}
                if pdf:  # the PDF first: an HTML page is only ever beside a finished PDF
                    rec["pdf"] = write_pdf(page, job.html.with_suffix(".pdf"), job.run_date, job.private)
                else:  # never leave an earlier run's PDF beside a newer page
                    job.html.with_suffix(".pdf").unlink(missing_ok=True)
                atomic_write(job.html, page, job.private)
                builds.record(job.html, job.key, pdf)
            except Exception as exc:  # one output failing never stops the batch
                finish({**job.record, "error": _failure(exc, timeout)})
                try:
                    runner.restart()
                except Exception:  # a kernel that will not come back: a new one
                    runner.close()
                    runner = Runner()
                continue
            finish(rec)
    finally:
        runner.close()
    return done


def _one_line(exc: Exception) -> str:
    """A notebook's own error message (papermill's ``evalue``), else the first line of the exception's."""
    evalue = str(getattr(exc, "evalue", "") or "").strip().splitlines()
    if evalue:
        return evalue[-1][:300]
    text = str(exc).strip().splitlines()
    return (text[0] if text else exc.__class__.__name__)[:300]


def _pieces(jobs: list, workers: int, size: int) -> list[list]:
    """Jobs dealt across ``workers`` stripes, each cut into pieces of at most ``size``.

    Striping keeps the workers' loads even; a piece is what one worker process
    builds before it is replaced. Pieces come out in turn (stripe 1's first,
    stripe 2's first, ...), so every worker starts at once.
    """
    from itertools import zip_longest

    workers, size = max(1, workers), max(1, size)
    cut = [[s[i:i + size] for i in range(0, len(s), size)] for s in (jobs[w::workers] for w in range(workers))]
    return [piece for turn in zip_longest(*cut) for piece in turn if piece]


def run_jobs(jobs: list[RenderJob], pdf: bool, workers: int = 1, progress=None, force: bool = False,
             executor=None, timeout: int | None = NOTEBOOK_TIMEOUT, before_work=None,
             recycle_after: int = RECYCLE_AFTER) -> BuildSummary:
    """Render every job whose output is out of date, over ``workers`` processes with a warm kernel each.

    Each process builds at most ``recycle_after`` outputs and is then replaced
    by a fresh one, so a batch of thousands holds no more memory at its end
    than at its start. A small batch on one worker runs in this process.
    With a Dask ``executor`` (:mod:`fjaaqa.render.executors`) the same pieces run as
    tasks on the cluster's workers instead, each with its own warm kernel;
    progress then moves a piece at a time. (A Dask worker process outlives
    its tasks: ``dask worker --lifetime`` is what renews it.)
    """
    import time

    started = time.perf_counter()
    summary = BuildSummary()
    for folder in {j.html.parent for j in jobs}:  # what an interrupted run left half-written
        if folder.is_dir():
            sweep_temporary(folder)
    if not force:
        fresh = [builds.up_to_date(j.html, j.key, pdf) for j in jobs]
        summary.unchanged = [{**j.record, "html": j.html} for j, ok in zip(jobs, fresh) if ok]
        jobs = [j for j, ok in zip(jobs, fresh) if not ok]
    if jobs and before_work is not None:
        before_work()
    if not jobs:
        return summary
    pieces = _pieces(jobs, workers, recycle_after)
    if executor is not None:  # the same pieces, a fresh kernel for each there too
        def report(chunk: list[dict]) -> None:
            for rec in chunk:
                if progress:
                    progress(rec)

        results = executor.map(_build_chunk, pieces, [pdf] * len(pieces), [None] * len(pieces), [timeout] * len(pieces),
                               progress=report)
        for chunk in results:
            for rec in chunk:
                (summary.failed if "error" in rec else summary.built).append(rec)
        summary.seconds = time.perf_counter() - started
        return summary
    # A plain queue, handed to the workers as they start: no manager process, which a killed run would orphan.
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    if workers <= 1 and len(jobs) <= recycle_after:
        import threading

        results: list[list[dict]] = []
        worker = threading.Thread(target=lambda: results.append(_build_chunk(jobs, pdf, queue, timeout)))
        worker.start()
        _drain(queue, len(jobs), progress, lambda: not worker.is_alive())
        worker.join()
    else:
        # One piece per process (max_tasks_per_child=1): a fresh process, and kernel, for each piece.
        # Exactly 1: a larger limit can hang Python 3.11-3.13's pool (CPython gh-115634).
        with ProcessPoolExecutor(max_workers=min(max(1, workers), len(pieces)), mp_context=ctx,
                                 initializer=_set_progress_queue, initargs=(queue,), max_tasks_per_child=1) as pool:
            futures = [pool.submit(_build_chunk, c, pdf, None, timeout) for c in pieces]
            _drain(queue, len(jobs), progress, lambda: all(f.done() for f in futures))
            results = [f.result() for f in futures]
    for chunk in results:
        for rec in chunk:
            (summary.failed if "error" in rec else summary.built).append(rec)
    summary.seconds = time.perf_counter() - started
    return summary


def _drain(queue, expected: int, progress, finished) -> None:
    """Report packs as workers finish them, until all are reported or the workers stop."""
    import queue as queue_mod

    seen = 0
    while seen < expected:
        try:
            rec = queue.get(timeout=0.5)
        except queue_mod.Empty:
            if finished():
                break
            continue
        seen += 1
        if progress:
            progress(rec)
