"""Benchmark: the cost of each step from data to pack (run with ``make bench``).

Prints the median of a few repeats for: generating the synthetic data,
loading it, computing all agencies' indicators, reading the results cache,
the pack sections in-process, one pack through a warm kernel, the HTML
export and the PDF. Not a test: timings are for the changelog and notes.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from _timing import timed


def main() -> None:
    t = time.perf_counter()
    import fjaaqa.quality.results  # noqa: F401  (pandas, pandera, pydantic)

    print(f"import fjaaqa.quality.results        {time.perf_counter() - t:7.3f} s")
    from fjaaqa.inputs.sources import load_dataset
    from fjaaqa.periods import make_period
    from fjaaqa.quality.results import compute
    from fjaaqa.quality.thresholds import load_thresholds
    from fjaaqa.render.engine import Runner
    from fjaaqa.render.export import export_html, write_pdf
    from fjaaqa.reports import pack_sections as sections
    from fjaaqa.reports.registry import job
    from fjaaqa.store.results import load_or_compute
    from fjaaqa.synth.demo import write_dataset

    work = Path(tempfile.mkdtemp(prefix="fjaaqa-bench-"))
    data = work / "data"
    s, _ = timed(lambda: write_dataset(data), 1)
    print(f"synth (30 agencies)          {s:7.3f} s")
    s, ds = timed(lambda: load_dataset(data))
    print(f"load + validate all returns  {s:7.3f} s  ({int(ds.reconciliation['rows_read'].sum())} rows)")
    t_set = load_thresholds()
    period = make_period("2324", "R14")
    s, res = timed(lambda: compute(ds, period, t_set))
    print(f"compute all agencies         {s:7.3f} s  ({len(res.results)} records)")
    cache = work / "cache"
    s, pr = timed(lambda: load_or_compute(data, "2324", "R14", results_dir=cache), 1)
    print(f"load_or_compute (cold)       {s:7.3f} s")
    s, pr = timed(lambda: load_or_compute(data, "2324", "R14", results_dir=cache))
    print(f"load_or_compute (cached)     {s:7.3f} s")
    agency = pr.agencies["agency_id"].iloc[0]
    s, _ = timed(lambda: sections.pack(pr, agency, "dfe", "2024-07-31"))
    print(f"sections, one pack           {s:7.3f} s  (5 charts included)")
    t = time.perf_counter()
    runner = Runner()
    print(f"kernel start                 {time.perf_counter() - t:7.3f} s")
    params = {"agency_id": agency, "year": "2324", "return_code": "R14", "data_dir": str(data),
              "audience": "dfe", "results_dir": str(cache)}
    try:
        pack = job("pack", params, work / "p.html", {}, "")
        s, nb = timed(lambda: runner.run(params, pack.notebook))
        print(f"notebook, warm kernel        {s:7.3f} s")
    finally:
        runner.close()
    s, page = timed(lambda: export_html(nb, pack.title, pack.description, pack.marking, pack.run_date,
                                                pack.index_href))
    print(f"HTML export                  {s:7.3f} s  ({len(page) // 1024} KB)")
    s, _ = timed(lambda: write_pdf(page, work / "p.pdf", pack.run_date))
    print(f"PDF (WeasyPrint)             {s:7.3f} s")


if __name__ == "__main__":
    sys.exit(main())
