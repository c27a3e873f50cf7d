"""The five Quality Framework indicators as DuckDB SQL over the dataset's views.

The pandas path (:func:`fjaaqa.quality.results.compute`) stays the tested
reference; this module gives the same ``results`` table, row for row, from
the views of :mod:`fjaaqa.inputs.views`, so a national-size dataset never
has to pass through pandas one apprentice at a time.

Everything per aim or per apprentice is SQL, in temporary tables named
``qf_*``, one step per pandas function:

- ``qf_aims``, ``qf_commitments``, ``qf_linked``: programme aims linked to
  agencies (``inputs.link.programme_aims`` and ``link_aims``), every return
  up to the period;
- ``qf_grouped``: one row per apprentice and return
  (``apprentices.group_apprenticeships``), for the measured returns and,
  in the others, for the apprentices ``qf_late`` looks back at
  (``qf_history_keys``);
- ``qf_late``, ``qf_regions``, ``qf_measured``: the state at a census, with
  late-reported withdrawals, the workplace region (once per postcode) and
  the approvals in force (``late_reported_from``, ``period_state``,
  ``results.measure_period``), for the period and the earlier returns the
  outside-areas streak needs;
- ``qf_pool_best``, ``qf_pool``, ``qf_qar``: the achievement-rate pool and
  each aim's classification (``qar.pool_aims``, ``qar.classify_aims``).

Only the per-agency sums come back to Python, where the existing
``classify_*`` functions judge them with exact fractions, so a status can
never differ between the engines by a rounding. Every threshold and reading
comes from the :class:`ThresholdSet` as a bound parameter; the SQL text holds
only ILR code values that the pandas code also writes literally.
"""

from __future__ import annotations

import pandas as pd

from ..errors import InputError
from ..inputs import areas, reference
from ..inputs.views import bound
from ..periods import Period, make_period
from .apprentices import STATE_AWAITING, STATE_BREAK, STATE_COMPLETED, STATE_CONTINUING, STATE_WITHDRAWN
from .indicators import INDICATORS, classify_counts, share_above
from .results import agencies_in_period, mark_not_available
from .thresholds import ThresholdSet

# As qar.classify_aims: "a later aim starts, however long after" is a window this wide.
FOLLOW_ANY_DAYS = 10**6

# The aims' FAM types the SQL reads (FAM_RES, a restart): the only ones an opening for it puts on the deliveries.
FAM_TYPES = ("RES",)

# The per-agency sums each indicator's classify step reads, in the pandas count_* column order.
COUNT_COLUMNS = {
    "withdrawals": ["denominator", "numerator"],
    "achievement_rate": ["denominator", "numerator", "completers"],
    "breaks_in_learning": ["denominator", "n_at_risk_band", "n_needs_improvement_band"],
    "past_planned_end_date": ["denominator", "n_at_risk_band", "n_needs_improvement_band"],
    "outside_approved_areas": ["denominator", "numerator", "approvals_known", "region_unknown", "route_unknown"],
}

# aim_state (apprentices.aim_state): the state an aim shows, first match wins.
AIM_STATE = f"""CASE
    WHEN CompStatus = '1' THEN '{STATE_CONTINUING}'
    WHEN CompStatus = '6' THEN '{STATE_BREAK}'
    WHEN CompStatus = '2' AND (Outcome IS NULL OR Outcome = '8') AND AchDate IS NULL THEN '{STATE_AWAITING}'
    WHEN CompStatus = '2' THEN '{STATE_COMPLETED}'
    WHEN CompStatus = '3' THEN '{STATE_WITHDRAWN}'
    ELSE '{STATE_CONTINUING}' END"""

MACROS = [
    # numpy's maximum: missing if either is missing (DuckDB's greatest skips NULLs, pandas' np.maximum does not).
    "CREATE OR REPLACE TEMP MACRO qf_npmax(a, b) AS CASE WHEN a IS NULL OR b IS NULL THEN NULL ELSE greatest(a, b) END",
    # The academic start year of a date (2023 for any date of 2023-24), as qar._year_start.
    "CREATE OR REPLACE TEMP MACRO qf_year_start(d) AS CASE WHEN month(d) >= 8 THEN year(d) ELSE year(d) - 1 END",
    # A condition that is false where pandas' comparison with a missing value would be.
    "CREATE OR REPLACE TEMP MACRO qf_true(c) AS coalesce(c, false)",
    # A dated approval or placement in force on a day (an empty end is open).
    'CREATE OR REPLACE TEMP MACRO qf_in_force(d, lo, hi) AS (lo IS NULL OR lo <= d) AND (hi IS NULL OR hi >= d)',
    # Whether one of an agency's approvals of a kind (a list of value, from, to) covers a value on a day: its own
    # or the approval of everything (``everything``), in force that day.
    "CREATE OR REPLACE TEMP MACRO qf_allows(approvals, v, d, everything) AS list_bool_or(list_transform(approvals, "
    'lambda x: qf_true((x.value = everything OR x.value = v) AND qf_in_force(d, x."from", x."to"))))',
]

# ---------------------------------------------------------------- linking (inputs/link.py)

