"""Benchmark: load. Review packs for 300 agencies and FRM reports for 2,000 providers in one batch,
with the resident memory of every process sampled across the batch (``make bench-load``).

Two phases, one after the other in one run, as a national round would go:

1. **packs**: a synthetic register of 300 agencies (``synth``), the results
   computed once, then every agency's DfE pack (HTML + PDF) with one warm
   kernel per worker (``build_packs``);
2. **FRM**: a national-size return (1,000 renumbered copies of the synthetic
   FRM return: 5 million aims, about 2,000 providers), split by ULN and run
   part by part (as ``frm --partitions``), then a report (HTML + PDF) and a
   workbook for *every* provider, those with no query too (``build_frm_reports``).

A sampler thread reads the resident memory (RSS) of this process and of all
its descendants (the pool's workers and their kernels) twice a second, with
the number of outputs finished so far. For each phase it prints the memory
of the worker and kernel processes at each quarter of the batch and the
growth per 100 outputs after the first tenth (a least-squares line):
*flat* means the last quarter's peak is within 5 % of the second quarter's.

Usage: ``python bench/bench_load.py [AGENCIES] [COPIES] [OUT_JSON]``
(default 300 1000; about 100 minutes on 2 cores). Not a test.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

YEAR, RETURN = "2324", "R14"
PARTS_PER_COPIES = 63  # one part per 63 copies, as bench_national


class Sampler:
    """RSS of this process tree, sampled in a thread, tagged with the outputs finished so far."""

    def __init__(self, every: float = 0.5):
        self.every, self.done, self.samples = every, 0, []
        self.phase = ""
        self.checkpoint: Path | None = None  # where a partial summary goes while a phase runs
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def tick(self, _rec=None) -> None:
        """The progress callback: one more output finished (every 100, the memory so far is written down)."""
        self.done += 1
        if self.checkpoint and self.done % 100 == 0:
            self.checkpoint.write_text(json.dumps({"phase": self.phase, "done": self.done,
                                                   "memory": summarise(self.samples, self.phase, self.done)},
                                                  indent=2) + "\n")

    def begin(self, phase: str) -> None:
        self.phase, self.done = phase, 0

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            procs = {}
            for p in [me] + me.children(recursive=True):
                try:
                    cmd = " ".join(p.cmdline())
                    kind = ("main" if p.pid == me.pid else "kernel" if "ipykernel" in cmd
                            else "worker" if "spawn_main" in cmd else "helper")  # helper: pool manager, tracker
                    procs[p.pid] = (kind, p.memory_info().rss / 2**20)
                except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                    continue
            self.samples.append({"phase": self.phase, "t": time.perf_counter(), "done": self.done, "procs": procs})
            self._stop.wait(self.every)


def summarise(samples: list[dict], phase: str, total: int) -> dict:
    """Per kind of process (worker, kernel): the summed RSS at each quarter of the batch, growth and verdict."""
    rows = [s for s in samples if s["phase"] == phase and s["done"] < total]
    out = {}
    for kind in ("worker", "kernel", "helper"):
        series = [(s["done"], sum(mb for k, mb in s["procs"].values() if k == kind)) for s in rows]
        series = [(d, mb) for d, mb in series if mb > 0]
        if not series:
            continue

        def peak(lo: float, hi: float) -> float:
            vals = [mb for d, mb in series if lo * total <= d < hi * total]
            return max(vals) if vals else float("nan")

        quarters = [peak(q / 4, (q + 1) / 4) for q in range(4)]
        tail = [(d, mb) for d, mb in series if d >= total / 10]
        slope = _slope(tail) * 100 if len(tail) > 2 else float("nan")
        out[kind] = {"quarter_peaks_mb": [round(q, 1) for q in quarters], "per_100_outputs_mb": round(slope, 2),
                     "flat": quarters[3] <= quarters[1] * 1.05, "processes": _count(rows, kind)}
    return out


def _slope(points: list[tuple[float, float]]) -> float:
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0


def _count(rows: list[dict], kind: str) -> int:
    return len({pid for s in rows for pid, (k, _) in s["procs"].items() if k == kind})


def packs_phase(tmp: Path, agencies: int, sampler: Sampler) -> dict:
    from fjaaqa.render.executors import default_workers
    from fjaaqa.reports.pack import build_packs
    from fjaaqa.store.results import load_or_compute
    from fjaaqa.synth.demo import write_dataset

    data = tmp / "packs-data"
    t0 = time.perf_counter()
    write_dataset(data, agencies=agencies)
    t_synth = time.perf_counter() - t0
    t0 = time.perf_counter()
    pr = load_or_compute(data, YEAR, RETURN)
    t_compute = time.perf_counter() - t0
    ids = list(pr.agencies["agency_id"])
    del pr
    sampler.begin("packs")
    s = build_packs(data, YEAR, RETURN, ids, ["dfe"], "quality-framework-2023", tmp / "out", pdf=True,
                    workers=default_workers(), force=True, progress=sampler.tick)
    return {"agencies": len(ids), "synth_s": t_synth, "compute_s": t_compute, "built": len(s.built),
            "failed": len(s.failed), "seconds": s.seconds}


def frm_phase(tmp: Path, copies: int, sampler: Sampler) -> dict:
    import math

    from fjaaqa.frm import partitioned as national
    from fjaaqa.periods import make_period
    from fjaaqa.render.executors import LocalExecutor, default_workers
    from fjaaqa.reports.frm import build_frm_reports
    from fjaaqa.store.frm_runs import store
    from fjaaqa.synth.national import write_national

    period = make_period("2223", "R14")
    data, parts_dir = tmp / "national", tmp / "parts"
    sampler.begin("national-data")
    t0 = time.perf_counter()
    info = write_national(data, copies)
    t_write = time.perf_counter() - t0
    sampler.begin("national-frm")
    t0 = time.perf_counter()
    national.partition_dataset(data, parts_dir, max(1, math.ceil(copies / PARTS_PER_COPIES)))
    _, _, _, parts = national.run_partitioned(parts_dir, "2223", "R14", LocalExecutor(default_workers()))
    joined = national.as_frm_result(parts, period)
    store(data, joined)
    t_frm = time.perf_counter() - t0
    ukprns = sorted(set(joined.status["UKPRN"]))
    with_query = len(set(joined.flags["UKPRN"]) | set(joined.resolved["UKPRN"]))
    del joined, parts
    sampler.begin("frm")
    _, s = build_frm_reports(data, "2223", "R14", ukprns, tmp / "out", pdf=True, workers=default_workers(),
                             progress=sampler.tick, force=True)
    return {"aims": info["aims"], "providers": len(ukprns), "with_query": with_query, "write_s": t_write,
            "frm_s": t_frm, "built": len(s.built), "failed": len(s.failed), "seconds": s.seconds}


def _show(phase: str, kinds: dict) -> None:
    for kind, m in kinds.items():
        q = " / ".join(f"{x:,.0f}" for x in m["quarter_peaks_mb"])
        print(f"  {phase:<6}{kind:<7} ({m['processes']} processes) peak RSS by quarter of the batch: {q} MB; "
              f"{m['per_100_outputs_mb']:+.1f} MB per 100 outputs  {'FLAT' if m['flat'] else 'GROWING'}", flush=True)


def main() -> None:
    agencies = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    copies = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    report = Path(sys.argv[3]) if len(sys.argv) > 3 else None
    sampler = Sampler().start()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.environ["FJAAQA_CACHE"] = str(tmp / "cache")  # the kernels read the same cache
        if report:
            sampler.checkpoint = report.with_suffix(".partial.json")
        packs = packs_phase(tmp, agencies, sampler)
        print(f"  packs: {packs['built']} built in {packs['seconds']:.0f} s", flush=True)
        _show("packs", summarise(sampler.samples, "packs", packs["built"] + packs["failed"]))
        frm = frm_phase(tmp, copies, sampler)
        print(f"  FRM reports: {frm['built']} built in {frm['seconds']:.0f} s", flush=True)
    sampler.stop()
    total = time.perf_counter() - started
    mem = {"packs": summarise(sampler.samples, "packs", packs["built"] + packs["failed"]),
           "frm": summarise(sampler.samples, "frm", frm["built"] + frm["failed"])}
    peak_tree = max(sum(mb for _, mb in s["procs"].values()) for s in sampler.samples)

    print(f"Load: one batch on {psutil.cpu_count()} cores, {total / 60:.1f} min in all")
    print(f"  packs: {packs['agencies']} agencies, DfE pack HTML + PDF: {packs['built']} built, {packs['failed']} "
          f"failed, {packs['seconds']:.0f} s ({packs['seconds'] / max(1, packs['built']):.2f} s a pack); "
          f"synth {packs['synth_s']:.0f} s, results {packs['compute_s']:.0f} s")
    print(f"  FRM: {frm['aims']:,} aims, {frm['providers']:,} providers ({frm['with_query']:,} with a query): "
          f"data {frm['write_s']:.0f} s, run by parts {frm['frm_s']:.0f} s; reports HTML + PDF + workbook: "
          f"{frm['built']} built, {frm['failed']} failed, {frm['seconds']:.0f} s "
          f"({frm['seconds'] / max(1, frm['built']):.2f} s a provider)")
    for phase, kinds in mem.items():
        _show(phase, kinds)
    print(f"  whole process tree, peak RSS: {peak_tree:,.0f} MB")
    if report:
        report.write_text(json.dumps({"packs": packs, "frm": frm, "memory": mem, "peak_tree_mb": peak_tree,
                                      "minutes": total / 60}, indent=2) + "\n")


if __name__ == "__main__":
    main()
