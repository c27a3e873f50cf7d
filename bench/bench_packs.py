"""Benchmark: review packs (HTML + PDF), ours against the floor and the naive way (``make bench``).

Three ways to make every pack of the demo (both versions of each synthetic
agency's pack), side by side in one run on this machine, each with the same
number of workers:

- **ours**: ``build_packs`` (warm kernel per worker, in-process export and
  PDF), start-up included: kernels, imports, reading the results cache.
- **floor**: the same sections rendered by plain Python (``sections.pack``
  into a page, then WeasyPrint), no kernel and no notebook, start-up included.
- **naive**: per pack the ``papermill`` command, then ``jupyter nbconvert
  --to html --no-input``, then the ``weasyprint`` command (a sample of packs;
  it is slow).

Also: the results computed once for all agencies (``load_or_compute``), a
second build with nothing changed (incremental), and WeasyPrint alone.
Usage: ``python bench/bench_packs.py [AGENCIES] [NAIVE_SAMPLE]``. Not a test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

BIN = Path(sys.executable).parent
YEAR, RETURN = "2324", "R14"


def floor_chunk(data: str, agencies: list[str], out: str) -> float:
    """Render packs as plain Python in one process (started fresh: imports included)."""
    from fjaaqa.render.export import css, write_pdf
    from fjaaqa.reports.pack_sections import pack
    from fjaaqa.store.results import load_or_compute

    pr = load_or_compute(data, YEAR, RETURN)
    for a, audience in (x.split("/") for x in agencies):
        main = "\n".join(pack(pr, a, audience, pr.meta["census"]))
        page = (f'<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8"><title>Quality review pack: {a}'
                f'</title><style>{css()}</style></head><body><main id="main" class="page">{main}</main></body></html>')
        (Path(out) / f"{a}-{audience}.html").write_text(page)
        write_pdf(page, Path(out) / f"{a}-{audience}.pdf", pr.meta["census"])
    return 0.0


def pdf_pages(data: bytes) -> int:
    """Pages in a PDF: the page tree's /Count (object streams decompressed)."""
    import re
    import zlib

    parts = [data]
    for m in re.finditer(rb"stream\r?\n", data):
        try:
            parts.append(zlib.decompress(data[m.end():data.find(b"endstream", m.end())]))
        except zlib.error:
            continue
    return int(re.search(rb"/Type\s*/Pages\s*/Kids\s*\[[^\]]*\]\s*/Count\s+(\d+)", b"\n".join(parts)).group(1))


def floor(data: Path, agencies: list[str], workers: int, out: Path) -> float:
    import multiprocessing

    started = time.perf_counter()
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        list(pool.map(floor_chunk, [str(data)] * workers, [agencies[i::workers] for i in range(workers)],
                      [str(out)] * workers))
    return time.perf_counter() - started


def naive_one(data: Path, agency: str, out: Path) -> None:
    from fjaaqa.render.engine import working_folder
    from fjaaqa.reports.registry import REGISTRY

    NOTEBOOK = REGISTRY["pack"].notebook_path()
    nb = out / f"{agency}.ipynb"
    params = {"agency_id": agency, "year": YEAR, "return_code": RETURN, "data_dir": str(data), "audience": "dfe"}
    args = [str(BIN / "papermill"), str(NOTEBOOK), str(nb), "--cwd", str(working_folder()), "--no-progress-bar"]
    for k, v in params.items():
        args += ["-r", k, v]  # raw strings: papermill would read 2324 as a number
    subprocess.run(args, check=True, capture_output=True)
    subprocess.run([str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(nb)], check=True,
                   capture_output=True)
    subprocess.run([str(BIN / "weasyprint"), str(nb.with_suffix(".html")), str(nb.with_suffix(".pdf"))], check=True,
                   capture_output=True)


def naive(data: Path, agencies: list[str], workers: int, out: Path) -> float:
    from concurrent.futures import ThreadPoolExecutor

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda a: naive_one(data, a, out), agencies))
    return time.perf_counter() - started


