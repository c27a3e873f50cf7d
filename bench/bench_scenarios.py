"""Benchmark: threshold scenarios from stored measurements (run with ``make bench``).

Target (issue 8): a full sweep of one threshold over 100 values takes under
a second for 30 agencies. Prints the classification of all agencies under
one set, a share-threshold sweep and a day-threshold sweep (which re-counts
the day bands from stored day counts), each the median of three runs.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from _timing import timed


def main() -> None:
    import os

    from fjaaqa.quality import scenarios
    from fjaaqa.quality.thresholds import load_thresholds
    from fjaaqa.store.results import load_or_compute
    from fjaaqa.synth.demo import write_dataset

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["FJAAQA_CACHE"] = str(Path(tmp) / "cache")
        data = Path(tmp) / "data"
        write_dataset(data, agencies=30)
        t = load_thresholds()
        pr = load_or_compute(data, "2324", "R14", t)
        n = len(pr.agencies)
        s, _ = timed(lambda: scenarios.classify(pr, load_thresholds("atpaf-2024-04")))
        print(f"classify {n} agencies, one set           {s:7.3f} s")
        s, sw = timed(lambda: scenarios.sweep(pr, t, "withdrawals", "at_risk_above", range(0, 101)))
        print(f"sweep withdrawals at risk, 101 values  {s:7.3f} s   goal < 1 s  ({len(sw)} valid values)")
        s, sw = timed(lambda: scenarios.sweep(pr, t, "breaks_in_learning", "at_risk_days", range(180, 731, 5)))
        print(f"sweep breaks at-risk days, 111 values  {s:7.3f} s   goal < 1 s  ({len(sw)} valid values)")


if __name__ == "__main__":
    main()
