"""Contextual facts and suggested-intervention rules, each at its boundary."""

from __future__ import annotations

import pandas as pd
import pytest

from fjaaqa.quality import context, review
from fjaaqa.quality.context import Fact

ON = dict.fromkeys(("withdrawals", "achievement_rate", "breaks_in_learning", "past_planned_end_date",
                    "outside_approved_areas"), "on_track")


def fired(current, previous=None, earlier=None, facts=None):
    s = review.Situation(dict(ON, **current), previous or {}, earlier or [], facts or [])
    return {(x.intervention, x.scope) for x in review.suggest(s)}


def test_all_on_track_means_no_intervention():
    assert fired({}) == {("no_intervention", "")}


def test_no_data_is_not_on_track_it_asks_for_data():
    # One indicator without data: no "no intervention", but data needed, naming what is missing.
    s = review.Situation(dict(ON, achievement_rate="no_data"), {}, [], [],
                         {"achievement_rate": "the ILR lacks Outcome"})
    out = review.suggest(s)
    assert [(x.intervention, x.scope) for x in out] == [("data_needed", "")]
    assert "achievement rate: the ILR lacks Outcome" in out[0].because
    # Five "no data" (an agency with no apprentices): data needed, never no intervention.
    assert fired(dict.fromkeys(ON, "no_data")) == {("data_needed", "")}
    # An indicator at risk beside one without data: both are said.
    assert fired({"withdrawals": "at_risk", "breaks_in_learning": "no_data"}) >= {
        ("data_needed", ""), ("enhanced_monitoring", "")}


def test_one_needs_improvement_already_earns_enhanced_monitoring():
    # The framework: enhanced monitoring for needs improvement against one or more indicators.
    assert fired({"withdrawals": "needs_improvement"}) == {("watching_brief", ""), ("enhanced_monitoring", "")}
    assert fired({}) == {("no_intervention", "")}  # none: neither


def test_two_needs_improvement_give_the_same_two():
    got = fired({"withdrawals": "needs_improvement", "achievement_rate": "needs_improvement"})
    assert got == {("watching_brief", ""), ("enhanced_monitoring", "")}


def test_needs_improvement_two_years_running_suggests_a_plan():
    got = fired({"withdrawals": "needs_improvement"}, previous={"withdrawals": "needs_improvement"})
    assert ("quality_improvement_plan", "") in got
    assert ("quality_improvement_plan", "") not in fired({"withdrawals": "needs_improvement"},
                                                         previous={"withdrawals": "on_track"})
    # up from at risk last year is progress, not a reason for a plan
    assert ("quality_improvement_plan", "") not in fired({"withdrawals": "needs_improvement"},
                                                         previous={"withdrawals": "at_risk"})


def test_at_risk_suggests_monitoring_and_a_plan_not_a_watching_brief():
    got = fired({"withdrawals": "at_risk", "achievement_rate": "needs_improvement"})
    assert got == {("enhanced_monitoring", ""), ("quality_improvement_plan", "")}


def test_at_risk_again_after_a_plan_suggests_an_audit_and_after_an_audit_removal():
    base = {"withdrawals": "at_risk"}
    assert ("external_audit", "") not in fired(base, previous={"withdrawals": "at_risk"})
    assert ("external_audit", "") in fired(base, previous={"withdrawals": "at_risk"},
                                           earlier=["quality_improvement_plan"])
    assert ("external_audit", "") not in fired(base, previous={"withdrawals": "needs_improvement"},
                                               earlier=["quality_improvement_plan"])
    assert ("removal", "") in fired(base, earlier=["quality_improvement_plan", "external_audit"])


def test_restriction_is_scoped_to_the_route_where_the_problem_sits():
    f = Fact("concentration_withdrawals", "c", True, "8 of 10 (80%) are in one route: Digital.",
             scope="route: Digital")
    assert ("restrict_starts", "route: Digital") in fired({"withdrawals": "at_risk"}, facts=[f])
    provider = Fact("concentration_withdrawals", "c", True, "x", scope="training provider: 10000001")
    assert not any(i == "restrict_starts" for i, _ in fired({"withdrawals": "at_risk"}, facts=[provider]))


def test_at_risk_on_two_indicators_suggests_a_restriction_across_the_agency():
    one = fired({"withdrawals": "at_risk"})
    assert not any(i == "restrict_starts" for i, _ in one)
    two = fired({"withdrawals": "at_risk", "achievement_rate": "at_risk"})
    assert ("restrict_starts", review.AGENCY_WIDE) in two
    assert review.scope_words(review.AGENCY_WIDE) == "across the whole agency"
    # concentrated in one route as well: one restriction, across the agency, saying where it is sharpest
    f = Fact("concentration_withdrawals", "c", True, "8 of 10 (80%) are in one route: Digital.",
             scope="route: Digital")
    s = review.Situation(dict(ON, withdrawals="at_risk", achievement_rate="at_risk"), {}, [], [f])
    starts = [x for x in review.suggest(s) if x.intervention == "restrict_starts"]
    assert len(starts) == 1 and starts[0].scope == review.AGENCY_WIDE
    assert starts[0].rule == "at_risk_widespread, at_risk_concentrated" and "sharpest in the route: Digital" in \
        starts[0].because
    assert review.scope_words("route: Digital") == "limited to the route: Digital"


def test_the_frameworks_other_interventions_are_listed_never_suggested():
    from fjaaqa.reports.pack_sections import pack_params

    others = pack_params()["other_interventions"]
    assert len(others) == 4 and any("reservations" in o for o in others)
    rules = review.review_rules(review.review_params())
    assert {r["suggest"] for r in rules} <= set(review.review_params()["interventions"])
    assert not any("reservation" in t.lower() for t in review.review_params()["interventions"].values())


