"""Build small hand-made datasets in the canonical layout for known-answer tests.

Each test states its apprentices explicitly (dates, statuses); the builder
only fills the bookkeeping (learner rows, ULNs, commitments) so the expected
numbers can be worked out by hand from the framework's rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from fjaaqa.inputs.sources import load_dataset
from fjaaqa.periods import make_period
from fjaaqa.quality.results import compute
from fjaaqa.quality.thresholds import load_thresholds

CENSUS_2324 = date(2024, 7, 31)
REPO = Path(__file__).resolve().parent.parent


def repo_path(*parts: str) -> Path:
    """A path in the repository checkout (test fixtures, notebooks, params)."""
    return REPO.joinpath(*parts)


def link_outside(data: Path, name: str = "register.csv") -> None:
    """Move ``data/name`` out of the data folder and leave a symbolic link to it in its place."""
    import shutil

    outside = data.parent / "elsewhere.csv"
    shutil.move(data / name, outside)
    (data / name).symlink_to(outside)


def valid_uln(n: int) -> str:
    """The n-th ULN (from a fixed base) that passes the check digit."""
    k = 0
    base = 100000000
    while True:
        body = str(base + k)
        rem = sum(int(d) * w for d, w in zip(body, range(10, 1, -1))) % 11
        if rem != 0 and 10 - rem <= 9:
            if n == 0:
                return body + str(10 - rem)
            n -= 1
        k += 1


def days_before(d: date, n: int) -> str:
    return (d - timedelta(days=n)).isoformat()


@dataclass
class World:
    """A dataset under construction."""

    register: list[dict] = field(default_factory=list)
    commitments: list[dict] = field(default_factory=list)
    returns: dict[tuple[str, str], dict[str, list[dict]]] = field(default_factory=dict)
    next_uln: int = 0
    next_ref: int = 0
    next_commitment: int = 0

    def agency(self, agency_id: str, routes: str = "*", regions: str = "*", registered_on: str = "2020-01-01",
               **extra) -> str:
        self.register.append({"agency_id": agency_id, "agency_name": f"Agency {agency_id}",
                              "registered_on": registered_on, "removed_on": "", "approved_routes": routes,
                              "approved_regions": regions, "ern": extra.get("ern", "")})
        return agency_id

    def ret(self, year: str = "2324", rcode: str = "R14") -> dict[str, list[dict]]:
        return self.returns.setdefault((year, rcode), {"learners": [], "deliveries": [], "fams": []})

    def uln(self) -> str:
        u = valid_uln(self.next_uln)
        self.next_uln += 1
        return u

    def commitment(self, uln: str, agency_id: str | None, ukprn: str, std: str, model: str = "FlexiJobAgency",
                   status: str = "Live", stop_date: str = "", host: str = "Host A") -> None:
        self.next_commitment += 1
        self.commitments.append({
            "apprenticeship_id": f"C{self.next_commitment:05d}", "ULN": uln, "agency_id": agency_id or "",
            "UKPRN": ukprn, "StdCode": std, "delivery_model": model, "start_date": "", "planned_end_date": "",
            "status": status, "stop_date": stop_date, "host_employer": host, "continuation_of_id": "",
        })

    def aim(self, uln: str, start: str, plan_end: str, comp: str = "1", end: str = "", outcome: str = "",
            reason: str = "", ach: str = "", ukprn: str = "10000001", std: str = "2", seq: int = 1,
            orig_start: str = "", res: bool = False, year: str = "2324", rcode: str = "R14", aim_type: str = "1",
            postcode: str = "LS1 4AP", learnref: str | None = None, dob: str = "2000-01-01") -> str:
        r = self.ret(year, rcode)
        if learnref is None:
            self.next_ref += 1
            learnref = f"R{self.next_ref:05d}"
        if not any(x["UKPRN"] == ukprn and x["LearnRefNumber"] == learnref for x in r["learners"]):
            r["learners"].append({"UKPRN": ukprn, "LearnRefNumber": learnref, "ULN": uln, "DateOfBirth": dob})
        r["deliveries"].append({
            "UKPRN": ukprn, "LearnRefNumber": learnref, "AimSeqNumber": str(seq), "LearnAimRef": "ZPROG001",
            "AimType": aim_type, "ProgType": "25", "StdCode": std, "FundModel": "36", "LearnStartDate": start,
            "OrigLearnStartDate": orig_start, "LearnPlanEndDate": plan_end, "LearnActEndDate": end,
            "CompStatus": comp, "Outcome": outcome, "WithdrawReason": reason, "AchDate": ach,
            "DelLocPostCode": postcode,
        })
        if res:
            r["fams"].append({"UKPRN": ukprn, "LearnRefNumber": learnref, "AimSeqNumber": str(seq),
                              "FAMType": "RES", "FAMCode": "1", "DateFrom": "", "DateTo": ""})
        return learnref

    def apprentice(self, agency_id: str, ukprn: str = "10000001", std: str = "2", **aim) -> str:
        """One agency apprentice with one programme aim and its commitment; returns the ULN."""
        uln = self.uln()
        self.commitment(uln, agency_id, ukprn, std)
        self.aim(uln, ukprn=ukprn, std=std, **aim)
        return uln

    def write(self, root: Path) -> Path:
        root.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(self.register).to_csv(root / "register.csv", index=False)
        pd.DataFrame(self.commitments, columns=[
            "apprenticeship_id", "ULN", "agency_id", "UKPRN", "StdCode", "delivery_model", "start_date",
            "planned_end_date", "status", "stop_date", "host_employer", "continuation_of_id"]).to_csv(
            root / "commitments.csv", index=False)
        for (year, rcode), tables in self.returns.items():
            folder = root / "ilr" / year / rcode
            folder.mkdir(parents=True, exist_ok=True)
            for name, rows in tables.items():
                if name == "fams":
                    pd.DataFrame(rows, columns=["UKPRN", "LearnRefNumber", "AimSeqNumber", "FAMType", "FAMCode",
                                                "DateFrom", "DateTo"]).to_csv(folder / "fams.csv", index=False)
                else:
                    pd.DataFrame(rows).to_csv(folder / f"{name}.csv", index=False)
        return root

    def compute(self, root: Path, year: str = "2324", rcode: str = "R14", thresholds="quality-framework-2023"):
        self.write(root)
        t = thresholds if not isinstance(thresholds, str) else load_thresholds(thresholds)
        return compute(load_dataset(root), make_period(year, rcode), t)


def result(res, agency_id: str, indicator: str) -> dict:
    """The one result row for an agency and indicator, as a dict."""
    rows = res.results[(res.results["agency_id"] == agency_id) & (res.results["indicator"] == indicator)]
    assert len(rows) == 1, rows
    return rows.iloc[0].to_dict()
