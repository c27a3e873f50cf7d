"""Benchmark: a floor under FRM and the indicators, the joins no implementation can skip (not a test).

The goal of issue 23 is a run within 10x of a bare scan of the files it
reads. This script measures, on the same files, same machine and the same
1 GB of DuckDB memory, what is left when everything that can be argued away
is taken out: no row checks, no quarantine, no tie-breaks, no rule logic.
What remains is the work the framework's rules cannot be computed without:

- FRM, for the run's return and the one it is compared with: each aim with
  its learner (ULN, date of birth), its LARS entry, its FAMs and the
  employment in force at its start, written once as the table every rule
  reads; last year's final return with its learners; the prior
  achievements; then twenty one-pass scans of the aims table, one a rule.
- The indicators: each return's programme aims with their learner's ULN,
  linked to the latest commitment of each apprenticeship, one row per
  apprentice and return, counted per agency.

A real run does all of this and more, so its time over the floor's says how
much of it is overhead that a redesign could remove, and the floor over
the scan says how near 10x any design can come. It is a floor of plain
SQL, not a proof: a tuned statement can beat it (the SQL engine's prepared
FRM inputs cost a little less than these joins). Make a national dataset
first (``fjaaqa synth --scale national --copies 1000 --out DATA``).

Usage: ``python bench/bench_floor.py DATA``
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_national import bare_scan, frm_returns, read_files  # noqa: E402

FRM_AT = ("2223", "R14")
INDICATORS_AT = ("2324", "R14")
RULES = 20  # reports an FRM run evaluates at R14


# Three statements, not one: joining everything at once holds every hash table together and spills
# (11-15 s a return at national size, against about 4 s so).
FAMS = """
CREATE OR REPLACE TEMP TABLE floor_fams AS
SELECT UKPRN, LearnRefNumber, AimSeqNumber, {fam_cols} FROM read_parquet('{ilr}/fams.parquet') GROUP BY ALL
"""

EMPLOYMENT_AT_START = """
CREATE OR REPLACE TEMP TABLE floor_emp AS
WITH emp AS (
    SELECT UKPRN, LearnRefNumber, CAST(DateEmpStatApp AS DATE) AS DateEmpStatApp, EmpId, EmpStat
    FROM read_parquet('{ilr}/employment.parquet')
), starts AS (
    SELECT UKPRN, LearnRefNumber, AimSeqNumber, CAST(LearnStartDate AS DATE) AS LearnStartDate
    FROM read_parquet('{ilr}/deliveries.parquet')
)
SELECT s.UKPRN, s.LearnRefNumber, s.AimSeqNumber, e.EmpId, e.EmpStat
FROM starts s ASOF LEFT JOIN emp e
  ON e.UKPRN = s.UKPRN AND e.LearnRefNumber = s.LearnRefNumber AND s.LearnStartDate >= e.DateEmpStatApp
"""

AIMS = """
CREATE OR REPLACE TEMP TABLE floor_aims AS
SELECT d.* REPLACE (CAST(d.LearnStartDate AS DATE) AS LearnStartDate,
                    CAST(d.LearnPlanEndDate AS DATE) AS LearnPlanEndDate,
                    CAST(d.LearnActEndDate AS DATE) AS LearnActEndDate, CAST(d.AchDate AS DATE) AS AchDate),
       l.ULN, CAST(l.DateOfBirth AS DATE) AS DateOfBirth, z.level AS lars_level,
       f.* EXCLUDE (UKPRN, LearnRefNumber, AimSeqNumber), e.EmpId, e.EmpStat
