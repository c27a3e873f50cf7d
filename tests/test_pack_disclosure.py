"""An agency's copy never lets it work out another agency's figures.

Every comparison in the agency version pools the *other* agencies only, and
only where at least ``comparisons.min_other_agencies`` of them contribute:
knowing its own figures and the pool, an agency learns nothing about any one
other agency unless the pool holds a single one (or, having its own figure
in the pool, by subtracting it). The tests check both on every comparison of
every agency pack of the synthetic data, and the case the issue found: a route
that only one other agency has.
"""

from __future__ import annotations

import pandas as pd
import pytest
from builders import World

from fjaaqa.quality.indicators import INDICATORS
from fjaaqa.reports import pack_sections as sections
from fjaaqa.store.results import load_or_compute
from fjaaqa.synth.demo import write_dataset


@pytest.fixture(scope="module")
def pr(tmp_path_factory):
    root = tmp_path_factory.mktemp("disclosure")
    write_dataset(root / "data")
    return load_or_compute(root / "data", "2324", "R14", results_dir=root / "cache")


def contributors(frame: pd.DataFrame, agency_id: str, den: str = "denominator") -> set[str]:
    return set(frame.loc[(frame["agency_id"] != agency_id) & (frame[den] > 0), "agency_id"])


def test_every_comparison_pools_at_least_three_other_agencies_and_never_the_agency(pr):
    k = sections.min_others()
    assert k == 3
    res = pr.results
    routes = pr.breakdowns[(pr.breakdowns["indicator"] == "achievement_rate") & (pr.breakdowns["dimension"] == "route")]
    shown = withheld = 0
    for a in pr.agencies["agency_id"]:
        for ind in INDICATORS:
            r = res[res["indicator"] == ind.id]
            if ind.id in sections.BANDED:
                for col in ("n_needs_improvement_band", "n_at_risk_band"):
                    pool = sections.others_pooled(r, a, col, "denominator")
                    others = r[(r["agency_id"] != a) & (r["denominator"] > 0)]
                    assert pool is not None and pool["agencies"] == len(others) >= k
                    assert pool["numerator"] == others[col].sum() and pool["denominator"] == others["denominator"].sum()
            else:
                median = sections.others_median(r, a)
                others = r[(r["agency_id"] != a)].dropna(subset=["value"])
                assert median["agencies"] == len(others) >= k
                assert median["value"] == pytest.approx(others["value"].median())
        for row in sections.national_comparison(pr, a, "route"):
            who = contributors(routes[routes["group"] == row["group"]], a)
            if row["others"] is None:
                assert len(who) < k
                withheld += 1
            else:
                assert row["others_agencies"] == len(who) >= k and a not in who
                mine = routes[(routes["group"] == row["group"]) & routes["agency_id"].isin(who)]
                assert row["others"] == pytest.approx(100 * mine["numerator"].sum() / mine["denominator"].sum())
                shown += 1
        fb = next(f for f in sections.context.facts_for(pr, a, k) if f.id == "feedback")
        if fb.present and "the other" in fb.evidence:
            n = int(fb.evidence.split("the other ")[1].split()[0])
            assert n >= k
    assert shown and withheld  # the synthetic data have both kinds of route


def test_an_agency_pack_names_no_other_agency(pr):
    names = dict(zip(pr.agencies["agency_id"], pr.agencies["agency_name"]))
    for a in list(names)[:10]:
        page = "".join(sections.pack(pr, a, "agency", "2024-07-31"))
        for b, name in names.items():
            if b != a:
                assert b not in page and name not in page, (a, b)


def test_a_route_only_one_other_agency_has_is_withheld(tmp_path):
    """The issue's case: with two agencies in a route, 'all agencies' minus its own gave the other's exact result."""
    w = World()
    for agency in ("A1", "A2", "A3", "A4"):
        w.agency(agency)
    achiever = dict(start="2022-09-01", plan_end="2024-03-01", comp="2", end="2024-03-01", outcome="1",
                    ach="2024-05-01")
    non_achiever = dict(start="2022-09-01", plan_end="2024-03-01", comp="3", end="2024-01-15", outcome="3",
                        reason="44")
    # Digital (standard 2) at A1 and A2 only; A3 and A4 train in engineering (standard 3)
    for _ in range(3):
        w.apprentice("A1", std="2", **non_achiever)
    for _ in range(6):
        w.apprentice("A2", std="2", **achiever)
    for agency in ("A3", "A4"):
        for _ in range(4):
            w.apprentice(agency, std="3", **achiever)
    w.write(tmp_path / "d")
    pr = load_or_compute(tmp_path / "d", "2324", "R14", results_dir=tmp_path / "c")
    rows = {r["group"]: r for r in sections.national_comparison(pr, "A1", "route")}
    assert len(rows) == 1
    (route,) = rows
    assert rows[route]["others"] is None and rows[route]["others_agencies"] == 1
    page = sections.indicator(pr, "A1", "achievement_rate", "agency")
    assert "withheld" in page and "100.0%" not in page.split("by route")[-1]  # A2's rate (6 of 6) never shown
