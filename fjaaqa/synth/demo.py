"""Synthetic data: the embedded default dataset, seeded and deterministic.

About 30 agencies, each with 20-300 apprentices, 1-4 training providers,
approved routes and regions, and host employers. Each apprentice's life is
simulated in continuous time (start, breaks and restarts, provider
transfers, withdrawals, late completion, end-point assessment) and then
written as the ILR would show it at each return's census: later events are
not yet known, and some withdrawals are reported late. Agencies get a
quality profile so that across them every status occurs.

Rates are calibrated to national figures: achievement about 54 %, pass
about 97 %, withdrawals the bulk of non-achievement.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from ..inputs import reference
from ..inputs.benchmarks import import_rates, write_rates
from ..periods import Period, make_period
from ..writers import atomic_write, csv_text
from .frm import COLLEGE, SUBCONTRACTOR, TRAINING, add_frm_cases, uln_with_check
from .national_rates import write_national_rates

# Review periods: 2022-23 and 2023-24 at R06 and R14. Earlier years' R14 are
# there too, because the achievement rate pools leavers from every earlier
# year's R14 (a withdrawal is a leaver in its planned end year).
REVIEW_PERIODS = [make_period("2223", "R06"), make_period("2223", "R14"), make_period("2324", "R06"),
                  make_period("2324", "R14")]
PERIODS = [make_period("1920", "R14"), make_period("2021", "R14"), make_period("2122", "R14")] + REVIEW_PERIODS
EXTRACT_DATE = PERIODS[-1].census  # the Apprenticeship Service extract is as at the latest census
# "host_closure" agencies: a large host employer closes around then
SHOCK_DATE = date(2023, 10, 1)
LEARNER_COLUMNS = ["UKPRN", "LearnRefNumber", "ULN", "DateOfBirth", "Ethnicity", "Sex", "LLDDHealthProb", "PriorAttain"]
DELIVERY_COLUMNS = ["UKPRN", "LearnRefNumber", "AimSeqNumber", "LearnAimRef", "AimType", "ProgType", "StdCode",
                    "FundModel", "LearnStartDate", "OrigLearnStartDate", "LearnPlanEndDate", "LearnActEndDate",
                    "CompStatus", "Outcome", "WithdrawReason", "AchDate", "DelLocPostCode", "PartnerUKPRN", "PHours",
                    "OTJActHours", "EPAOrgID", "SWSupAimId"]

WORDS_A = ["North", "South", "East", "West", "Central", "Coastal", "Pennine", "Riverside", "Valley", "Harbour",
           "Midland", "Forest", "Moorland", "Capital", "Shire", "Lakeland", "Downs", "Fenland", "Peak", "Thames"]
WORDS_B = ["Flexi", "Skills", "Talent", "Works", "Futures", "Trades", "Careers", "Pathways", "Crafts", "Pro"]
WORDS_C = ["Apprenticeships", "Agency", "Training Partnership", "People", "Group", "Workforce", "Academy"]
HOST_WORDS = ["Builders", "Engineering", "Care Homes", "Hotels", "Logistics", "Studios", "Digital", "Farms",
              "Foods", "Motors", "Energy", "Retail", "Print", "Joinery", "Events", "Surveys", "Labs", "Kitchens"]

WITHDRAW_REASONS = ["44", "97", "98", "3", "29", "43", "46", "2"]
WITHDRAW_WEIGHTS = [0.30, 0.22, 0.10, 0.11, 0.10, 0.06, 0.04, 0.07]
TRANSFER_REASONS = ["7", "41", "47", "2"]
TRANSFER_WEIGHTS = [0.5, 0.2, 0.1, 0.2]

# Quality profiles: multipliers on base propensities. Names say what they produce.
PROFILES = {
    "steady": dict(withdraw=0.40, brk=0.07, restart=0.75, overrun=0.05, outside=0.0, lag=0.05, fail=0.03),
    "high_withdrawals": dict(withdraw=0.82, brk=0.06, restart=0.7, overrun=0.04, outside=0.0, lag=0.08, fail=0.05),
    "some_withdrawals": dict(withdraw=0.58, brk=0.06, restart=0.7, overrun=0.05, outside=0.0, lag=0.06, fail=0.04),
    "long_breaks": dict(withdraw=0.22, brk=0.55, restart=0.1, overrun=0.04, outside=0.0, lag=0.05, fail=0.03,
                        long_break=0.9, break_withdraw=0.1),
    "mid_breaks": dict(withdraw=0.22, brk=0.75, restart=0.85, overrun=0.04, outside=0.0, lag=0.05, fail=0.03,
                       long_break=0.03, mid_break=0.95, break_withdraw=0.5),
    "overrunning": dict(withdraw=0.06, brk=0.03, restart=0.75, overrun=0.97, outside=0.0, lag=0.05, fail=0.04,
                        long_overrun=0.95),
    "mid_overrun": dict(withdraw=0.06, brk=0.03, restart=0.75, overrun=0.97, outside=0.0, lag=0.05, fail=0.04,
                        long_overrun=0.0),
    "host_closure": dict(withdraw=0.30, brk=0.05, restart=0.75, overrun=0.05, outside=0.0, lag=0.05, fail=0.03,
                         shock=0.45),
    "outside_areas": dict(withdraw=0.28, brk=0.06, restart=0.7, overrun=0.05, outside=0.25, lag=0.05, fail=0.03),
    "low_pass": dict(withdraw=0.35, brk=0.06, restart=0.7, overrun=0.05, outside=0.02, lag=0.05, fail=0.3),
}
# Which profile each of the 30 agencies gets (shuffled by the seed).
PROFILE_MIX = (["steady"] * 8 + ["host_closure"] * 2 + ["high_withdrawals"] * 3 + ["some_withdrawals"] * 4
               + ["long_breaks"] * 2
               + ["mid_breaks"] * 2 + ["overrunning"] * 2 + ["mid_overrun"] * 2 + ["outside_areas"] * 3
               + ["low_pass"] * 2)


@dataclass
class Aim:
    """One ILR programme aim with its versions over time (known_from, fields)."""

    ukprn: str
    learnref: str
    aimseq: int
    std: str
    start: date
    plan_end: date
    postcode: str
    orig_start: date | None = None
    restart: bool = False
    versions: list = field(default_factory=list)  # (known_from: date, dict of ILR fields)
    phours: int = 0
    epa: str = ""
    swsup: str = ""


def _d(x: date | None) -> str | None:
    return x.isoformat() if x else None


def _planned_otj(planned_days: int, profile: str, uln: str) -> int:
    """Planned off-the-job hours: the full-time minimum (6 a week) and a little over.

    Agencies whose withdrawals are high also under-plan off-the-job training
    for about a third of their apprentices (chosen by ULN, not by the random
    stream, so the rest of the data stays as it was): FRM37 flags them.
    """
    if profile == "high_withdrawals" and int(uln[-2]) % 3 == 0:
        return planned_days * 5 // 7
    return planned_days * 6 // 7 + 8


class Generator:
    """Builds the synthetic tables; one instance per run, all randomness from one seed."""

    def __init__(self, agencies: int = 30, seed: int = 20231001):
        self.rng = np.random.default_rng(seed)
        # A second stream for the optional extras (form, feedback), so adding them leaves the ILR unchanged.
        self.extra_rng = np.random.default_rng(seed + 1)
        self.collection: list[dict] = []
        self.n_agencies = agencies
        self.standards = reference.shipped_standards()
        self.areas = reference.postcode_areas()
        self.providers = [str(10001000 + 137 * i) for i in range(40)]
        self.learners: dict[tuple[str, str], dict] = {}
        self.aims: list[Aim] = []
        self.components: list[Aim] = []
        self.commitments: list[dict] = []
        self.employment: list[dict] = []
        self.next_ref: dict[str, int] = {}
        self.next_commitment = 1
        self.ulns: set[str] = set()

    # ------------------------------------------------------------ helpers
    def pick(self, seq, p=None):
        return seq[int(self.rng.choice(len(seq), p=p))]

    def new_uln(self) -> str:
        while True:
            u = uln_with_check(self.rng)
            if u not in self.ulns:
                self.ulns.add(u)
                return u

    def learnref(self, ukprn: str) -> str:
        n = self.next_ref.get(ukprn, 0) + 1
        self.next_ref[ukprn] = n
        return f"L{n:07d}"

    def postcode_in(self, region: str) -> str:
        areas = self.areas[(self.areas["region"] == region) & (self.areas["straddles"] == "")]["area"].tolist()
        if not areas:
            areas = self.areas[self.areas["region"] == region]["area"].tolist()
        area = self.pick(areas)
        letters = "ABDEFGHJLNPQRSTUWXYZ"
        return (f"{area}{int(self.rng.integers(1, 20))} {int(self.rng.integers(1, 10))}"
                f"{letters[int(self.rng.integers(len(letters)))]}{letters[int(self.rng.integers(len(letters)))]}")

    def days(self, lo: int, hi: int) -> int:
        return int(self.rng.integers(lo, hi + 1))

    def hexid(self) -> str:
        return "".join(f"{int(x):02x}" for x in self.rng.integers(0, 256, 16))

    # ------------------------------------------------------------ agencies
    def make_register(self) -> pd.DataFrame:
        rows = []
        # A few agencies joined the register during 2023-24 (no data for 2022-23);
        # they get ordinary profiles. Agencies whose problems need time to show
        # (long breaks, overrunning) joined early.
        new_ids = {i for i in range(self.n_agencies) if i % 10 == 7}
        mix = list(PROFILE_MIX) + ["steady"] * max(0, self.n_agencies - len(PROFILE_MIX))
        new_profiles = ["outside_areas", "steady", "some_withdrawals"]
        for p in new_profiles[: len(new_ids)]:
            mix.remove(p)
        rest = [mix[i] for i in self.rng.permutation(len(mix))]
        self.profiles = []
        for i in range(self.n_agencies):
            self.profiles.append(new_profiles.pop(0) if i in new_ids and new_profiles else rest.pop(0))
        route_names = reference.routes()["route"].tolist()
        counts = self.standards["route"].value_counts()
        usable = [r for r in route_names if counts.get(r, 0) >= 3]
        names = set()
        for i in range(self.n_agencies):
            while True:
                name = f"{self.pick(WORDS_A)} {self.pick(WORDS_B)} {self.pick(WORDS_C)} Ltd"
                if name not in names:
                    names.add(name)
                    break
            slow = self.profiles[i] in ("long_breaks", "mid_breaks", "overrunning", "mid_overrun")
            if i in new_ids:
                registered = date(2023, 9, 1) + timedelta(days=self.days(0, 120))
            elif slow:
                registered = date(2019, 9, 1) + timedelta(days=self.days(0, 300))
            else:
                registered = date(2019, 9, 1) + timedelta(days=self.days(0, 1000))
            routes = list(self.rng.choice(usable, size=self.days(1, 3), replace=False))
            regions = list(self.rng.choice(reference.ENGLISH_REGIONS, size=self.days(1, 3), replace=False))
            rows.append({
                "agency_id": f"FJAA{i + 1:04d}",
                "agency_name": name,
                "registered_on": registered.isoformat(),
                "removed_on": None,
                "approved_routes": ";".join(sorted(routes)),
                "approved_regions": ";".join(sorted(regions)),
                "ern": str(120000000 + 7919 * (i + 1)),
                "_profile": self.profiles[i],
                "_providers": list(self.rng.choice(self.providers, size=self.days(1, 4), replace=False)),
                "_hosts": [f"{self.pick(WORDS_A)} {self.pick(HOST_WORDS)} Ltd" for _ in range(self.days(3, 12))],
                "_size": int(np.exp(self.rng.uniform(np.log(20), np.log(300)))),
            })
        return pd.DataFrame(rows)

    # ------------------------------------------------------------ apprentices
    def simulate(self, agency: dict) -> None:
        prof = PROFILES[agency["_profile"]]
        routes = agency["approved_routes"].split(";")
        regions = agency["approved_regions"].split(";")
        first = max(date.fromisoformat(agency["registered_on"]), date(2019, 9, 1))
        last = date(2024, 6, 30)
        span = (last - first).days
        for _ in range(agency["_size"]):
            start = first + timedelta(days=self.days(0, span))
            outside = self.rng.random() < prof["outside"]
            if outside and self.rng.random() < 0.5:
                route = self.pick([r for r in self.standards["route"].unique() if r not in routes])
                region = self.pick(regions)
            elif outside:
                route = self.pick(routes)
                region = self.pick([r for r in reference.ENGLISH_REGIONS if r not in regions])
            else:
                route, region = self.pick(routes), self.pick(regions)
            stds = self.standards[self.standards["route"] == route]
            std = stds.iloc[int(self.rng.integers(len(stds)))]
            postcode = "ZZ99 9ZZ" if self.rng.random() < 0.01 else self.postcode_in(region)
            self.apprentice(agency, prof, start, std, postcode)

    def apprentice(self, agency: dict, prof: dict, start: date, std, postcode: str) -> None:
        level = int(std["level"])
        planned = self.pick([366, 400, 456, 548, 600, 730, 913, 1095],
                            p=None if level <= 4 else [0, 0, 0.1, 0.2, 0.2, 0.3, 0.1, 0.1])
        plan_end = start + timedelta(days=planned)
        ukprn = self.pick(agency["_providers"])
        host = self.pick(agency["_hosts"])
        uln = self.new_uln()
        dob = start - timedelta(days=365 * self.days(16, 45) + self.days(0, 364))
        learnref = self.learnref(ukprn)
        self.learner(ukprn, learnref, uln, dob, agency["ern"], start)
        aim = Aim(ukprn, learnref, 1, str(std["StdCode"]), start, plan_end, postcode,
                  phours=_planned_otj(planned, agency["_profile"], uln), epa=f"EPA{self.days(1, 40):04d}",
                  swsup=self.hexid())
        aims = [aim]
        commitment = self.commitment(uln, agency["agency_id"], ukprn, aim.std, start, plan_end, host)
        lag = (lambda: self.days(150, 420)) if self.rng.random() < prof["lag"] else (lambda: self.days(0, 40))

        # Decide the life course.
        r = self.rng.random()
        withdraws = r < prof["withdraw"]
        transfers = not withdraws and self.rng.random() < 0.05
        breaks = self.rng.random() < prof["brk"]
        leaves_agency = not withdraws and self.rng.random() < 0.03
        cur = aim
        end_plan = plan_end

        shock = SHOCK_DATE + timedelta(days=self.days(0, 45))
        if prof.get("shock") and start < shock < plan_end - timedelta(days=60) and self.rng.random() < prof["shock"]:
            # The host employer closed: the apprentice went on a break and has not yet returned.
            breaks, withdraws = True, False
            prof = dict(prof, long_break=0.0, mid_break=1.0, restart=0.0, break_withdraw=0.0)
            t_break = shock
        elif breaks:
            t_break = start + timedelta(days=int(planned * self.rng.uniform(0.15, 0.7)))
        if breaks:
            long_share = prof.get("long_break", 0.2)
            length = self.days(380, 760) if self.rng.random() < long_share else (
                self.days(190, 350) if self.rng.random() < prof.get("mid_break", 0.4) else self.days(30, 170))
            cur.versions.append((t_break + timedelta(days=self.days(0, 30)),
                                 {"CompStatus": "6", "LearnActEndDate": t_break}))
            who = "employer" if prof.get("long_break") == 0.0 and prof.get("restart") == 0.0 else str(
                self.extra_rng.choice(["apprentice", "employer", "provider", "agency"], p=[0.45, 0.35, 0.1, 0.1]))
            self.collection.append({"agency_id": agency["agency_id"], "ULN": uln, "item": "break_initiated_by",
                                    "value": who, "StdCode": aim.std, "date": t_break.isoformat()})
            if self.rng.random() < prof["restart"]:
                restart = t_break + timedelta(days=length)
                end_plan = plan_end + timedelta(days=length)
                seq = cur.aimseq + 2
                cur = Aim(ukprn, learnref, seq, aim.std, restart, end_plan, postcode, orig_start=start, restart=True,
                          phours=aim.phours, epa=aim.epa, swsup=self.hexid())
                aims.append(cur)
            else:
                # Never returns: some withdraw from the break (often reported late), others stay on it.
                if self.rng.random() < prof.get("break_withdraw", 0.5):
                    reason = self.pick(WITHDRAW_REASONS, p=WITHDRAW_WEIGHTS)
                    known = t_break + timedelta(days=length + lag())
                    cur.versions.append((known, {"CompStatus": "3", "LearnActEndDate": t_break, "Outcome": "3",
                                                 "WithdrawReason": reason}))
                    self.stop(commitment, t_break, known)
                self.finish(aims, agency, uln)
                return

        if transfers:
            t_tr = cur.start + timedelta(days=int((end_plan - cur.start).days * self.rng.uniform(0.2, 0.6)))
            reason = self.pick(TRANSFER_REASONS, p=TRANSFER_WEIGHTS)
            cur.versions.append((t_tr + timedelta(days=self.days(0, 30)),
                                 {"CompStatus": "3", "LearnActEndDate": t_tr, "Outcome": "3",
                                  "WithdrawReason": reason}))
            new_ukprn = self.pick([p for p in self.providers if p != ukprn])
            new_start = t_tr + timedelta(days=self.days(1, 30))
            new_ref = self.learnref(new_ukprn)
            self.learner(new_ukprn, new_ref, uln, dob, agency["ern"], new_start)
            self.stop(commitment, t_tr, t_tr)
            commitment = self.commitment(uln, agency["agency_id"], new_ukprn, aim.std, new_start, end_plan, host,
                                         continuation_of=commitment["apprenticeship_id"])
            cur = Aim(new_ukprn, new_ref, 1, aim.std, new_start, end_plan, postcode, restart=True,
                      phours=aim.phours, epa=aim.epa, swsup=self.hexid())
            aims.append(cur)

        if withdraws:
            # Many withdrawals come early; some inside the first 42 days.
            frac = self.rng.uniform(0.0, 0.08) if self.rng.random() < 0.12 else self.rng.beta(1.6, 2.4)
            t_w = cur.start + timedelta(days=max(1, int((end_plan - cur.start).days * frac)))
            reason = self.pick(WITHDRAW_REASONS, p=WITHDRAW_WEIGHTS)
            known = t_w + timedelta(days=lag())
            cur.versions.append((known, {"CompStatus": "3", "LearnActEndDate": t_w, "Outcome": "3",
                                         "WithdrawReason": reason}))
            self.stop(commitment, t_w, known)
        else:
            long_over = prof.get("long_overrun", 0.3)
            if self.rng.random() < prof["overrun"]:
                delay = self.days(420, 1000) if self.rng.random() < long_over else self.days(185, 360)
            else:
                delay = self.days(0, 90)
            t_end = end_plan + timedelta(days=delay)
            cur.versions.append((t_end + timedelta(days=self.days(0, 20)),
                                 {"CompStatus": "2", "LearnActEndDate": t_end, "Outcome": "8"}))
            t_epa = t_end + timedelta(days=self.days(20, 110))
            if self.rng.random() < prof["fail"]:
                cur.versions.append((t_epa, {"CompStatus": "2", "LearnActEndDate": t_end, "Outcome": "3"}))
            else:
                cur.versions.append((t_epa, {"CompStatus": "2", "LearnActEndDate": t_end, "Outcome": "1",
                                             "AchDate": t_epa}))
            if t_epa <= EXTRACT_DATE:
                commitment["status"] = "Completed"
            if leaves_agency:
                t_leave = cur.start + timedelta(days=int((t_end - cur.start).days * self.rng.uniform(0.3, 0.8)))
                self.stop(commitment, t_leave, t_leave, keep_status_if_after=True)
                if t_leave <= EXTRACT_DATE:
                    self.commitment(uln, None, cur.ukprn, aim.std, t_leave, max(end_plan, t_leave + timedelta(days=90)),
                                    f"{self.pick(WORDS_A)} {self.pick(HOST_WORDS)} Ltd",
                                    continuation_of=commitment["apprenticeship_id"], model="Regular")
        self.finish(aims, agency, uln)

    def finish(self, aims: list[Aim], agency: dict, uln: str) -> None:
        self.aims.extend(aims)

    def learner(self, ukprn, learnref, uln, dob, ern, start) -> None:
        self.learners[(ukprn, learnref)] = {
            "UKPRN": ukprn, "LearnRefNumber": learnref, "ULN": uln, "DateOfBirth": dob.isoformat(),
            "Ethnicity": self.pick(["31", "32", "33", "34", "35", "36", "37", "38", "39", "40", "41", "42", "43",
                                    "44", "45", "46", "47", "99"],
                                   p=[.70, .01, .01, .03, .01, .01, .01, .01, .01, .03, .02, .01, .03, .02, .02, .01,
                                      .01, .05]),
            "Sex": self.pick(["F", "M"]),
            "LLDDHealthProb": self.pick(["1", "2", "9"], p=[.15, .8, .05]),
            "PriorAttain": self.pick(["2", "3", "4", "5", "9", "98"]),
        }
        self.employment.append({"UKPRN": ukprn, "LearnRefNumber": learnref, "EmpStat": "10",
                                "DateEmpStatApp": (start - timedelta(days=1)).isoformat(), "EmpId": ern})

    def commitment(self, uln, agency_id, ukprn, std, start, plan_end, host, continuation_of=None,
                   model="FlexiJobAgency") -> dict:
        row = {
            "apprenticeship_id": f"AS{self.next_commitment:07d}", "ULN": uln, "agency_id": agency_id,
            "UKPRN": ukprn, "StdCode": std, "start_date": start.isoformat(), "planned_end_date": plan_end.isoformat(),
            "delivery_model": model, "status": "Live" if start <= EXTRACT_DATE else "WaitingToStart",
            "stop_date": None, "host_employer": host, "continuation_of_id": continuation_of,
        }
        self.next_commitment += 1
        self.commitments.append(row)
        return row

    def stop(self, commitment: dict, when: date, known: date, keep_status_if_after: bool = False) -> None:
        """Stop a commitment if the stop was known by the extract date (backdated to ``when``)."""
        if known <= EXTRACT_DATE:
            commitment["status"] = "Stopped"
            commitment["stop_date"] = when.isoformat()

    def regular_apprentices(self, n: int) -> None:
        """Apprentices of ordinary employers at the same providers: they feed FRM, never an agency."""
        for _ in range(n):
            ukprn = self.pick(self.providers)
            start = date(2021, 8, 1) + timedelta(days=self.days(0, 1050))
            std = self.standards.iloc[int(self.rng.integers(len(self.standards)))]
            plan_end = start + timedelta(days=self.pick([366, 456, 548, 730]))
            uln = self.new_uln()
            ref = self.learnref(ukprn)
            self.learner(ukprn, ref, uln, start - timedelta(days=365 * self.days(16, 40)),
                         str(200000000 + self.days(1, 99999)), start)
            aim = Aim(ukprn, ref, 1, str(std["StdCode"]), start, plan_end,
                      self.postcode_in(self.pick(reference.ENGLISH_REGIONS)),
                      phours=(plan_end - start).days * 6 // 7 + 8,
                      epa=f"EPA{self.days(1, 40):04d}", swsup=self.hexid())
            if self.rng.random() < 0.3:
                t = start + timedelta(days=self.days(30, 300))
                aim.versions.append((t, {"CompStatus": "3", "LearnActEndDate": t, "Outcome": "3",
                                         "WithdrawReason": "97"}))
            else:
                t = plan_end + timedelta(days=self.days(0, 60))
                aim.versions.append((t, {"CompStatus": "2", "LearnActEndDate": t, "Outcome": "1", "AchDate": t}))
            self.aims.append(aim)
            self.commitment(uln, None, ukprn, aim.std, start, plan_end, "Employer direct", model="Regular")

    # ------------------------------------------------------------ snapshots
    def snapshot(self, period: Period) -> dict[str, pd.DataFrame]:
        """The four ILR tables as the return for ``period`` would show them."""
        census = period.census
        ystart = period.year.start
        deliveries, fams, seen = [], [], set()
        for aim in self.aims:
            if aim.start > census:
                continue
            state = {"CompStatus": "1"}
            for known, fields in sorted(aim.versions, key=lambda v: v[0]):
                if known <= census:
                    state = fields
            end, ach = state.get("LearnActEndDate"), state.get("AchDate")
            if end is not None and end < ystart and (ach is None or ach < ystart) and state["CompStatus"] != "6":
                continue  # ended before this year: not in this year's return
            if state["CompStatus"] == "6" and end is not None and end < ystart - timedelta(days=730):
                pass  # long breaks stay in the return
            row = {
                "UKPRN": aim.ukprn, "LearnRefNumber": aim.learnref, "AimSeqNumber": str(aim.aimseq),
                "LearnAimRef": "ZPROG001", "AimType": "1", "ProgType": "25", "StdCode": aim.std, "FundModel": "36",
                "LearnStartDate": _d(aim.start), "OrigLearnStartDate": _d(aim.orig_start),
                "LearnPlanEndDate": _d(aim.plan_end), "LearnActEndDate": _d(end), "CompStatus": state["CompStatus"],
                "Outcome": state.get("Outcome"), "WithdrawReason": state.get("WithdrawReason"), "AchDate": _d(ach),
                "DelLocPostCode": aim.postcode, "PartnerUKPRN": None, "PHours": str(aim.phours),
                "OTJActHours": str(int(aim.phours * min(1.0, max(0.0, (census - aim.start).days
                                                                / max(1, (aim.plan_end - aim.start).days))))),
                "EPAOrgID": aim.epa, "SWSupAimId": aim.swsup,
            }
            deliveries.append(row)
            comp = dict(row, AimSeqNumber=str(aim.aimseq + 1), LearnAimRef=f"6{int(aim.std):03d}{aim.aimseq:04d}"[:8],
                        AimType="3", OrigLearnStartDate=None, PHours=None, OTJActHours=None, EPAOrgID=None,
                        SWSupAimId=aim.swsup[:-4] + "c0de")
            if comp["CompStatus"] == "2":
                comp["Outcome"] = "1" if comp["Outcome"] in ("1", "8") else comp["Outcome"]
                comp["AchDate"] = comp["LearnActEndDate"] if comp["Outcome"] == "1" else None
            deliveries.append(comp)
            seen.add((aim.ukprn, aim.learnref))
            fams.append({"UKPRN": aim.ukprn, "LearnRefNumber": aim.learnref, "AimSeqNumber": str(aim.aimseq),
                         "FAMType": "ACT", "FAMCode": "1", "DateFrom": _d(aim.start), "DateTo": None})
            if aim.restart:
                fams.append({"UKPRN": aim.ukprn, "LearnRefNumber": aim.learnref, "AimSeqNumber": str(aim.aimseq),
                             "FAMType": "RES", "FAMCode": "1", "DateFrom": None, "DateTo": None})
        learners = [self.learners[k] for k in sorted(seen)]
        employment = [e for e in self.employment if (e["UKPRN"], e["LearnRefNumber"]) in seen]
        return {
            "learners": pd.DataFrame(learners, columns=LEARNER_COLUMNS),
            "deliveries": pd.DataFrame(deliveries, columns=DELIVERY_COLUMNS),
            "employment": pd.DataFrame(employment, columns=["UKPRN", "LearnRefNumber", "EmpStat", "DateEmpStatApp",
                                                            "EmpId"]),
            "fams": pd.DataFrame(fams, columns=["UKPRN", "LearnRefNumber", "AimSeqNumber", "FAMType", "FAMCode",
                                                "DateFrom", "DateTo"]),
        }

    def build(self) -> tuple[pd.DataFrame, pd.DataFrame, dict[Period, dict[str, pd.DataFrame]]]:
        register = self.make_register()
        self.register_full = register
        for _, agency in register.iterrows():
            self.simulate(agency.to_dict())
        self.regular_apprentices(400)
        # A few agency apprentices have no commitment (linked by employer reference),
        # and a few commitments are waiting to start (no ILR yet).
        drop = set(self.rng.choice(len(self.commitments), size=max(1, len(self.commitments) // 60), replace=False))
        commitments = [c for i, c in enumerate(self.commitments)
                       if not (i in drop and c["delivery_model"] == "FlexiJobAgency"
                               and c["continuation_of_id"] is None)]
        for i in range(5):
            agency = register.iloc[i % len(register)]
            start = EXTRACT_DATE + timedelta(days=20 + i)
            commitments.append({
                "apprenticeship_id": f"AS{self.next_commitment + i:07d}", "ULN": self.new_uln(),
                "agency_id": agency["agency_id"], "UKPRN": agency["_providers"][0],
                "StdCode": str(self.standards.iloc[i]["StdCode"]), "start_date": start.isoformat(),
                "planned_end_date": (start + timedelta(days=400)).isoformat(), "delivery_model": "FlexiJobAgency",
                "status": "WaitingToStart", "stop_date": None, "host_employer": agency["_hosts"][0],
                "continuation_of_id": None,
            })
        snaps = {p: self.snapshot(p) for p in PERIODS}
        public = register[[c for c in register.columns if not c.startswith("_")]]
        return public, pd.DataFrame(commitments), snaps

    def extras(self, register: pd.DataFrame) -> dict[str, pd.DataFrame]:
        """The optional tables: Data Collection Form (break initiator) and apprentice feedback ratings."""
        base = {"steady": 4.2, "high_withdrawals": 3.3, "some_withdrawals": 3.8, "long_breaks": 3.6,
                "mid_breaks": 3.8, "overrunning": 3.7, "mid_overrun": 3.9, "outside_areas": 4.0,
                "low_pass": 3.5, "host_closure": 3.9}
        feedback = [{"agency_id": a, "rating": f"{min(5.0, max(1.0, base[p] + self.extra_rng.normal(0, 0.2))):.1f}",
                     "responses": str(int(max(3, size * self.extra_rng.uniform(0.2, 0.6)))), "period": "2023-24"}
                    for a, p, size in zip(register["agency_id"], self.profiles, register["_size"])]
        known = [c for c in self.collection if c["date"] <= EXTRACT_DATE.isoformat()]  # breaks begun by the extract
        form = pd.DataFrame(known, columns=["agency_id", "ULN", "item", "value", "StdCode", "date"])
        return {"collection_form": form, "feedback": pd.DataFrame(feedback)}


def write_dataset(out: str | Path, agencies: int = 30, seed: int = 20231001, fmt: str = "csv",
                  progress=None, layout: str = "2020-21") -> Path:
    """Generate and write the synthetic dataset in the canonical layout.

    ``fmt`` csv or parquet writes the flat ILR tables; xml writes one ILR
    file per provider and return, in the ``layout`` of a shipped schema
    (2020-21 or 2025-26). The register and commitments are CSV for xml.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    gen = Generator(agencies, seed)
    register, commitments, snaps = gen.build()
    frm_extra = add_frm_cases(snaps, seed)
    flat = "csv" if fmt == "xml" else fmt
    _write(register, out / "register", flat)
    _write(commitments, out / "commitments", flat)
    for name, df in gen.extras(gen.register_full).items():
        _write(df, out / name, flat)
    _write_self_assessments(out, register)
    _write(provider_names(snaps), out / "providers", flat)
    write_rates(import_rates(write_national_rates(out, seed)), out)  # as 'fjaaqa benchmarks import' would
    reviews = earlier_reviews(register)
    if len(reviews):
        _write(reviews, out / "reviews", flat)
    for name, df in frm_extra.items():
        if "/" in name:  # loans/2223/R06 -> slc/2223/R06/loans; earnings/... -> funding/.../earnings
            kind, year, ret = name.split("/")
            folder = out / {"loans": "slc", "earnings": "funding"}[kind] / year / ret
            folder.mkdir(parents=True, exist_ok=True)
            _write(df, folder / kind, flat)
        else:
            _write(df, out / name, flat)
    for period, tables in snaps.items():
        folder = out / "ilr" / period.year.code / period.return_code
        if fmt == "xml" and tables["learners"].empty:
            continue  # no provider had a learner: no ILR file to write
        folder.mkdir(parents=True, exist_ok=True)
        if fmt == "xml":
            write_xml_return(folder, period, tables, layout)
        else:
            for name, df in tables.items():
                _write(df, folder / name, fmt)
        if progress:
            progress(period)
    return out