# One return's programme aims, with the learner's ULN; run once per return into qf_aims. Joining return by return
# (each a few hundred thousand learners) took 8 s at national size against 12.5 s for one join across all returns.
AIMS = """
INSERT INTO qf_aims
SELECT p.prank, d.UKPRN, d.LearnRefNumber, CAST(d.AimSeqNumber AS BIGINT) AS AimSeqNumber, d.StdCode,
       coalesce(d.StdCode, '') AS std_key, d.LearnStartDate, d.OrigLearnStartDate, d.LearnPlanEndDate,
       d.LearnActEndDate, d.CompStatus, d.Outcome, d.WithdrawReason, d.AchDate, d.DelLocPostCode, d.FAM_RES, l.ULN
FROM deliveries d
JOIN qf_periods p ON p.year = d.year AND p.return_code = d.return_code
LEFT JOIN (SELECT UKPRN, LearnRefNumber, ULN FROM learners WHERE year = $aims_year AND return_code = $aims_return) l
     ON l.UKPRN = d.UKPRN AND l.LearnRefNumber = d.LearnRefNumber
WHERE d.year = $aims_year AND d.return_code = $aims_return
  AND d.AimType = '1' AND d.FundModel = '36' AND (d.ProgType IS NULL OR d.ProgType = '25')
"""
AIMS_TABLE = """
CREATE OR REPLACE TEMP TABLE qf_aims (prank BIGINT, UKPRN VARCHAR, LearnRefNumber VARCHAR, AimSeqNumber BIGINT,
    StdCode VARCHAR, std_key VARCHAR, LearnStartDate DATE, OrigLearnStartDate DATE, LearnPlanEndDate DATE,
    LearnActEndDate DATE, CompStatus VARCHAR, Outcome VARCHAR, WithdrawReason VARCHAR, AchDate DATE,
    DelLocPostCode VARCHAR, FAM_RES VARCHAR, ULN VARCHAR)
"""

# agency_commitments, then the latest commitment per apprenticeship within one agency.
COMMITMENTS = """
CREATE OR REPLACE TEMP TABLE qf_commitments AS
SELECT ULN, UKPRN, StdCode, agency_id, apprenticeship_id, status AS commitment_status,
       stop_date AS commitment_stop, start_date AS commitment_start
FROM commitments
WHERE agency_id IN (SELECT agency_id FROM register) AND list_contains($delivery_models, delivery_model)
QUALIFY row_number() OVER (PARTITION BY ULN, UKPRN, StdCode, agency_id
                           ORDER BY start_date DESC NULLS LAST, apprenticeship_id DESC NULLS LAST) = 1
"""

# Linked on ULN, UKPRN and StdCode; on ULN and UKPRN alone in a return whose aims carry no StdCode at all
# ($no_std_ranks, found first). One join with the StdCode as a condition on the pairs it finds took 4.3 s at
# national size, where a join for each kind of return and their union took 6.7 s. Neither the host employer nor
# StdCode is carried (no later step reads them: they use std_key); at national size the host employer alone was
# 400 MB of the table.
NO_STD_RANKS = "SELECT prank FROM qf_aims GROUP BY prank HAVING NOT bool_or(StdCode IS NOT NULL) ORDER BY prank"
LINKED = """
CREATE OR REPLACE TEMP TABLE qf_linked AS
SELECT a.* EXCLUDE (StdCode), c.agency_id, c.apprenticeship_id, c.commitment_status, c.commitment_stop,
       c.commitment_start, 'commitment' AS link_basis
FROM qf_aims a JOIN qf_commitments c ON c.ULN = a.ULN AND c.UKPRN = a.UKPRN
     AND (list_contains(CAST($no_std_ranks AS BIGINT[]), a.prank) OR c.StdCode = a.StdCode)
"""

# The fallback for aims with no Apprenticeship Service record at all: the employer at the aim's start is the
# agency's employer reference. Every aim linked above has a record on its ULN and UKPRN, so "no record" alone
# leaves them out. Only the employment of those aims' learners goes into the ASOF join: sorting every
# learner's employment in every return took 9.5 s at national size, this 2.9 s.
LINKED_BY_ERN = """
INSERT INTO qf_linked
WITH rest AS (
    SELECT a.* FROM qf_aims a
    WHERE NOT EXISTS (SELECT 1 FROM commitments c WHERE c.ULN = a.ULN AND c.UKPRN = a.UKPRN)
), emp AS (
    SELECT e.UKPRN, e.LearnRefNumber, e.DateEmpStatApp, e.EmpId, p.prank
    FROM employment e JOIN qf_periods p ON p.year = e.year AND p.return_code = e.return_code
    WHERE e.DateEmpStatApp IS NOT NULL
      AND EXISTS (SELECT 1 FROM rest r WHERE r.prank = p.prank AND r.UKPRN = e.UKPRN
                  AND r.LearnRefNumber = e.LearnRefNumber)
), at_start AS (
    SELECT r.*, emp.EmpId FROM rest r
    ASOF LEFT JOIN emp ON emp.prank = r.prank AND emp.UKPRN = r.UKPRN AND emp.LearnRefNumber = r.LearnRefNumber
                      AND r.LearnStartDate >= emp.DateEmpStatApp
)
SELECT s.* EXCLUDE (EmpId, StdCode), g.agency_id, NULL, NULL, NULL, NULL, 'ern'
FROM at_start s JOIN register g ON g.ern = s.EmpId
"""

# ---------------------------------------------------------------- apprentices (quality/apprentices.py)

def _of(cols: str, alias: str) -> str:
    """``cols`` (a comma-separated list) each taken from the table ``alias``."""
    return ", ".join(f"{alias}.{c}" for c in cols.split(", "))


def _same(keys: str, left: str, right: str) -> str:
    """Join condition: ``left`` and ``right`` agree on every one of ``keys`` (a missing value matching a missing one).

    As a window's PARTITION BY puts missing values together, so must the joins that split its rows.
    """
    return " AND ".join(f"{left}.{k} IS NOT DISTINCT FROM {right}.{k}" for k in keys.split(", "))