@pytest.mark.parametrize("rule,words", [
    ({"id": "x", "when": "no_such_condition", "suggest": "watching_brief"}, "unknown condition"),
    ({"id": "x", "when": "any_at_risk", "suggest": "no_such_thing"}, "unknown intervention"),
    ({"id": "x", "when": "at_risk_on_at_least", "suggest": "restrict_starts"}, "needs a count"),
    ({"id": "x", "when": "at_risk_on_at_least", "suggest": "restrict_starts", "count": 0}, "count"),
])
def test_a_bad_review_rule_is_one_line(rule, words):
    from fjaaqa.errors import InputError

    params = dict(review.review_params(), rules=[rule])
    with pytest.raises(InputError, match=words):
        review.suggest(review.Situation(dict(ON)), params)


def test_outside_areas_for_discussion():
    assert ("discussion", "") in fired({"outside_approved_areas": "for_discussion"})


def test_every_suggestion_says_which_rule_fired_and_why():
    s = review.Situation(dict(ON, withdrawals="at_risk"), {}, [], [])
    out = review.suggest(s)
    assert all(x.rule and "withdrawals" in x.because for x in out)


P = context.context_params()


@pytest.mark.parametrize("total,present", [(29, True), (30, False), (0, True)])
def test_small_cohort_boundary(total, present):
    assert context.small_cohort(total, P).present is present


@pytest.mark.parametrize("registered,present", [("2023-08-01", True), ("2023-07-31", False), ("2023-08-15", True)])
def test_new_agency_boundary(registered, present):
    # census 31 July 2024: 31 July 2023 is exactly 12 months (not new); 1 August 2023 is 11 months
    assert context.new_agency(registered, "2024-07-31", P).present is present


def test_withdrawal_reasons_and_timing():
    w = pd.DataFrame({"WithdrawReason": ["97", "98", "29", "44", None], "withdrawn_from":
                      ["apprenticeship"] * 4 + ["agency"], "withdrawal_days_in": [10, 41, 42, 200, 400]})
    r = context.withdrawal_reasons(w, P)
    assert "other or not known 2 (40%)" in r.evidence and "redundancy 1 (20%)" in r.evidence
    assert "left the agency while the apprenticeship went on 1" in r.evidence
    t = context.withdrawal_timing(w, 42)
    assert t.evidence.startswith("2 of 5 within 42 days")


def test_concentration_threshold():
    results = pd.DataFrame([{"indicator": "withdrawals", "status": "at_risk", "numerator": 10, "denominator": 20}])
    def bd(top):
        return pd.DataFrame([{"indicator": "withdrawals", "dimension": "route", "group": "Digital", "numerator": top,
                              "denominator": 12},
                             {"indicator": "withdrawals", "dimension": "route", "group": "Care services",
                              "numerator": 10 - top, "denominator": 8}])
    assert context.concentration(bd(6), results, P)[0].present is True  # exactly 60 %
    assert context.concentration(bd(5), results, P)[0].present is False


def test_changes_since_the_previous_return():
    from fjaaqa.quality.results import PackResults
    from fjaaqa.reports.pack_sections import changes

    trend = pd.DataFrame([
        {"agency_id": "A", "period": "2023-24 R06", "period_order": 0, "indicator": "withdrawals",
         "status": "on_track"},
        {"agency_id": "A", "period": "2023-24 R14", "period_order": 1, "indicator": "withdrawals", "status": "at_risk"},
        {"agency_id": "A", "period": "2023-24 R06", "period_order": 0, "indicator": "achievement_rate",
         "status": "at_risk"},
        {"agency_id": "A", "period": "2023-24 R14", "period_order": 1, "indicator": "achievement_rate",
         "status": "at_risk"},
    ])
    pr = PackResults(meta={"year": "2023-24", "return": "R14"}, tables={"trend": trend})
    assert changes(pr, "A") == [{"title": "Withdrawals", "from": "on_track", "to": "at_risk", "since": "2023-24 R06"}]


def test_apprentice_initiated_breaks():
    on_break = pd.DataFrame({"agency_id": "A", "ULN": ["1", "2", "3", "4"], "days_on_break": [200, 400, 100, 365]})
    assert context.apprentice_initiated_breaks(on_break, None, 180).present is None  # not available
    form = pd.DataFrame({"agency_id": "A", "ULN": ["1", "2", "3"], "item": "break_initiated_by",
                         "value": ["apprentice", "employer", "apprentice"]})
    f = context.apprentice_initiated_breaks(on_break, form, 180)
    # long breaks: ULN 1 (apprentice), 2 (employer), 4 (no entry); ULN 3 is under 180 days
    assert f.evidence.startswith("1 of 3 apprentices on a break of 180+ days asked for it")
    assert "1 have no entry" in f.evidence and f.mitigating is False


def test_feedback_is_response_weighted_and_compared_with_the_others_only():
    t = pd.DataFrame({"agency_id": ["A", "A", "B", "C", "D"], "rating": ["4.0", "2.0", "5.0", "3.0", "4.0"],
                      "responses": ["30", "10", "40", "20", "20"]})
    f = context.feedback(t, "A", 3)
    # A: (4*30 + 2*10) / 40 = 3.5; the others B, C, D: (200 + 60 + 80) / 80 = 4.25 -> 4.2 (one decimal), A left out
    assert "average rating 3.5 out of 5 from 40 responses (the other 3 agencies 4.2)" in f.evidence
    # with only two other agencies the comparison would let A work out one of them: withheld
    two = context.feedback(t[t["agency_id"] != "D"], "A", 3)
    assert "no comparison" in two.evidence and "4.4" not in two.evidence
    assert context.feedback(None, "A", 3).present is None