FROM read_parquet('{ilr}/deliveries.parquet') d
JOIN read_parquet('{ilr}/learners.parquet') l USING (UKPRN, LearnRefNumber)
LEFT JOIN read_csv('{data}/lars.csv', all_varchar = true) z USING (LearnAimRef)
LEFT JOIN floor_fams f USING (UKPRN, LearnRefNumber, AimSeqNumber)
LEFT JOIN floor_emp e USING (UKPRN, LearnRefNumber, AimSeqNumber)
"""

PREVIOUS_YEAR = """
CREATE OR REPLACE TEMP TABLE floor_prev AS
SELECT d.*, l.ULN FROM read_parquet('{ilr}/deliveries.parquet') d
JOIN read_parquet('{ilr}/learners.parquet') l USING (UKPRN, LearnRefNumber)
"""

PRIOR = """
CREATE OR REPLACE TEMP TABLE floor_prior AS
SELECT ULN, LearnAimRef, min(CAST(AchDate AS DATE)) AS first_ach FROM ({parts}) WHERE AchDate IS NOT NULL GROUP BY ALL
"""

PRIOR_FILE = "SELECT ULN, LearnAimRef, AchDate FROM read_parquet('{data}/prior_achievements.parquet')"
EARLIER = """SELECT l.ULN, d.LearnAimRef, d.AchDate FROM read_parquet('{ilr}/deliveries.parquet') d
    JOIN read_parquet('{ilr}/learners.parquet') l USING (UKPRN, LearnRefNumber)"""

# One pass of the aims table, as the least a rule can cost: a condition, and the rows it keeps by provider.
RULE = """
SELECT UKPRN, count(*) FROM floor_aims
WHERE LearnPlanEndDate < LearnStartDate + INTERVAL 365 DAY AND FundModel = '36' AND ULN IS NOT NULL
GROUP BY UKPRN
"""

INDICATOR_AIMS = """
INSERT INTO floor_ind_aims
SELECT {rank} AS prank, d.UKPRN, d.LearnRefNumber, d.StdCode, CAST(d.LearnStartDate AS DATE) AS LearnStartDate,
       CAST(d.LearnActEndDate AS DATE) AS LearnActEndDate, d.CompStatus, d.Outcome, d.WithdrawReason, l.ULN