# The groups of rows that a window must order. Nearly every apprentice has one aim in a return (11.1 million
# groups of 11.6 million linked aims at national size), and a group of one is its own answer, so only the groups
# of more than one go through the window: sorting every wide row was 34 of 109 s at national size, this 13.
GROUP_KEYS = "prank, agency_id, ULN, std_key"
# The latest aim's fields the later steps read (qf_late, qf_measured): writing only these, not every linked
# column, took the grouping from 12.1 s to 8.5 s at national size.
GROUPED_FIELDS = ("prank, agency_id, ULN, std_key, state, LearnActEndDate, LearnPlanEndDate, commitment_status, "
                  "commitment_stop, apprenticeship_id, DelLocPostCode")

# The apprentices whose earlier returns late_reported_from reads: those with an aim withdrawn in a measured
# return (a few more than those whose latest aim there is withdrawn, which is all it needs). Only the measured
# returns read the rest of an earlier return's groups: at national size 5.4 of 11.6 million linked aims are grouped.
HISTORY_KEYS = """
CREATE OR REPLACE TEMP TABLE qf_history_keys AS
SELECT DISTINCT l.agency_id, l.ULN, l.std_key
FROM qf_linked l JOIN qf_periods p ON p.prank = l.prank AND p.is_target
WHERE l.CompStatus = '3'
"""

# group_apprenticeships: per return, one row per (agency, ULN, standard) from the latest aim, for the measured
# returns and the apprentices above. The order after UKPRN breaks ties the way the pandas stable sort does where
# it can (commitment links before employer-reference ones, an aim's commitments in date order). A group of one
# aim: it is the latest, its first start is its own, and no aim follows it, so it has no earlier withdrawal.
GROUPED = f"""
CREATE OR REPLACE TEMP TABLE qf_grouped AS
WITH a AS (
    SELECT l.*, {AIM_STATE} AS state,
           CASE WHEN OrigLearnStartDate < LearnStartDate THEN OrigLearnStartDate ELSE LearnStartDate END AS start0
    FROM qf_linked l JOIN qf_periods p ON p.prank = l.prank
    WHERE p.is_target OR EXISTS (SELECT 1 FROM qf_history_keys k
                                 WHERE k.agency_id = l.agency_id AND k.ULN = l.ULN AND k.std_key = l.std_key)
), several AS (SELECT {GROUP_KEYS} FROM a GROUP BY ALL HAVING count(*) > 1
), s AS (
    SELECT *,
           lead(LearnStartDate) OVER w AS next_start,
           row_number() OVER w AS pos,
           count(*) OVER (PARTITION BY {GROUP_KEYS}) AS n_aims
    FROM (SELECT a.* FROM a SEMI JOIN several n ON {_same(GROUP_KEYS, "n", "a")})
    WINDOW w AS (PARTITION BY {GROUP_KEYS}
                 ORDER BY LearnStartDate, AimSeqNumber, UKPRN, link_basis, LearnRefNumber,
                          commitment_start NULLS FIRST, apprenticeship_id NULLS FIRST)
), f AS (
    SELECT *,
           qf_true(state = '{STATE_WITHDRAWN}' AND list_contains($transfer_withdraw_reasons, WithdrawReason)
                   AND (next_start - LearnActEndDate) BETWEEN 0 AND $transfer_window_days) AS continuing_transfer
    FROM s
)
SELECT {GROUPED_FIELDS},
       min(start0) OVER k AS first_start,
       max(CASE WHEN state = '{STATE_WITHDRAWN}' AND NOT continuing_transfer AND next_start IS NOT NULL
                THEN LearnActEndDate END) OVER k AS earlier_withdrawal
FROM f
WINDOW k AS (PARTITION BY {GROUP_KEYS})
QUALIFY pos = n_aims
UNION ALL
SELECT {_of(GROUPED_FIELDS, "a")}, a.start0 AS first_start,
       CAST(NULL AS DATE) AS earlier_withdrawal
FROM a ANTI JOIN several n ON {_same(GROUP_KEYS, "n", "a")}
"""

# late_reported_from: a withdrawal that an earlier return showed continuing or on a break at a census after
# its end date counts from the start of the year it was first reported withdrawn in.
LATE = f"""
CREATE OR REPLACE TEMP TABLE qf_late AS
WITH cur AS (
    SELECT g.prank, g.agency_id, g.ULN, g.std_key, g.LearnActEndDate AS end_date, p.ystart
    FROM qf_grouped g JOIN qf_periods p ON p.prank = g.prank
    WHERE p.is_target AND g.state = '{STATE_WITHDRAWN}'
), hist AS (
    SELECT c.*, h.prank AS hrank, h.state AS hstate, hp.census AS hcensus
    FROM cur c
    JOIN qf_grouped h ON h.agency_id = c.agency_id AND h.ULN = c.ULN AND h.std_key = c.std_key AND h.prank < c.prank
    JOIN qf_periods hp ON hp.prank = h.prank
), first_wd AS (
    SELECT prank, agency_id, ULN, std_key, min(hrank) FILTER (WHERE hstate = '{STATE_WITHDRAWN}') AS fw_rank
    FROM hist GROUP BY ALL
)
SELECT h.prank, h.agency_id, h.ULN, h.std_key, coalesce(any_value(fp.ystart), any_value(h.ystart)) AS late
FROM hist h JOIN first_wd f USING (prank, agency_id, ULN, std_key)
LEFT JOIN qf_periods fp ON fp.prank = f.fw_rank
GROUP BY h.prank, h.agency_id, h.ULN, h.std_key
HAVING bool_or(qf_true(h.hstate IN ('{STATE_CONTINUING}', '{STATE_BREAK}') AND h.hcensus > h.end_date
                       AND (f.fw_rank IS NULL OR h.hrank < f.fw_rank)))
"""

