"""Benchmark: ILR XML reading speed and peak memory on a large provider file.

Writes one ILR file with N learners (default 100,000; two aims, one
employment status and two FAMs each) in the 2020-21 layout, then reads it
in a fresh process and reports learners per second and peak memory
(VmHWM). Run: ``.venv/bin/python bench/bench_ilr.py [N]``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

READ = r"""
import json, re, sys, time
from fjaaqa.inputs.ilr import read_ilr
def hwm():  # peak resident memory of this process (VmHWM resets at exec, unlike ru_maxrss)
    return int(re.search(r"VmHWM:\s+(\d+)", open("/proc/self/status").read()).group(1))
base = hwm()
t = time.perf_counter()
tables = read_ilr(sys.argv[1])
frames = tables.frames()
seconds = time.perf_counter() - t
peak = hwm()
print(json.dumps({"seconds": seconds, "counts": tables.counts, "peak_mb": peak / 1024, "base_mb": base / 1024,
                  "rows": {k: len(v) for k, v in frames.items()}}))
"""


def tables(n: int) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(1)
    refs = [f"L{i:09d}" for i in range(n)]
    start = pd.Timestamp("2023-09-01") + pd.to_timedelta(rng.integers(0, 300, n), unit="D")
    learners = pd.DataFrame({"UKPRN": "10000001", "LearnRefNumber": refs,
                             "ULN": [str(1000000000 + i) for i in range(n)], "DateOfBirth": "2000-01-01",
                             "Ethnicity": "31", "Sex": "F", "LLDDHealthProb": "2", "PriorAttain": "3"})
    prog = pd.DataFrame({"UKPRN": "10000001", "LearnRefNumber": refs, "AimSeqNumber": "1", "LearnAimRef": "ZPROG001",
                         "AimType": "1", "LearnStartDate": start.strftime("%Y-%m-%d"),
                         "LearnPlanEndDate": (start + pd.Timedelta(days=400)).strftime("%Y-%m-%d"),
                         "FundModel": "36", "ProgType": "25", "StdCode": "2", "DelLocPostCode": "LS1 4AP",
                         "CompStatus": "1"})
    comp = prog.assign(AimSeqNumber="2", LearnAimRef="60000001", AimType="3")
    deliveries = pd.concat([prog, comp]).sort_values(["LearnRefNumber", "AimSeqNumber"], kind="stable")
    employment = pd.DataFrame({"UKPRN": "10000001", "LearnRefNumber": refs, "EmpStat": "10",
                               "DateEmpStatApp": "2023-08-01", "EmpId": "123456789"})
    fams = pd.concat([
        pd.DataFrame({"UKPRN": "10000001", "LearnRefNumber": refs, "AimSeqNumber": "1", "FAMType": "ACT",
                      "FAMCode": "1", "DateFrom": prog["LearnStartDate"], "DateTo": None}),
        pd.DataFrame({"UKPRN": "10000001", "LearnRefNumber": refs, "AimSeqNumber": "1", "FAMType": "LDM",
                      "FAMCode": "034", "DateFrom": None, "DateTo": None}),
    ])
    return {"learners": learners, "deliveries": deliveries, "employment": employment, "fams": fams}


def main() -> None:
    from fjaaqa.inputs.ilr import write_ilr

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    work = Path(tempfile.mkdtemp(prefix="fjaaqa-bench-ilr-"))
    path = work / "ILR-10000001-2324-20240731-120000-01.xml"
    t = time.perf_counter()
    write_ilr(path, "10000001", tables(n), "2020-21", "2024-07-31")
    print(f"write {n:,} learners: {time.perf_counter() - t:.1f} s, {path.stat().st_size / 1e6:.0f} MB")
    out = subprocess.run([sys.executable, "-c", READ, str(path)], capture_output=True, text=True, check=True)
    r = json.loads(out.stdout)
    print(f"read: {r['seconds']:.1f} s = {n / r['seconds']:,.0f} learners/s; rows {r['rows']}; "
          f"peak memory {r['peak_mb']:.0f} MB (interpreter and imports alone {r['base_mb']:.0f} MB)")


if __name__ == "__main__":
    main()