PROVIDER_PLACES = ["Northgate", "Riverside", "Pennine", "Harbourside", "Fenland", "Moorland", "Shire", "Thames",
                   "Coastal", "Valley", "Midland", "Downs", "Abbey", "Castle", "Forest"]
PROVIDER_KINDS = ["College", "Training Ltd", "Skills Academy", "Learning Partnership", "Apprenticeships Ltd",
                  "Institute of Technology"]
FRM_PROVIDER_NAMES = {COLLEGE: "Northgate Sixth Form College", TRAINING: "Westway Training Ltd",
                      SUBCONTRACTOR: "Brookside Learning Ltd"}


def provider_names(snaps: dict) -> pd.DataFrame:
    """``providers.csv``: a name for every UKPRN in the returns, made from the number (no random draw)."""
    ukprns = sorted({u for tables in snaps.values() for u in tables["learners"]["UKPRN"].astype(str)})
    places, kinds = len(PROVIDER_PLACES), len(PROVIDER_KINDS)
    names = [FRM_PROVIDER_NAMES.get(u) or f"{PROVIDER_PLACES[i % places]} {PROVIDER_KINDS[(i // places + i) % kinds]}"
             for i, u in enumerate(ukprns)]
    seen: dict[str, int] = {}
    for i, n in enumerate(names):  # two providers never share a name
        seen[n] = seen.get(n, 0) + 1
        if seen[n] > 1:
            names[i] = f"{n} ({seen[n]})"
    return pd.DataFrame({"UKPRN": ukprns, "provider_name": names})