# Each workplace postcode's region (reference.regions_for), worked out once per distinct postcode of the measured
# apprentices and the placements: at national size 3,586 postcodes stand for 5 million apprentices.
REGIONS = """
CREATE OR REPLACE TEMP TABLE qf_regions AS
WITH pcs AS (
    SELECT DISTINCT g.DelLocPostCode AS postcode
    FROM qf_grouped g JOIN qf_periods p ON p.prank = g.prank AND p.is_target
    WHERE g.DelLocPostCode IS NOT NULL
    UNION
    SELECT postcode FROM placements WHERE postcode IS NOT NULL
), keyed AS (
    SELECT postcode, upper(regexp_replace(postcode, '\\s+', '', 'g')) AS pc_key FROM pcs
), parsed AS (
    SELECT *, regexp_extract(pc_key, $postcode_pattern, 1) AS pc_area,
           regexp_extract(pc_key, $postcode_pattern, 2) AS pc_district
    FROM keyed
)
SELECT x.postcode,
       CASE WHEN list_contains($unknown_postcodes, x.pc_key) OR NOT regexp_matches(x.pc_key, $postcode_pattern)
                THEN $unknown
            WHEN bp.pc_key IS NOT NULL THEN bp.region
            WHEN bd.district IS NOT NULL THEN bd.region
            WHEN ar.area IS NOT NULL THEN ar.region
            ELSE $unknown END AS region
FROM parsed x
LEFT JOIN qf_by_postcode bp ON bp.pc_key = x.pc_key
LEFT JOIN qf_by_district bd ON bd.district = x.pc_area || x.pc_district
LEFT JOIN qf_postcode_areas ar ON ar.area = x.pc_area
"""

# period_state, the breakdown attributes the indicators read (route, workplace region) and outside_areas.
MEASURED = f"""
CREATE OR REPLACE TEMP TABLE qf_measured AS
WITH g AS (
    SELECT g.*, p.census, p.ystart, l.late
    FROM qf_grouped g JOIN qf_periods p ON p.prank = g.prank AND p.is_target
    LEFT JOIN qf_late l ON l.prank = g.prank AND l.agency_id = g.agency_id AND l.ULN = g.ULN AND l.std_key = g.std_key
), e AS (
    SELECT *,
           state IN ('{STATE_COMPLETED}', '{STATE_WITHDRAWN}') AS final,
           CASE WHEN state IN ('{STATE_COMPLETED}', '{STATE_WITHDRAWN}')
                THEN CASE WHEN late IS NULL THEN LearnActEndDate ELSE qf_npmax(LearnActEndDate, late) END
           END AS effective_end,
           CASE WHEN qf_true(commitment_status = 'Stopped' AND commitment_stop <= census) THEN commitment_stop
           END AS stop0
    FROM g
), s AS (
    SELECT *, CASE WHEN late IS NOT NULL AND stop0 IS NOT NULL THEN qf_npmax(stop0, late) ELSE stop0 END AS stop1
    FROM e
), l AS (
    SELECT *,
           qf_true(first_start <= census) AND NOT qf_true(final AND effective_end < ystart)
               AND NOT qf_true(stop1 < ystart) AS live,
           qf_true(state = '{STATE_WITHDRAWN}' AND effective_end BETWEEN ystart AND census) AS wd_ilr,
           CASE WHEN state IN ('{STATE_CONTINUING}', '{STATE_BREAK}', '{STATE_WITHDRAWN}') THEN stop1 END AS agency_stop
    FROM s
), w AS (
    SELECT *,
           wd_ilr OR qf_true(earlier_withdrawal BETWEEN ystart AND census) AS wd_apprenticeship,
           qf_true(agency_stop BETWEEN ystart AND census) AS wd_agency,
           live AND agency_stop IS NULL AS with_agency
    FROM l
), placed AS (
    SELECT p.prank, x.apprenticeship_id, x.postcode
    FROM placements x CROSS JOIN qf_periods p
    WHERE p.is_target AND x.postcode IS NOT NULL
    QUALIFY row_number() OVER (
        PARTITION BY p.prank, x.apprenticeship_id
        ORDER BY qf_true(qf_in_force(p.census, x."from", x."to")) DESC,
                 x."from" DESC NULLS LAST, x.postcode) = 1
), placed_on AS (
    SELECT w.*, coalesce(pl.postcode, w.DelLocPostCode) AS workplace_postcode,
           coalesce(st.route, $unknown) AS route
    FROM w
    LEFT JOIN placed pl ON pl.prank = w.prank AND pl.apprenticeship_id = w.apprenticeship_id
    LEFT JOIN qf_standards st ON st.StdCode = w.std_key
), region AS (
    SELECT x.*, coalesce(r.region, $unknown) AS region
    FROM placed_on x LEFT JOIN qf_regions r ON r.postcode = x.workplace_postcode
), judged AS (
    SELECT r.*, coalesce(len(a.sectors), 0) > 0 AS has_sector, coalesce(len(a.regions), 0) > 0 AS has_region,
           has_sector AND r.route IS NOT NULL AND r.route <> $unknown
               AND NOT qf_allows(a.sectors, r.route, r.as_at, $all) AS outside_sector,
           has_region AND r.region IS NOT NULL AND r.region <> $unknown
               AND NOT qf_allows(a.regions, r.region, r.as_at, $all) AS outside_region
    FROM (SELECT *, CASE WHEN $approvals_at_start THEN first_start ELSE census END AS as_at FROM region) r
    LEFT JOIN qf_agency_approvals a ON a.agency_id = r.agency_id
)
SELECT prank, agency_id, ULN, std_key, state, live, route, region,
       live AND (wd_apprenticeship OR wd_agency) AS withdrawn_in_year,
       CASE WHEN with_agency AND state = '{STATE_BREAK}' THEN census - LearnActEndDate END AS days_on_break,
       CASE WHEN with_agency AND state IN ('{STATE_CONTINUING}', '{STATE_AWAITING}')
            THEN census - LearnPlanEndDate END AS days_past_planned_end,
       CASE WHEN live AND state = '{STATE_COMPLETED}' AND qf_true(LearnActEndDate BETWEEN ystart AND census)
            THEN LearnActEndDate - LearnPlanEndDate END AS completed_late_days,
       has_sector OR has_region AS approvals_known,
       outside_sector OR outside_region AS outside
FROM judged
"""

