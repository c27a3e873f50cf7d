"""Benchmark: funding rules monitoring over the synthetic data (run with ``make bench``).

Prints the median of a few repeats for: preparing one return's inputs, all
rules over it, and the whole ``run_frm`` (both returns, for the change since
the previous one). Not a test: timings are for the changelog and notes.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from _timing import timed


def main() -> None:
    from fjaaqa import frm
    from fjaaqa.inputs.sources import load_dataset
    from fjaaqa.synth import frm as synth_frm
    from fjaaqa.synth.demo import write_dataset

    agencies = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        write_dataset(data, agencies=agencies)
        ds = load_dataset(data)
        period = synth_frm.R14
        rows = len(ds.returns[period].deliveries)
        cat, _ = frm.load_catalogue(period.year)
        t_in, x = timed(lambda: frm.build_inputs(ds, period, cat.settings))
        t_eval, (flags, _) = timed(lambda: frm.evaluate(x, cat))
        t_run, res = timed(lambda: frm.run_frm(ds, period))
        print(f"FRM inputs, one return ({rows:,} aims)   {t_in:7.3f} s")
        print(f"FRM all {len(cat.rules)} rules, one return          {t_eval:7.3f} s   {len(flags)} flagged rows")
        print(f"run_frm (two returns, change)         {t_run:7.3f} s")
        print(f"per rule                              {t_eval / len(cat.rules) * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
