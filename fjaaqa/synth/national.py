"""A national-size synthetic dataset: the synthetic data copied many times with fresh numbers.

:func:`write_national` makes a national-size dataset in the canonical
layout as Parquet, by copying a base dataset (the demo: 30 agencies and the
synthetic FRM providers) many times. Each copy gets its own providers
(within a group, see below), learner references, ULNs, agencies, agency
commitments and employer references, so

- every copy's planted FRM cases are flagged again: the expected flags are
  the base's, once per copy;
- every copy's agencies are the base's agencies again under new ids: each
  one's Quality Framework results are its original's, and the national
  dataset has a known number of agency apprentices (copies x the base's).

Both uses read the same files: every ILR return up to the later of the FRM
period and the review period (earlier returns are the history the
indicators and the achievement-rate pool need), the per-return SLC and
earnings files, the agency tables renumbered per copy, and the reference
tables (LARS, standards, postcodes, national rates) once.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..frm.partitioned import EXTRA, ILR_TABLES, clear_folder
from ..inputs.sources import ilr_folders
from ..periods import Period, make_period

PROVIDERS = 2000
STAMP = ".national"  # marks a folder this module wrote (so writing it again may replace it); says what it holds
FRM_PERIOD = make_period("2223", "R14")  # the FRM catalogue's own year

# Top-level tables. Those holding a key of an agency, apprentice or learner are renumbered and written once per
# copy; providers once per provider group (a UKPRN is the same provider in every copy of its group); the rest are
# reference tables, written once as they are.
PER_COPY = ["register", "commitments", "prior_achievements", "approvals", "placements", "reviews",
            "collection_form", "feedback"]
PER_GROUP = ["providers"]
WHOLE = ["lars", "standards", "postcodes"]
WHOLE_FOLDERS = ["benchmarks"]  # national achievement rates: the same reference for every copy
AS_CSV = ["register", "providers"]  # small; a part of the split dataset carries them as CSV, as the base does
BATCH = 50  # copies renumbered and written at a time (bounds memory)

# How each key column is renumbered (by column name, in whichever table it appears).
SUFFIXED = ("agency_id", "apprenticeship_id", "continuation_of_id")   # "<id>-<copy>"
EMPLOYER = ("EmpId", "ern")  # ILR employer id and the agency's employer reference: matched to each other
COPY_DIGITS = 4  # copy numbers in suffixes


def _base(tmp: Path) -> Path:
    from .demo import write_dataset

    write_dataset(tmp, agencies=30)
    return tmp


def _tables(base: Path, last: Period) -> dict[str, Path]:
    """Every flat table of the base up to the return ``last`` (relative name without suffix -> file)."""
    found = {}
    for p, folder in ilr_folders(base):
        if p <= last:
            for t in ILR_TABLES:
                f = folder / f"{t}.csv"
                if f.is_file():
                    found[f"ilr/{p.year.code}/{p.return_code}/{t}"] = f
            for tree, t in EXTRA.items():
                f = base / tree / p.year.code / p.return_code / f"{t}.csv"
                if f.is_file():
                    found[f"{tree}/{p.year.code}/{p.return_code}/{t}"] = f
    for t in PER_COPY + PER_GROUP + WHOLE:
        if (base / f"{t}.csv").is_file():
            found[t] = base / f"{t}.csv"
    return found


class Renumbering:
    """How copy ``c`` renumbers each key, the same way in every table (so joins still join).

    - UKPRN: ``10,000,000 + group * 1,000 + the base provider's index``, the
      group being ``c mod groups``: about 2,000 providers in all, each seen
      in many copies (as a real provider trains many agencies' apprentices);
    - ULN: ``1,000,000,000 + c * 10,000 + the base learner's index``;
    - LearnRefNumber: a 4-character copy prefix before the base reference
      (12 characters at most, as the ILR allows);
    - SWSupAimId: the base id and ``-<c>``;
    - agency, apprenticeship and continuation ids: ``<id>-<c>``;
    - agency name: the base name and ``(copy c)``;
    - employer ids (ILR EmpId and the register's ern, which the link matches
      to each other): ``(c + 1) * 10^w + id`` for a number of w digits, so
      each copy's agencies own their employer references (``-<c>`` for an
      ern that is not a number).
    """

    def __init__(self, frames: dict[str, pd.DataFrame]):
        ulns = sorted({u for df in frames.values() if "ULN" in df for u in df["ULN"].dropna()})
        if len(ulns) >= 10_000:
            raise InputError("the base dataset has 10,000 or more ULNs: too many to renumber per copy")
        ukprns = sorted({u for df in frames.values() for c in ("UKPRN", "PartnerUKPRN") if c in df
                         for u in df[c].dropna()})
        if len(ukprns) >= 1_000:
            raise InputError("the base dataset has 1,000 or more UKPRNs: too many to renumber per group")
        self.uln_index = {u: i for i, u in enumerate(ulns)}
        self.ukprn_index = {u: i for i, u in enumerate(ukprns)}
        self.groups = max(1, math.ceil(PROVIDERS / max(1, len(ukprns))))
        digits = [len(v) for df in frames.values() for c in EMPLOYER if c in df for v in df[c].dropna()
                  if v.isdigit()]
        self.employer_width = max(digits, default=1)

    def codes(self, name: str, values: pd.Series) -> np.ndarray | None:
        """The base values of a key column as integers to renumber (-1: missing or kept as text)."""
        if name in ("UKPRN", "PartnerUKPRN"):
            return values.map(self.ukprn_index).fillna(-1).astype("int64").to_numpy()
        if name == "ULN":
            return values.map(self.uln_index).fillna(-1).astype("int64").to_numpy()
        if name in EMPLOYER:
            digits = values.notna() & values.fillna("").str.fullmatch(r"[0-9]+")
            return np.where(digits, pd.to_numeric(values.where(digits), errors="coerce").fillna(-1), -1).astype("int64")
        return None

    def numbers(self, name: str, codes: np.ndarray, copy: np.ndarray) -> np.ndarray:
        """New numbers for coded rows (``copy`` is each row's copy number)."""
        if name in ("UKPRN", "PartnerUKPRN"):
            return 10_000_000 + (copy % self.groups) * 1_000 + codes
        if name == "ULN":
            return 1_000_000_000 + copy * 10_000 + codes
        return (copy + 1) * 10 ** self.employer_width + codes  # an employer id


class _Table:
    """One base table, ready to be repeated for a batch of copies."""

    def __init__(self, df: pd.DataFrame, numbering: Renumbering):
        import pyarrow as pa

        self.rows = len(df)
        self.columns = list(df.columns)
        self.arrow = {c: pa.array(df[c].astype(object).where(df[c].notna(), None), type=pa.string())
                      for c in df.columns}
        self.codes = {c: numbering.codes(c, df[c]) for c in df.columns}
        self.numbering = numbering

    def copies(self, first: int, stop: int):
        """The table for copies ``first`` .. ``stop - 1``, one after the other (a pyarrow Table)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        k = stop - first
        row = np.tile(np.arange(self.rows), k)
        copy = np.repeat(np.arange(first, stop), self.rows)
        take = pa.array(row)
        which = pa.array(copy - first)

        def per_copy(fmt: str):
            return pa.array([fmt.format(c) for c in range(first, stop)], type=pa.string()).take(which)

        def join(a, b):
            return pc.binary_join_element_wise(a, b, "")

        out = {}
        for c in self.columns:
            base = self.arrow[c]
            codes = self.codes[c]
            if c in ("UKPRN", "PartnerUKPRN", "ULN"):
                code = codes[row]
                out[c] = pa.array(self.numbering.numbers(c, code, copy), mask=code < 0).cast(pa.string())
            elif c in EMPLOYER:
                code = codes[row]
                number = pa.array(self.numbering.numbers(c, code, copy), mask=code < 0).cast(pa.string())
                text = join(base.take(take), per_copy("-{:0" + str(COPY_DIGITS) + "d}"))
                out[c] = pc.if_else(pa.array(code >= 0), number, text)
            elif c == "LearnRefNumber":
                out[c] = join(per_copy("C{:03X}"), pc.utf8_slice_codeunits(base, 0, 8).take(take))
            elif c == "SWSupAimId":
                out[c] = join(pc.utf8_slice_codeunits(base, 0, 30).take(take), per_copy("-{:05d}"))
            elif c in SUFFIXED:
                out[c] = join(base.take(take), per_copy("-{:0" + str(COPY_DIGITS) + "d}"))
            elif c == "agency_name":
                out[c] = join(base.take(take), per_copy(" (copy {})"))
            else:
                out[c] = base.take(take)
        return pa.table(out)


def _providers(df: pd.DataFrame, numbering: Renumbering, groups: int) -> pd.DataFrame:
    """The providers table for every group used: names made distinct by group (the first keeps the base's)."""
    t = _Table(df, numbering)
    out = t.copies(0, groups).to_pandas()
    if "provider_name" in out:
        group = np.repeat(np.arange(groups), len(df))
        out["provider_name"] = [n if g == 0 else f"{n} ({g + 1})" for n, g in zip(out["provider_name"], group)]
    return out


def agency_apprentices(data: Path, period: Period) -> int:
    """Agency apprentices in the return ``period``: distinct agency + ULN + standard among linked programme aims.

    This is who the indicators count for the period (live or not), read the
    way they read it (:func:`fjaaqa.inputs.link.link_aims`).
    """
    from ..inputs.link import link_aims, programme_aims
    from ..inputs.sources import load_dataset
    from ..quality.thresholds import load_thresholds

    ds = load_dataset(data, up_to=period)
    if period not in ds.returns:
        return 0
    ret = ds.returns[period]
    linked, _ = link_aims(programme_aims(ret), ds.commitments, ds.register, ret.employment,
                          load_thresholds().readings.link)
    return len(linked.drop_duplicates(["agency_id", "ULN", "StdCode"]))


def _period(p: Period) -> dict:
    return {"year": p.year.code, "return": p.return_code, "label": p.label}


def _write_csv(df: pd.DataFrame, target: Path) -> None:
    from ..writers import atomic_write, csv_text

    atomic_write(target, csv_text(df))


def write_national(out: str | Path, copies: int = 1000, period: Period | None = None, progress=None,
                   base: str | Path | None = None, review: Period | None = None) -> dict:
    """A national-size dataset (Parquet, canonical layout): ``copies`` renumbered copies of the base.

    ``period`` is the FRM return (2022-23 R14); ``review`` the return the
    Quality Framework indicators are read at (default: the base's latest
    return, 2023-24 R14 for the demo, where all 30 agencies have
    apprentices). Every ILR return up to the later of the two is copied.
    One copy of the demo has 5,009 aims in 2022-23 R14 and about 2,700
    agency apprentices in 2023-24 R14; the default 1,000 copies make 5
    million aims and 2.7 million apprentices, from about 2,000 providers
    (the base's providers in ``ceil(2000 / providers)`` groups). Returns
    counts, and writes what it made to the ``.national`` stamp.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    period = period or FRM_PERIOD
    out = Path(out)
    clear_folder(out, lambda c: c.name in ("ilr", "slc", "funding", STAMP, *WHOLE_FOLDERS)
                 or c.suffix in (".csv", ".parquet"))
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(base) if base else _base(Path(tmp) / "base")
        returns = [p for p, _ in ilr_folders(base)]
        review = review or (max(returns) if returns else period)
        files = _tables(base, max(period, review))
        frames = {name: pd.read_csv(f, dtype=str, keep_default_na=False, na_values=[""])
                  for name, f in files.items()}
        numbering = Renumbering(frames)
        groups = min(numbering.groups, copies)
        apprentices = agency_apprentices(base, review)

        out.mkdir(parents=True, exist_ok=True)
        for name in WHOLE:
            if name in files:
                shutil.copyfile(files[name], out / f"{name}.csv")
        for folder in WHOLE_FOLDERS:
            if (base / folder).is_dir():
                shutil.copytree(base / folder, out / folder)
        for name in PER_GROUP:
            if name in frames:
                _write_csv(_providers(frames[name], numbering, groups), out / f"{name}.csv")

        tables = {name: _Table(df, numbering) for name, df in frames.items() if name not in WHOLE + PER_GROUP}
        writers: dict[str, pq.ParquetWriter] = {}
        small: dict[str, list] = {name: [] for name in tables if name in AS_CSV}
        rows = dict.fromkeys(tables, 0)
        try:
            for start in range(0, copies, BATCH):
                stop = min(copies, start + BATCH)
                for name, t in tables.items():
                    table = t.copies(start, stop)
                    rows[name] += table.num_rows
                    if name in small:
                        small[name].append(table)
                        continue
                    if name not in writers:
                        target = out / f"{name}.parquet"
                        target.parent.mkdir(parents=True, exist_ok=True)
                        writers[name] = pq.ParquetWriter(target, table.schema, compression="zstd")
                    writers[name].write_table(table)
                if progress:
                    progress(stop)
        finally:
            for w in writers.values():
                w.close()
        for name, parts in small.items():
            _write_csv(pa.concat_tables(parts).to_pandas(), out / f"{name}.csv")

    aims = rows.get(f"ilr/{period.year.code}/{period.return_code}/deliveries", 0)
    info = {"copies": copies, "aims": aims, "providers": groups * len(numbering.ukprn_index),
            "frm_period": _period(period), "review_period": _period(review), "apprentices_per_copy": apprentices,
            "apprentices": apprentices * copies, "rows": rows}
    (out / STAMP).write_text(json.dumps({k: v for k, v in info.items() if k != "rows"}, indent=1) + "\n")
    return info