# ---------------------------------------------------------------- achievement rate (quality/qar.py)

# pool_aims: the period's aims and every earlier year's R14, the latest version of each aim, and the year of
# the earliest return that shows it ended. One pass groups every linked row by aim. The latest pooled version
# is the greatest by (return, link basis, learner reference, aim number, commitment start, apprenticeship id),
# a missing commitment start or id counting below any other, as pandas' descending sort with missing last
# takes it; an aim's pool_id is that row's rowid. Nearly always an aim has one row in each return, so the
# latest return alone decides: the pass takes the row of the latest pooled return, and marks the aims with two
# pooled rows in one return (a power of two for each row's return: the sum of those differs from their bitwise
# or only when two rows share a return, or two returns 64 apart). Only those are settled by the whole order,
# afterwards. At national size the whole order for every aim took 6.1 s of the pool's 8.5 s; this pass 2.6 s.
# (A window over the pool, a second grouping for the year reported and a join of the two took 18.6 s.)
POOL_KEYS = "agency_id, UKPRN, ULN, std_key, LearnStartDate"
POOL_BEST = f"""
CREATE OR REPLACE TEMP TABLE qf_pool_best AS
SELECT {_of(POOL_KEYS, "l")},
       arg_max(l.rowid, l.prank) FILTER (WHERE p.in_pool) AS pool_id,
       min(p.start_year) FILTER (WHERE l.CompStatus IN ('2', '3', '6')) AS year_reported,
       sum(1::HUGEINT << (l.prank % 64)) FILTER (WHERE p.in_pool)
           <> bit_or(1::HUGEINT << (l.prank % 64)) FILTER (WHERE p.in_pool) AS tied
FROM qf_linked l JOIN qf_periods p ON p.prank = l.prank
GROUP BY {_of(POOL_KEYS, "l")}
HAVING bool_or(p.in_pool)
"""
POOL_TIES = f"""
UPDATE qf_pool_best b SET pool_id = s.pool_id
FROM (
    SELECT {_of(POOL_KEYS, "l")},
           arg_max(l.rowid, struct_pack(r := l.prank, b := l.link_basis, n := l.LearnRefNumber, s := l.AimSeqNumber,
                                        c := coalesce(l.commitment_start, DATE '0001-01-01'),
                                        i := coalesce(l.apprenticeship_id, ''))) AS pool_id
    FROM qf_linked l JOIN qf_periods p ON p.prank = l.prank AND p.in_pool
    SEMI JOIN (SELECT * FROM qf_pool_best WHERE tied) t ON {_same(POOL_KEYS, "t", "l")}
    GROUP BY ALL
) s
WHERE b.tied AND {_same(POOL_KEYS, "s", "b")}
"""
POOL = """
CREATE OR REPLACE TEMP TABLE qf_pool AS
SELECT l.rowid AS pool_id, l.*, b.year_reported FROM qf_linked l JOIN qf_pool_best b ON b.pool_id = l.rowid
"""


# classify_aims: leaver, completer, achiever for the review year.
QAR = f"""
CREATE OR REPLACE TEMP TABLE qf_qar AS
WITH a AS (
    SELECT *, {AIM_STATE} AS aim_state,
           qf_true(list_contains(string_split(FAM_RES, ';'), '1')) OR OrigLearnStartDate IS NOT NULL AS restart,
           LearnPlanEndDate - LearnStartDate + 1 AS planned_days,
           LearnActEndDate - LearnStartDate + 1 AS days_in
    FROM qf_pool
), follow AS (
    SELECT a.pool_id,
           bool_or(o.std_key = a.std_key AND (o.LearnStartDate - a.LearnActEndDate) BETWEEN 0 AND $follow_any)
               AS follow_same_standard,
           bool_or(o.UKPRN = a.UKPRN AND (o.LearnStartDate - a.LearnActEndDate) BETWEEN 0 AND $reason_40_window_days)
               AS follow_same_provider
    FROM a JOIN a o ON o.agency_id = a.agency_id AND o.ULN = a.ULN AND o.pool_id <> a.pool_id
    WHERE a.LearnActEndDate IS NOT NULL
    GROUP BY a.pool_id
), c AS (
    SELECT a.*,
           a.aim_state = '{STATE_WITHDRAWN}' AS withdrawn,
           a.aim_state = '{STATE_BREAK}' AS brk,
           qf_true(f.follow_same_standard) AS follow_same_standard,
           qf_true(f.follow_same_provider) AS follow_same_provider
    FROM a LEFT JOIN follow f USING (pool_id)
), x AS (
    SELECT *,
           CASE
               WHEN aim_state = '{STATE_CONTINUING}' THEN 'in learning'
               WHEN aim_state = '{STATE_AWAITING}' THEN 'awaiting assessment outcome'
               WHEN brk AND follow_same_standard THEN 'break with restart'
               WHEN withdrawn AND qf_true(planned_days >= $qualifying_planned_days
                                          AND days_in < $qualifying_in_learning_days) AND NOT restart
                   THEN 'withdrew in qualifying period'
               WHEN withdrawn AND qf_true(list_contains($transfer_reasons, WithdrawReason)) THEN 'transfer'
               WHEN withdrawn AND qf_true(WithdrawReason = '40') AND follow_same_provider THEN 'transfer to new aim'
               WHEN $exclude_reason_2 AND withdrawn AND qf_true(WithdrawReason = '2') AND follow_same_standard
                   THEN 'transfer, continues'
               ELSE '' END AS exclusion,  -- only whether an aim has one counts (pandas words them for case lists)
           greatest(qf_year_start(LearnPlanEndDate), qf_year_start(LearnActEndDate), qf_year_start(AchDate),
                    year_reported) AS hybrid0,
           brk AND NOT follow_same_standard AS overdue_break
    FROM c
), h AS (
    SELECT *,
           CASE WHEN overdue_break THEN qf_npmax(hybrid0, qf_year_start(LearnActEndDate) + $break_overdue_years)
                ELSE hybrid0 END AS hybrid_end_year
    FROM x
)
SELECT agency_id,
       exclusion = '' AND qf_true(hybrid_end_year = $start_year)
           AND aim_state IN ('{STATE_COMPLETED}', '{STATE_WITHDRAWN}', '{STATE_BREAK}') AS leaver,
       aim_state = '{STATE_COMPLETED}' AS completed,
       qf_true(Outcome = '1') AS achieved
FROM h
"""