def line(label: str, value: str, goal: str = "", met: bool | None = None) -> None:
    verdict = "" if met is None else ("  MET" if met else "  MISSED")
    print(f"{label:<52}{value:>14}   {goal}{verdict}")


def main() -> None:
    from fjaaqa.render.executors import default_workers
    from fjaaqa.render.export import write_pdf
    from fjaaqa.reports.pack import build_packs
    from fjaaqa.store.results import load_or_compute
    from fjaaqa.synth.demo import write_dataset

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    sample = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    workers = default_workers()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.environ["FJAAQA_CACHE"] = str(tmp / "cache")  # the kernels read the same cache
        data = tmp / "data"
        write_dataset(data, agencies=n)
        t0 = time.perf_counter()
        pr = load_or_compute(data, YEAR, RETURN)
        t_compute = time.perf_counter() - t0
        agencies = list(pr.agencies["agency_id"])

        out = tmp / "ours"
        s = build_packs(data, YEAR, RETURN, agencies, ["dfe", "agency"], "quality-framework-2023", out, pdf=True,
                        workers=workers, force=True)
        t_ours, packs = s.seconds, len(s.built)
        print(f"  ours: {t_ours:.1f} s for {packs} packs", flush=True)
        t0 = time.perf_counter()
        again = build_packs(data, YEAR, RETURN, agencies, ["dfe", "agency"], "quality-framework-2023", out,
                            pdf=True, workers=workers)
        t_again = time.perf_counter() - t0

        (tmp / "floor").mkdir()
        t_floor = floor(data, [f"{a}/{aud}" for aud in ("dfe", "agency") for a in agencies], workers, tmp / "floor")
        print(f"  floor: {t_floor:.1f} s", flush=True)
        (tmp / "naive").mkdir()
        t_naive = naive(data, agencies[:sample], workers, tmp / "naive")

        htmls = [(out / YEAR / RETURN / "packs" / "dfe" / f"{a}.html").read_text() for a in agencies[:5]]
        t0 = time.perf_counter()
        for page in htmls:
            write_pdf(page, tmp / "x.pdf", "2024-07-31")
        t_pdf = (time.perf_counter() - t0) / len(htmls)
        pages = sum(pdf_pages((out / YEAR / RETURN / "packs" / aud / f"{a}.pdf").read_bytes())
                    for aud in ("dfe", "agency") for a in agencies)

    per, per_floor, per_naive = t_ours / packs, t_floor / packs, t_naive / sample
    print(f"Review packs, both versions, {n} synthetic agencies ({packs} packs, {pages} A4 pages), HTML + PDF, "
          f"{workers} worker(s) each way")
    line("results for all agencies, computed once", f"{t_compute:.2f} s")
    line("ours: build_packs, start-up included", f"{t_ours:.1f} s")
    line("ours, per pack (wall)", f"{per:.2f} s", "goal <= 0.60 s", per <= 0.60)
    line("floor: plain Python sections + WeasyPrint", f"{t_floor:.1f} s")
    line("floor, per pack (wall)", f"{per_floor:.2f} s")
    line("ours / floor", f"{per / per_floor:.2f}x", "goal <= 2x", per / per_floor <= 2)
    line(f"naive: papermill + nbconvert + weasyprint ({sample} packs)", f"{t_naive:.1f} s")
    line("naive, per pack (wall)", f"{per_naive:.2f} s")
    line("naive / ours", f"{per_naive / per:.2f}x", "goal >= 6x", per_naive / per >= 6)
    line("A4 pages per pack, on average", f"{pages / packs:.1f}")
    line("WeasyPrint alone, one DfE pack (one process)", f"{t_pdf:.2f} s")
    line("second build, nothing changed", f"{t_again:.2f} s",
         f"{len(again.unchanged)} unchanged, {len(again.built)} built")


if __name__ == "__main__":
    main()