FROM read_parquet('{ilr}/deliveries.parquet') d
JOIN read_parquet('{ilr}/learners.parquet') l USING (UKPRN, LearnRefNumber)
WHERE d.AimType = '1' AND d.FundModel = '36'
"""

INDICATOR_LINKED = """
CREATE OR REPLACE TEMP TABLE floor_ind_linked AS
WITH c AS (
    SELECT ULN, UKPRN, StdCode, agency_id, status FROM read_parquet('{data}/commitments.parquet')
    QUALIFY row_number() OVER (PARTITION BY ULN, UKPRN, StdCode, agency_id ORDER BY start_date DESC) = 1
)
SELECT a.*, c.agency_id, c.status FROM floor_ind_aims a JOIN c USING (ULN, UKPRN, StdCode)
"""

INDICATOR_COUNTS = """
SELECT prank, agency_id, count(*) AS apprentices, count(*) FILTER (WHERE CompStatus = '3') AS withdrawn FROM (
    SELECT prank, agency_id, ULN, StdCode, arg_max(CompStatus, LearnStartDate) AS CompStatus
    FROM floor_ind_linked GROUP BY ALL
) GROUP BY ALL
"""


def check_pass(con, files: list[Path]) -> None:
    """One pass over each file, one test a column: the least a row check can cost.

    A date column must read as a date, any other value must be short; each
    column's failures are counted. The loader's checks are more than this
    (allowed characters and codes, keys unique, learners known), so this is a
    floor under them.
    """
    for f in files:
        cols = [c for (c, *_) in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{f}')").fetchall()]
        tests = [f'count(*) FILTER (WHERE "{c}" IS NOT NULL AND try_cast("{c}" AS DATE) IS NULL)' if "date" in c.lower()
                 else f'count(*) FILTER (WHERE length("{c}") > 40)'
                 for c in cols]
        con.execute(f"SELECT {', '.join(tests)} FROM read_parquet('{f}')").fetchall()


def fam_columns(con, ilr: Path) -> str:
    types = [t for (t,) in con.execute(f"SELECT DISTINCT FAMType FROM read_parquet('{ilr}/fams.parquet') "
                                       "ORDER BY 1").fetchall()]
    return ", ".join(f"min(FAMCode) FILTER (WHERE FAMType = '{t}') AS \"FAM_{t}\"" for t in types)


def connect():
    """A connection as a run gets one: 1 GB, or ``FJAAQA_DUCKDB_MEMORY`` (set it to see the spilling)."""
    from fjaaqa.inputs.views import connect as run_connection

    return run_connection()


def step(label: str, fn) -> float:
    started = time.perf_counter()
    fn()
    seconds = time.perf_counter() - started
    print(f"  {seconds:6.2f} s  {label}", flush=True)
    return seconds


def frm_floor(data: Path, files: list[Path]) -> float:
    con = connect()
    year, ret = FRM_AT
    returns = sorted(frm_returns(data, year, ret, kept=False))
    run, compared = returns[-1], returns[-2]
    final = [p for p in returns if p.year == run.year.previous() and p.return_code == "R14"]
    earlier = [p for p in returns if p.year < run.year]
    total = step("a row check pass over every file", lambda: check_pass(con, files))
    for p in (compared, run):
        ilr = data / "ilr" / p.year.code / p.return_code
        total += step(f"{p.label}: FAMs, one column a type",
                      lambda ilr=ilr: con.execute(FAMS.format(ilr=ilr, fam_cols=fam_columns(con, ilr))))
        total += step(f"{p.label}: employment in force at each aim's start",
                      lambda ilr=ilr: con.execute(EMPLOYMENT_AT_START.format(ilr=ilr)))
        total += step(f"{p.label}: aims with learner, LARS, FAMs, employment",
                      lambda ilr=ilr: con.execute(AIMS.format(ilr=ilr, data=data)))
        for q in final:
            ilr_q = data / "ilr" / q.year.code / q.return_code
            total += step(f"{p.label}: last year's final return with its learners",
                          lambda ilr_q=ilr_q: con.execute(PREVIOUS_YEAR.format(ilr=ilr_q)))
        parts = [EARLIER.format(ilr=data / "ilr" / q.year.code / q.return_code) for q in earlier if q.year < p.year]
        parts.append(PRIOR_FILE.format(data=data))
        total += step(f"{p.label}: prior achievements",
                      lambda parts=parts: con.execute(PRIOR.format(parts=" UNION ALL ".join(parts))))
        total += step(f"{p.label}: {RULES} one-pass rules",
                      lambda: [con.execute(RULE).fetchall() for _ in range(RULES)])
        for table in ("floor_fams", "floor_emp", "floor_aims", "floor_prev", "floor_prior"):
            con.execute(f"DROP TABLE IF EXISTS {table}")  # as the run drops a return's tables after its rules
    return total


def indicators_floor(data: Path, files: list[Path]) -> float:
    from fjaaqa.periods import make_period

    con = connect()
    checked = step("a row check pass over every file", lambda: check_pass(con, files))
    up_to = make_period(*INDICATORS_AT)
    returns = sorted(make_period(f.parent.parent.name, f.parent.name)
                     for f in (data / "ilr").glob("*/*/deliveries.parquet"))
    returns = [p for p in returns if p <= up_to]
    con.execute("CREATE OR REPLACE TEMP TABLE floor_ind_aims (prank INTEGER, UKPRN VARCHAR, LearnRefNumber VARCHAR, "
                "StdCode VARCHAR, LearnStartDate DATE, LearnActEndDate DATE, CompStatus VARCHAR, Outcome VARCHAR, "
                "WithdrawReason VARCHAR, ULN VARCHAR)")
    total = checked + step(f"programme aims with their ULN, {len(returns)} returns",
                 lambda: [con.execute(INDICATOR_AIMS.format(rank=i, ilr=data / "ilr" / p.year.code / p.return_code))
                          for i, p in enumerate(returns)])
    total += step("linked to each apprenticeship's latest commitment",
                  lambda: con.execute(INDICATOR_LINKED.format(data=data)))
    total += step("one row per apprentice and return, counted per agency",
                  lambda: con.execute(INDICATOR_COUNTS).fetchall())
    return total


def main() -> None:
    data = Path(sys.argv[1])
    frm_files = read_files(data, *FRM_AT, only=frm_returns(data, *FRM_AT, kept=False))
    ind_files = read_files(data, *INDICATORS_AT)
    for label, fn, files in (("FRM first run at " + " ".join(FRM_AT), frm_floor, frm_files),
                             ("indicators at " + " ".join(INDICATORS_AT), indicators_floor, ind_files)):
        os.sync()
        scan = min(bare_scan(files) for _ in range(3))
        print(f"{label}: bare scan of the {len(files)} files it reads {scan:.2f} s", flush=True)
        os.sync()
        floor = fn(data, files)
        print(f"  floor {floor:.1f} s = {floor / scan:.1f}x the scan\n", flush=True)


if __name__ == "__main__":
    main()