# ---------------------------------------------------------------- per-agency sums

def _banded(days: str, prefix: str) -> str:
    """Per agency: live apprentices, those in the at-risk band and in the needs-improvement band (``_band_counts``).

    ``days`` is the day count's SQL; the thresholds and the banding are the
    ``<prefix>_at_risk_days``, ``<prefix>_needs_improvement_days`` and
    ``<prefix>_cumulative`` parameters.
    """
    return f"""
        WITH d AS (SELECT agency_id, live, {days} AS days FROM qf_current)
        SELECT agency_id, count_if(live) AS denominator,
               count_if(live AND days >= ${prefix}_at_risk_days) AS n_at_risk_band,
               count_if(live AND days >= ${prefix}_needs_improvement_days
                        AND (${prefix}_cumulative OR days < ${prefix}_at_risk_days)) AS n_needs_improvement_band
        FROM d GROUP BY agency_id"""


AGENCY_SUMS = {
    "withdrawals": """
        SELECT agency_id, count_if(live) AS denominator, count_if(live AND withdrawn_in_year) AS numerator
        FROM qf_current GROUP BY agency_id""",
    "achievement_rate": """
        SELECT agency_id, count_if(leaver) AS denominator, count_if(leaver AND completed AND achieved) AS numerator,
               count_if(leaver AND completed) AS completers
        FROM qf_qar WHERE agency_id IN (SELECT agency_id FROM qf_agencies) GROUP BY agency_id""",
    "breaks_in_learning": _banded("days_on_break", "brk"),
    "past_planned_end_date": _banded("CASE WHEN $include_completed_late THEN coalesce(days_past_planned_end, "
                                     "completed_late_days) ELSE days_past_planned_end END", "ppe"),
    "outside_approved_areas": """
        SELECT agency_id, count_if(live) AS denominator, count_if(live AND outside) AS numerator,
               count_if(live AND approvals_known) AS approvals_known,
               count_if(live AND region = $unknown) AS region_unknown,
               count_if(live AND route = $unknown) AS route_unknown
        FROM qf_current GROUP BY agency_id""",
}

# The apprentices the period's results count: measured at its census, of the agencies on the register then.
CURRENT = """
CREATE OR REPLACE TEMP TABLE qf_current AS
SELECT * FROM qf_measured WHERE prank = $prank AND agency_id IN (SELECT agency_id FROM qf_agencies)
"""

# The outside-areas share of every agency with apprentices at each earlier return the streak looks at.
EARLIER_OUTSIDE = """
SELECT prank, agency_id, count_if(live) AS denominator, count_if(live AND outside) AS numerator,
       count_if(live AND approvals_known) AS approvals_known
FROM qf_measured WHERE prank < $prank GROUP BY prank, agency_id ORDER BY prank, agency_id
"""

TEMP_TABLES = ["qf_periods", "qf_agencies", "qf_standards", "qf_postcode_areas", "qf_by_postcode", "qf_by_district",
               "qf_names", "qf_approvals", "qf_agency_approvals", "qf_aims", "qf_commitments", "qf_linked",
               "qf_history_keys", "qf_grouped", "qf_late", "qf_regions", "qf_measured", "qf_current", "qf_pool_best",
               "qf_pool", "qf_qar"]


# ---------------------------------------------------------------- running it

# The steps in the order they run: the pool straight after the grouping, as both read the linked aims (the
# largest working table, 3 GB at national size) and nothing after them does.
STEPS = (HISTORY_KEYS, GROUPED, POOL_BEST, POOL_TIES, POOL, LATE, REGIONS, MEASURED, CURRENT, QAR)
# The working tables no later step reads, dropped once the step named has run (DuckDB has 1 GB in all).
DONE_AFTER = {GROUPED: ["qf_history_keys"], POOL: ["qf_linked", "qf_pool_best"],
              MEASURED: ["qf_grouped", "qf_late", "qf_regions"], QAR: ["qf_pool"]}


