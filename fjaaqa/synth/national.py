"""A national-size synthetic dataset: the synthetic FRM return copied many times with fresh numbers.

:func:`write_national` makes a national-size dataset in the canonical
layout as Parquet, by copying the synthetic FRM return many times with fresh
provider, learner and ULN numbers, so every copy's planted FRM cases are
flagged again and the expected flags are known exactly.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..frm.partitioned import BY_ULN, EXTRA, ILR_TABLES, SHARED, clear_folder
from ..inputs.sources import ilr_folders
from ..periods import Period, make_period

PROVIDERS = 2000
STAMP = ".national"  # marks a folder this module wrote (so writing it again may replace it)


def _base(tmp: Path) -> Path:
    from .demo import write_dataset

    write_dataset(tmp, agencies=30)
    return tmp


def _tables(base: Path, period: Period) -> dict[str, Path]:
    """Every flat table the FRM run for ``period`` reads from the base dataset (relative name -> file)."""
    found = {}
    for p, folder in ilr_folders(base):
        if p <= period:
            for t in ILR_TABLES:
                f = folder / f"{t}.csv"
                if f.is_file():
                    found[f"ilr/{p.year.code}/{p.return_code}/{t}"] = f
            for tree, t in EXTRA.items():
                f = base / tree / p.year.code / p.return_code / f"{t}.csv"
                if f.is_file():
                    found[f"{tree}/{p.year.code}/{p.return_code}/{t}"] = f
    for t in BY_ULN + SHARED:
        if (base / f"{t}.csv").is_file():
            found[t] = base / f"{t}.csv"
    return found


def _renumber(df: pd.DataFrame, copy: int, uln_index: dict, ukprn_index: dict, groups: int) -> pd.DataFrame:
    """One copy of a table with its own providers, learner references, ULNs and SWSupAimIds."""
    df = df.copy()
    g = copy % groups
    for col in ("UKPRN", "PartnerUKPRN"):
        if col in df:
            m = df[col].notna()
            df.loc[m, col] = df.loc[m, col].map(lambda u: str(10_000_000 + g * 1_000 + ukprn_index[u]))
    if "LearnRefNumber" in df:  # up to 12 characters: a 4-character copy prefix before the base reference
        df["LearnRefNumber"] = f"C{copy:03X}" + df["LearnRefNumber"].str.slice(0, 8)
    if "ULN" in df:
        df["ULN"] = df["ULN"].map(lambda u: str(1_000_000_000 + copy * 10_000 + uln_index[u]))
    if "SWSupAimId" in df:
        m = df["SWSupAimId"].notna()
        df.loc[m, "SWSupAimId"] = df.loc[m, "SWSupAimId"].str.slice(0, 30) + f"-{copy:05d}"
    return df


def write_national(out: str | Path, copies: int = 1000, period: Period | None = None, progress=None,
                   base: str | Path | None = None) -> dict:
    """A national-size dataset (Parquet, canonical layout): ``copies`` renumbered copies of the base return.

    One copy of the synthetic FRM return has 5,009 aims; the default 1,000
    copies make 5 million in the return, from about 2,000 providers (the
    base's providers in ``ceil(2000 / providers)`` groups). Returns counts.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    period = period or make_period("2223", "R14")
    out = Path(out)
    clear_folder(out, lambda c: c.name in ("ilr", "slc", "funding", STAMP) or c.suffix in (".csv", ".parquet"))
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(base) if base else _base(Path(tmp) / "base")
        files = _tables(base, period)
        frames = {name: pd.read_csv(f, dtype=str) for name, f in files.items()}
        ulns = sorted({u for df in frames.values() if "ULN" in df for u in df["ULN"].dropna()})
        if len(ulns) >= 10_000:
            raise InputError("the base dataset has 10,000 or more ULNs: too many to renumber per copy")
        ukprns = sorted({u for df in frames.values() for c in ("UKPRN", "PartnerUKPRN") if c in df
                         for u in df[c].dropna()})
        uln_index = {u: i for i, u in enumerate(ulns)}
        ukprn_index = {u: i for i, u in enumerate(ukprns)}
        groups = max(1, math.ceil(PROVIDERS / len(ukprns)))
        for name in SHARED:
            if name in frames:
                target = out / f"{name}.csv"
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(files[name], target)
        writers: dict[str, pq.ParquetWriter] = {}
        rows = {name: 0 for name in frames if name not in SHARED}
        batch = 50
        try:
            for start in range(0, copies, batch):
                for name in rows:
                    df = pd.concat([_renumber(frames[name], c, uln_index, ukprn_index, groups)
                                    for c in range(start, min(copies, start + batch))], ignore_index=True)
                    table = pa.Table.from_pandas(df, preserve_index=False,
                                                 schema=pa.schema([(c, pa.string()) for c in df.columns]))
                    if name not in writers:
                        target = out / f"{name}.parquet"
                        target.parent.mkdir(parents=True, exist_ok=True)
                        writers[name] = pq.ParquetWriter(target, table.schema, compression="zstd")
                    writers[name].write_table(table)
                    rows[name] += len(df)
                if progress:
                    progress(min(copies, start + batch))
        finally:
            for w in writers.values():
                w.close()
    aims = rows.get(f"ilr/{period.year.code}/{period.return_code}/deliveries", 0)
    (out / STAMP).write_text(f"{copies}\n")
    return {"copies": copies, "aims": aims, "providers": min(groups * len(ukprns), copies * len(ukprns)),
            "rows": rows}