# Earlier reviews (reviews.csv) for a few agencies, so the packs show the previous review and the rules that
# depend on it (a plan already in place, an audit) can fire.
EARLIER_REVIEWS = [
    ("FJAA0007", "2023-10-12", "quality_improvement_plan", "",
     "Plan agreed on withdrawals and achievement; quarterly checkpoints with the account manager."),
    ("FJAA0012", "2023-11-02", "enhanced_monitoring", "", "Monthly meetings on withdrawals at two providers."),
    ("FJAA0022", "2023-09-21", "watching_brief", "", "Withdrawals near the threshold; check-ins each return."),
    ("FJAA0004", "2024-01-18", "watching_brief", "", "Achievement rate to watch after two providers merged."),
]


def earlier_reviews(register: pd.DataFrame) -> pd.DataFrame:
    rows = [r for r in EARLIER_REVIEWS if r[0] in set(register["agency_id"])]
    return pd.DataFrame(rows, columns=["agency_id", "review_date", "intervention", "scope", "note"])


# Three agencies keep a self-assessment: one rates itself strong across the board (FJAA0007, whose data are at
# risk: the pack flags the disagreement), one is candid (FJAA0003), one is on track and says so (FJAA0014), and
# marks the three 14-19 partnership statements not applicable (it is in no 14-19 partnership). Every element
# of the catalogue is rated (those not listed at the base rating), every statement answered (unlisted: B).
SELF_ASSESSMENTS = {
    "FJAA0007": ({}, 4, {}, 0.9),
    "FJAA0003": ({"2.3": 2, "3.5": 1, "5.2": 2, "1.4": 2}, 3, {"P03": "A", "P12": "A"}, 0.6),
    "FJAA0014": ({"5.1": 2}, 3, {"P01": "C", "P02": "C", "P03": "N/A", "P04": "N/A", "P05": "N/A"}, 0.8),
}