def indicator_results_sql(con, period: Period, t: ThresholdSet, absent: dict | None = None,
                          data_dir=None) -> pd.DataFrame:
    """Every agency's five indicators for ``period``: ``compute(ds, period, t).results``, from ``con``'s views.

    ``absent`` is the loader's record of optional columns a file lacked
    (``Dataset.absent``): an indicator whose ILR column the period's
    deliveries file did not have is "not available", as in the pandas path.
    ``data_dir`` only names the folder when the period has no ILR data.
    """
    periods = _periods(con, period, t, data_dir)
    params = _params(period, t, current=len(periods) - 1)
    _reference_tables(con)
    agencies = agencies_in_period(con.sql("SELECT * FROM register").df(), period)
    _put(con, "qf_agencies", agencies[["agency_id"]])
    for sql in MACROS:
        con.execute(sql)
    con.execute(AIMS_TABLE)
    for p in periods:
        _run(con, AIMS, {**params, "aims_year": p.year.code, "aims_return": p.return_code})
    _run(con, COMMITMENTS, params)
    params["no_std_ranks"] = [r for (r,) in con.execute(NO_STD_RANKS).fetchall()]
    _run(con, LINKED, params)
    if t.readings.link.use_ern_fallback:
        _run(con, LINKED_BY_ERN, params)
    _drop(con, ["qf_aims", "qf_commitments"])  # at national size each working table is hundreds of megabytes
    for sql in STEPS:
        _run(con, sql, params)
        _drop(con, DONE_AFTER.get(sql, []))

    runs = _earlier_outside_runs(con, periods, t, params)
    ids = agencies[["agency_id"]]
    results = []
    for ind in INDICATORS:
        sums = _run(con, AGENCY_SUMS[ind.id], params).df()
        counts = ids.merge(sums[["agency_id"] + COUNT_COLUMNS[ind.id]], on="agency_id", how="left")
        counts = counts.fillna({c: 0 for c in counts.columns if c != "agency_id"})
        if ind.id == "outside_approved_areas":
            counts["earlier_returns_above"] = counts["agency_id"].map(runs).fillna(0).astype(int)
        results.append(classify_counts(counts, ind, t))
    _drop(con)

    # As results.compute does with the classified rows.
    res = mark_not_available(pd.concat(results, ignore_index=True), absent or {}, period)
    res = res.merge(agencies[["agency_id", "agency_name"]], on="agency_id", how="left")
    res.insert(1, "year", period.year.label)
    res.insert(2, "return", period.return_code)
    res["threshold_set"] = t.name
    return res


def _periods(con, period: Period, t: ThresholdSet, data_dir) -> list[Period]:
    """The returns up to ``period`` as ``qf_periods``: rank, census, year start, and which ones are measured.

    Measured (``is_target``): the period itself and the earlier returns
    whose outside-areas shares make the "routinely" streak. In the
    achievement-rate pool (``in_pool``): the period and every earlier
    year's R14.
    """
    rows = con.sql("SELECT DISTINCT year, return_code FROM dataset_returns").fetchall()
    loaded = sorted(p for p in (make_period(y, r) for y, r in rows) if p <= period)
    if period not in loaded:
        raise InputError(f"no ILR data for {period.year.label} {period.return_code} "
                         f"(expected folder ilr/{period.year.code}/{period.return_code})",
                         file=str(data_dir) if data_dir is not None else None)
    need = t.indicators.outside_approved_areas.consecutive_returns - 1
    earlier = [p for p in loaded if p < period][-need:] if need > 0 else []
    frame = pd.DataFrame({
        "prank": range(len(loaded)),
        "year": [p.year.code for p in loaded],
        "return_code": [p.return_code for p in loaded],
        "census": pd.to_datetime([p.census for p in loaded]),
        "ystart": pd.to_datetime([p.year.start for p in loaded]),
        "start_year": [p.year.start_year for p in loaded],
        "is_target": [p == period or p in earlier for p in loaded],
        "in_pool": [p == period or (p.return_code == "R14" and p.year < period.year) for p in loaded],
    })
    _put(con, "qf_periods", frame, dates=["census", "ystart"])
    return loaded


def _params(period: Period, t: ThresholdSet, current: int) -> dict:
    """Every value the SQL binds: the threshold set's numbers and readings, and the reference constants.

    ``prank`` is the period's rank in ``qf_periods`` (the last one).
    """
    ind, rd = t.indicators, t.readings
    brk, ppe = ind.breaks_in_learning, ind.past_planned_end_date
    return {
        "prank": current,
        "start_year": period.year.start_year,
        "delivery_models": list(rd.link.delivery_models),
        "transfer_withdraw_reasons": list(rd.identity.transfer_withdraw_reasons),
        "transfer_window_days": rd.identity.transfer_window_days,
        "qualifying_planned_days": rd.qar.qualifying_planned_days,
        "qualifying_in_learning_days": rd.qar.qualifying_in_learning_days,
        "transfer_reasons": list(rd.qar.transfer_reasons),
        "reason_40_window_days": rd.qar.reason_40_window_days,
        "exclude_reason_2": rd.qar.withdraw_reason_2 == "exclude_if_continues",
        "break_overdue_years": rd.qar.break_overdue_years,
        "follow_any": FOLLOW_ANY_DAYS,
        "brk_at_risk_days": brk.at_risk_days,
        "brk_needs_improvement_days": brk.needs_improvement_days,
        "brk_cumulative": brk.banding == "cumulative",
        "ppe_at_risk_days": ppe.at_risk_days,
        "ppe_needs_improvement_days": ppe.needs_improvement_days,
        "ppe_cumulative": ppe.banding == "cumulative",
        "include_completed_late": ppe.include_completed_late,
        "approvals_at_start": ind.outside_approved_areas.approvals_as_at == "start",
        "unknown": reference.UNKNOWN,
        "all": areas.ALL,
        "unknown_postcodes": sorted(reference.UNKNOWN_POSTCODES),
        "postcode_pattern": reference.POSTCODE.pattern,
    }


