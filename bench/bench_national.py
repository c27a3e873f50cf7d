"""Benchmark: FRM at national scale, and how time and memory grow with the data (``make bench``).

For each scale (1x = 63 copies of the synthetic FRM return, about 315,000
aims in 2022-23 R14; 4x; 16x = 1,000 copies, 5 million aims from about 2,000
providers):

- writes the national dataset as Parquet (``synth --scale national``; not timed against the goal),
- a bare DuckDB scan of every column of every Parquet table (the yardstick),
- the split by ULN with DuckDB (``partition``), one part per 63 copies,
- every FRM rule on every part, spread over one worker per core (load,
  validation, rules, change since R06), and the results joined,
- the peak resident memory of the split (its own process) and of the FRM
  run (this process plus its workers); the larger is the run's peak.

Usage: ``python bench/bench_national.py [COPIES ...]`` (default 63 250 1000). Not a test.
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from pathlib import Path

COPIES_PER_PART = 63


def bare_scan(data: Path) -> float:
    """Read and decode every column of every Parquet table once (DuckDB, all cores)."""
    import duckdb

    con = duckdb.connect()
    started = time.perf_counter()
    for f in sorted(data.rglob("*.parquet")):
        cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{f.as_posix()}')").fetchall()]
        agg = ", ".join(f'max(length("{c}"))' for c in cols)
        con.execute(f"SELECT count(*), {agg} FROM read_parquet('{f.as_posix()}')").fetchall()
    return time.perf_counter() - started


def fresh(fn, *args):
    """Run ``fn`` in a fresh Python process; (its result, its peak memory in MB)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_with_peak, fn, *args).result()


def _with_peak(fn, *args):
    from fjaaqa.frm.partitioned import peak_rss_mb

    out = fn(*args)
    return out, peak_rss_mb()


def one_scale(copies: int, tmp: Path) -> dict:
    from fjaaqa.frm import partitioned as national
    from fjaaqa.render.executors import LocalExecutor, default_workers
    from fjaaqa.synth.national import write_national

    data, parts_dir = tmp / f"data{copies}", tmp / f"parts{copies}"
    t0 = time.perf_counter()
    info, _ = fresh(write_national, data, copies)
    t_write = time.perf_counter() - t0
    t_scan = min(bare_scan(data) for _ in range(3))
    parts = max(1, math.ceil(copies / COPIES_PER_PART))
    t0 = time.perf_counter()
    _, split_peak = fresh(national.partition_dataset, data, parts_dir, parts)
    t_split = time.perf_counter() - t0
    workers = default_workers()
    t0 = time.perf_counter()
    flags, resolved, status, results = national.run_partitioned(parts_dir, "2223", "R14", LocalExecutor(workers))
    t_frm = time.perf_counter() - t0
    worker_peak = max(r.peak_rss_mb for r in results)
    own_peak = national.peak_rss_mb()  # this process: the scan, the joined results
    return {"copies": copies, "aims": info["aims"], "providers": status["UKPRN"].nunique(), "parts": parts,
            "workers": workers, "write": t_write, "scan": t_scan, "split": t_split, "frm": t_frm,
            "flags": len(flags), "worker_peak_mb": worker_peak, "split_peak_mb": split_peak,
            "peak_total_mb": max(split_peak, own_peak + min(workers, parts) * worker_peak)}


def main() -> None:
    scales = [int(a) for a in sys.argv[1:]] or [63, 250, 1000]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for copies in scales:
            rows.append(one_scale(copies, Path(tmp)))
            r = rows[-1]
            print(f"  {copies} copies done: {r['aims']:,} aims, split {r['split']:.1f}s + FRM {r['frm']:.1f}s",
                  flush=True)
            for p in Path(tmp).iterdir():  # keep the disk small between scales
                import shutil

                shutil.rmtree(p, ignore_errors=True)
    base = rows[0]
    print("FRM at national scale: ingest (split by ULN) and every rule, against a bare DuckDB scan")
    print(f"{'scale':>6} {'aims':>10} {'providers':>9} {'parts':>5} {'scan s':>7} {'split s':>7} {'FRM s':>7} "
          f"{'x scan':>7} {'s/M aims':>8} {'split MB':>8} {'worker MB':>9} {'peak MB':>8}")
    for r in rows:
        total = r["split"] + r["frm"]
        print(f"{r['copies'] / base['copies']:>5.0f}x {r['aims']:>10,} {r['providers']:>9,} {r['parts']:>5} "
              f"{r['scan']:>7.2f} {r['split']:>7.1f} {r['frm']:>7.1f} {total / r['scan']:>7.0f} "
              f"{total / r['aims'] * 1e6:>8.1f} {r['split_peak_mb']:>8,.0f} {r['worker_peak_mb']:>9,.0f} "
              f"{r['peak_total_mb']:>8,.0f}")
    big = rows[-1]
    total = big["split"] + big["frm"]
    growth = (total / big["aims"]) / ((base["split"] + base["frm"]) / base["aims"])
    mem = big["peak_total_mb"]
    print(f"largest: {big['aims']:,} aims at {big['providers']:,} providers, {big['flags']:,} flagged rows, "
          f"{big['workers']} workers; writing the Parquet dataset took {big['write']:.0f}s")
    print(f"{'ingest + every FRM rule / bare scan':<52}{total / big['scan']:>10.0f}x   goal <= 10x  "
          f"{'MET' if total / big['scan'] <= 10 else 'MISSED'}")
    print(f"{'peak memory (split, or FRM with its workers)':<52}{mem / 1024:>9.2f} GB   goal < 4 GB  "
          f"{'MET' if mem < 4096 else 'MISSED'}")
    print(f"{'time per aim, largest against smallest':<52}{growth:>10.2f}x   goal: linear (about 1x)  "
          f"{'MET' if growth <= 1.25 else 'MISSED'}")


if __name__ == "__main__":
    main()