def _write_self_assessments(out: Path, register: pd.DataFrame) -> None:
    """``DATA/selfassessment/<agency_id>.yaml`` for the agencies above that are on the register."""
    import yaml

    from ..selfassess.frameworks import frameworks
    from ..selfassess.template import fill_programmatically

    ids = [e.id for _, e in frameworks().qif.elements()]
    for agency, (low, base, answers, held) in SELF_ASSESSMENTS.items():
        if agency not in set(register["agency_id"]):
            continue
        ratings = {i: low.get(i, base) for i in ids}
        doc = fill_programmatically(agency, ratings, answers, held, "2024-06-28",
                                    dict.fromkeys(low, "Quality lead"))
        folder = out / "selfassessment"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{agency}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False, width=120), encoding="utf-8")


def write_xml_return(folder: Path, period: Period, tables: dict[str, pd.DataFrame], layout: str) -> list[Path]:
    """One ILR XML file per provider for a return, named the ILR way."""
    from ..inputs.ilr import ilr_file_name, write_ilr

    written = []
    prepared = period.census.isoformat()
    for ukprn in sorted(tables["learners"]["UKPRN"].unique()):
        mine = {name: df[df["UKPRN"] == ukprn] for name, df in tables.items()}
        path = folder / ilr_file_name(ukprn, period.year.code, prepared)
        written.append(write_ilr(path, ukprn, mine, layout, prepared))
    return written


def _write(df: pd.DataFrame, stem: Path, fmt: str) -> None:
    """Write a table as CSV (strings, ISO dates, empty for missing) or Parquet."""
    if fmt == "parquet":
        df.astype("string").to_parquet(stem.with_suffix(".parquet"), index=False)
    else:
        atomic_write(stem.with_suffix(".csv"), csv_text(df))