def _reference_tables(con) -> None:
    """The small lookups: standards' routes, postcode areas and overrides, route and region names, approvals.

    Each is built the way :mod:`fjaaqa.inputs.reference` and
    :mod:`fjaaqa.inputs.areas` build theirs, so a name or postcode reads the
    same in both engines; the approvals come from the register and
    ``approvals`` view in SQL.
    """
    shipped = reference.shipped_standards()[["StdCode", "route"]]
    _put(con, "qf_shipped_standards", shipped)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE qf_standards AS
        SELECT StdCode, route FROM standards
        UNION ALL
        SELECT StdCode, route FROM qf_shipped_standards s
        WHERE NOT EXISTS (SELECT 1 FROM standards u WHERE u.StdCode = s.StdCode)""")
    con.execute("DROP TABLE qf_shipped_standards")
    table = reference.postcode_areas()
    by_area = dict(zip(table["area"], table["region"]))
    _put(con, "qf_postcode_areas", pd.DataFrame({"area": list(by_area), "region": list(by_area.values())}))
    # A user's postcodes.csv: by whole postcode (spaces removed, upper case) or by district.
    con.execute("""
        CREATE OR REPLACE TEMP TABLE qf_by_postcode AS
        SELECT upper(regexp_replace(postcode, '\\s+', '', 'g')) AS pc_key, max(region) AS region
        FROM postcodes WHERE postcode IS NOT NULL AND postcode <> '' GROUP BY ALL""")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE qf_by_district AS
        SELECT regexp_replace(upper(district), '^\\s+|\\s+$', '', 'g') AS district, max(region) AS region
        FROM postcodes WHERE district IS NOT NULL AND district <> '' GROUP BY ALL""")
    names = [("sector", k, v) for k, v in areas.route_names().items()]
    names += [("region", k, v) for k, v in areas.region_names().items()]
    _put(con, "qf_names", pd.DataFrame(names, columns=["kind", "key", "name"]))
    # approvals_table: the register's lists (unless approvals.csv dates that kind for the agency) and approvals.csv.
    con.execute("""
        CREATE OR REPLACE TEMP TABLE qf_approvals AS
        WITH split AS (
            SELECT agency_id, 'sector' AS kind, unnest(string_split(approved_routes, ';')) AS value FROM register
            UNION ALL
            SELECT agency_id, 'region' AS kind, unnest(string_split(approved_regions, ';')) AS value FROM register
        ), listed AS (
            SELECT agency_id, kind, regexp_replace(value, '^\\s+|\\s+$', '', 'g') AS value FROM split s
            WHERE NOT EXISTS (SELECT 1 FROM approvals a WHERE a.agency_id = s.agency_id AND a.kind = s.kind)
        ), raw AS (
            SELECT agency_id, kind, value, NULL::DATE AS "from", NULL::DATE AS "to" FROM listed WHERE value <> ''
            UNION ALL
            SELECT agency_id, kind, regexp_replace(value, '^\\s+|\\s+$', '', 'g'), "from", "to" FROM approvals
        )
        SELECT raw.agency_id, raw.kind, coalesce(n.name, raw.value) AS value, raw."from", raw."to"
        FROM raw LEFT JOIN qf_names n ON n.kind = raw.kind AND n.key = lower(raw.value)""")
    # Each agency's approvals of a kind as one list, which qf_measured reads with the agency: a correlated
    # NOT EXISTS over the approvals table took 4 s at national size.
    con.execute("""
        CREATE OR REPLACE TEMP TABLE qf_agency_approvals AS
        SELECT agency_id,
               list({'value': value, 'from': "from", 'to': "to"}) FILTER (WHERE kind = 'sector') AS sectors,
               list({'value': value, 'from': "from", 'to': "to"}) FILTER (WHERE kind = 'region') AS regions
        FROM qf_approvals GROUP BY agency_id""")


def _earlier_outside_runs(con, periods: list[Period], t: ThresholdSet, params: dict) -> pd.Series:
    """How many returns in a row just before the period each agency was above the outside-areas share.

    The shares are SQL sums per agency and return; the streak is the pandas
    path's loop over them (``results._earlier_outside_runs``), with its
    exact comparison. A return with no apprentices at all breaks every
    streak, as there.
    """
    th = t.indicators.outside_approved_areas
    need = th.consecutive_returns - 1
    current = len(periods) - 1
    earlier = list(range(current))[-need:] if need > 0 else []
    shares = _run(con, EARLIER_OUTSIDE, params).df()
    streak: dict[str, int] = {}
    for rank in earlier:
        rows = shares[shares["prank"] == rank]
        above = {r.agency_id for r in rows.itertuples()
                 if r.denominator and r.approvals_known
                 and share_above(r.numerator, r.denominator, th.for_discussion_share_above)}
        streak = {a: (streak.get(a, 0) + 1 if a in above else 0) for a in set(streak) | above}
    return pd.Series(streak, dtype="int64")


def _run(con, sql: str, params: dict):
    """Execute ``sql`` with the parameters it names (DuckDB refuses unused ones)."""
    return con.execute(sql, bound(sql, params))


def _put(con, name: str, frame: pd.DataFrame, dates: tuple[str, ...] | list[str] = ()) -> None:
    """A small pandas frame as a temp table (dates as DATE)."""
    con.register(f"_{name}_frame", frame)
    cols = ", ".join(f'CAST("{c}" AS DATE) AS "{c}"' if c in dates else f'"{c}"' for c in frame.columns)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {cols} FROM _{name}_frame")
    con.unregister(f"_{name}_frame")


def _drop(con, names: list[str] | None = None) -> None:
    """Remove the named working tables, by default all of them (the views stay)."""
    for name in TEMP_TABLES if names is None else names:
        con.execute(f"DROP TABLE IF EXISTS {name}")
