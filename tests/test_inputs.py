"""Real inputs: ILR XML (reference files, broken corpus, round trip) and flat files with faults."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from builders import valid_uln
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fjaaqa.errors import InputError
from fjaaqa.inputs import ilr
from fjaaqa.inputs.sources import load_dataset

FIX = Path(__file__).parent / "fixtures"
REF = FIX / "ilr"
BROKEN = FIX / "broken"

# Counted independently of the reader (grep for each opening tag).
REFERENCE_COUNTS = {
    "ILR-sample-1819.xml": dict(Learner=18, LearningDelivery=41, LearnerFAM=18, LearningDeliveryFAM=90,
                                LearnerEmploymentStatus=17, EmploymentStatusMonitoring=26,
                                LearningDeliveryWorkPlacement=2),
    "ILR-99999999-2526-20250108-094401.xml": dict(Learner=19, LearningDelivery=35, LearnerFAM=16,
                                                  LearningDeliveryFAM=62, LearnerEmploymentStatus=14,
                                                  EmploymentStatusMonitoring=20, LearningDeliveryWorkPlacement=1),
    "ILR-10033670-1819-20181212-103550-36.xml": dict(Learner=100, LearningDelivery=204, LearnerFAM=0,
                                                     LearningDeliveryFAM=550, LearnerEmploymentStatus=100,
                                                     EmploymentStatusMonitoring=200,
                                                     LearningDeliveryWorkPlacement=0),
    "ILR-10033670-1819-20180704-120055-03.xml": dict(Learner=669, LearningDelivery=885, LearnerFAM=215,
                                                     LearningDeliveryFAM=1858, LearnerEmploymentStatus=663,
                                                     EmploymentStatusMonitoring=1326,
                                                     LearningDeliveryWorkPlacement=0),
}


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "fjaaqa.cli", *args], capture_output=True, text=True, timeout=300,
                          cwd=cwd)


@pytest.mark.parametrize("name,counts", REFERENCE_COUNTS.items())
def test_reference_files_convert_whole(name, counts):
    tables = ilr.read_ilr(REF / name)
    assert tables.counts == counts
    f = tables.frames()
    assert len(f["learners"]) == counts["Learner"]
    assert len(f["deliveries"]) == counts["LearningDelivery"]
    assert len(f["employment"]) == counts["LearnerEmploymentStatus"]
    assert len(f["fams"]) == counts["LearnerFAM"] + counts["LearningDeliveryFAM"]
    assert len(f["workplacements"]) == counts["LearningDeliveryWorkPlacement"]
    # no FAM lost when a type repeats on one aim
    fams = f["fams"].dropna(subset=["AimSeqNumber"])
    assert len(fams) == counts["LearningDeliveryFAM"]
    # direct identifiers are not read
    for col in ("FamilyName", "GivenNames", "AddLine1", "Postcode", "Email", "TelNo", "NINumber"):
        assert col not in f["learners"]
    assert f["learners"]["ULN"].notna().all() and f["deliveries"]["AimSeqNumber"].notna().all()


def test_2025_26_prior_attainment_takes_the_latest_level():
    f = ilr.read_ilr(REF / "ILR-99999999-2526-20250108-094401.xml").frames()["learners"].set_index("LearnRefNumber")
    # counted by hand from the file: AdultLearner has one PriorAttain entity (level 1), ASLearner level 2
    assert f.loc["AdultLearner", "PriorAttain"] == "1"
    assert f.loc["ASLearner", "PriorAttain"] == "2"
    assert pd.isna(f.loc["16Learner", "PriorAttain"])


def test_employment_monitoring_becomes_columns():
    e = ilr.read_ilr(REF / "ILR-sample-1819.xml").frames()["employment"]
    esm = [c for c in e.columns if c.startswith("ESM_")]
    assert esm and e[esm].notna().sum().sum() == 26


@pytest.mark.parametrize("variant", ["no_namespace.xml", "namespace_2017.xml"])
def test_any_namespace_or_none(variant):
    a = ilr.read_ilr(REF / "ILR-99999999-2526-20250108-094401.xml").frames()
    b = ilr.read_ilr(BROKEN / variant).frames()
    for name in a:
        pd.testing.assert_frame_equal(a[name].drop(columns=["_file"]), b[name].drop(columns=["_file"]))


@pytest.mark.parametrize("name,words", [
    ("truncated.xml", "not well-formed XML at line"),
    ("not_xml.xml", "not well-formed XML"),
    ("wrong_namespace.xml", "not an ILR namespace"),
    ("wrong_root.xml", "not an ILR file"),
    ("empty.xml", "the file is empty"),
])
def test_broken_xml_stops_with_one_line(tmp_path, name, words):
    with pytest.raises(InputError, match=words):
        ilr.read_ilr(BROKEN / name)
    p = cli("ilr", "convert", str(BROKEN / name), "--out", str(tmp_path / "o"))
    assert p.returncode == 2 and words in p.stderr and "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def xml_dataset(root: Path, *xml: Path) -> Path:
    folder = root / "ilr" / "2324" / "R14"
    folder.mkdir(parents=True)
    for f in xml:
        shutil.copy(f, folder / f.name)
    (root / "register.csv").write_text("agency_id,agency_name\nA1,One\n")
    (root / "commitments.csv").write_text("ULN,agency_id,UKPRN,StdCode,delivery_model\n")
    return root


def test_bad_rows_in_xml_are_quarantined_with_their_line(tmp_path):
    data = xml_dataset(tmp_path / "d", BROKEN / "bad_rows.xml")
    v = cli("validate", "--data", str(data), "--out", str(tmp_path / "v"))
    assert v.returncode == 1, v.stderr
    rej = pd.read_csv(tmp_path / "v" / "rejected.csv", dtype=str)
    got = {(r.field, r.value, r.rule) for r in rej.itertuples()}
    assert ("CompStatus", "9", "allowed_code") in got
    assert ("FundModel", "77", "allowed_code") in got
    assert ("LearnStartDate", "2023-02-30", "real_date") in got
    assert ("LearnPlanEndDate", "2023-05-01", "plan_end_before_start") in got
    assert ("LearnRefNumber", "GOOD1", "duplicate_key") in got
    assert set(rej["file"]) == {"ilr/2324/R14/bad_rows.xml"}
    # the row is the line of the element in the XML file
    source = (BROKEN / "bad_rows.xml").read_text().splitlines()
    for r in rej.itertuples():
        assert "<" in source[int(r.row) - 1]
    rec = pd.read_csv(tmp_path / "v" / "reconciliation.csv")
    assert (rec["rows_read"] == rec["rows_used"] + rec["rows_rejected"]).all()
    learners = rec[rec["table"] == "learners"].iloc[0]
    assert (learners["rows_read"], learners["rows_rejected"]) == (6, 1)


def test_folder_with_both_xml_and_tables_is_refused(tmp_path):
    data = xml_dataset(tmp_path / "d", BROKEN / "bad_rows.xml")
    (data / "ilr" / "2324" / "R14" / "learners.csv").write_text("UKPRN,LearnRefNumber,ULN\n")
    p = cli("validate", "--data", str(data))
    assert p.returncode == 2 and "both ILR XML files and" in p.stderr


def flat_dataset(root: Path, learners: Path | None = None, deliveries: Path | None = None) -> Path:
    folder = root / "ilr" / "2324" / "R14"
    folder.mkdir(parents=True)
    (root / "register.csv").write_text("agency_id,agency_name\nA1,One\n")
    (root / "commitments.csv").write_text("ULN,agency_id,UKPRN,StdCode,delivery_model\n")
    shutil.copy(learners or BROKEN / "csv" / "learners_bom.csv", folder / "learners.csv")
    if deliveries:
        shutil.copy(deliveries, folder / "deliveries.csv")
    else:
        (folder / "deliveries.csv").write_text("UKPRN,LearnRefNumber,AimSeqNumber,LearnAimRef,AimType,FundModel,"
                                               "LearnStartDate,LearnPlanEndDate,CompStatus\n"
                                               "10000001,L1,1,ZPROG001,1,36,2023-09-01,2025-03-01,1\n")
    return root


@pytest.mark.parametrize("name", ["learners_bom.csv", "learners_extra_columns.csv"])
def test_csv_variants_that_read(tmp_path, name):
    ds = load_dataset(flat_dataset(tmp_path, learners=BROKEN / "csv" / name))
    learners = next(iter(ds.returns.values())).learners
    assert list(learners["LearnRefNumber"]) == ["L1", "L2"] and ds.rejected.empty
    assert "UKPRN" in learners.columns  # the BOM is not part of the first header


@pytest.mark.parametrize("name,words", [
    ("learners_semicolons.csv", "semicolons"),
    ("learners_latin1.csv", "not UTF-8"),
])
def test_csv_variants_that_stop(tmp_path, name, words):
    p = cli("validate", "--data", str(flat_dataset(tmp_path, learners=BROKEN / "csv" / name)))
    assert p.returncode == 2 and words in p.stderr and "ilr/2324/R14/learners.csv" in p.stderr


def test_duplicate_learner_is_quarantined(tmp_path):
    ds = load_dataset(flat_dataset(tmp_path, learners=BROKEN / "csv" / "learners_duplicate.csv"))
    assert ds.rejected[["row", "rule"]].values.tolist() == [[4, "duplicate_key"]]


def test_missing_required_column(tmp_path):
    data = flat_dataset(tmp_path, deliveries=BROKEN / "csv" / "deliveries_missing_column.csv")
    p = cli("validate", "--data", str(data))
    assert p.returncode == 2 and "required column 'CompStatus' is missing" in p.stderr


def test_bad_values_each_quarantined_with_its_rule(tmp_path):
    ds = load_dataset(flat_dataset(tmp_path, deliveries=BROKEN / "csv" / "deliveries_bad_values.csv"))
    got = sorted(zip(ds.rejected["row"], ds.rejected["rule"]))
    assert got == [(3, "date_format"), (3, "real_date"), (4, "withdrawn_needs_reason"), (5, "allowed_code"),
                   (6, "continuing_has_no_end"), (7, "duplicate_key"), (8, "learnref_format")] or got == [
        (3, "real_date"), (4, "withdrawn_needs_reason"), (5, "allowed_code"), (6, "continuing_has_no_end"),
        (7, "duplicate_key"), (8, "learnref_format")]
    deliveries = next(iter(ds.returns.values())).deliveries
    assert len(deliveries) == 1


def test_xsd_reports_line_numbers(tmp_path):
    p = cli("ilr", "convert", str(REF / "ILR-sample-1819.xml"), "--out", str(tmp_path / "o"), "--schema",
            str(REF / "ILR-2018-19-v3.xsd"))
    assert p.returncode == 1
    assert "line 42:" in p.stderr and "line 1760:" in p.stderr
    assert pd.read_csv(tmp_path / "o" / "learners.csv").shape[0] == 18  # still read whole
    ok = cli("ilr", "convert", str(REF / "ILR-10033670-1819-20181212-103550-36.xml"), "--out", str(tmp_path / "p"),
             "--format", "parquet", "--schema", str(REF / "ILR-2018-19-v3.xsd"))
    assert ok.returncode == 0, ok.stderr
    assert len(pd.read_parquet(tmp_path / "p" / "deliveries.parquet")) == 204


# ------------------------------------------------------------------ round trip

codes = st.sampled_from
dates = st.dates(min_value=date(2018, 8, 1), max_value=date(2025, 7, 31)).map(date.isoformat)


@st.composite
def provider_tables(draw):
    n = draw(st.integers(1, 6))
    learners, deliveries, employment, fams = [], [], [], []
    for i in range(n):
        ref = f"R{i:04d}"
        learners.append({"UKPRN": "10000001", "LearnRefNumber": ref, "ULN": valid_uln(i), "DateOfBirth": draw(dates),
                         "Ethnicity": draw(codes(["31", "40", "99"])), "Sex": draw(codes(["F", "M"])),
                         "LLDDHealthProb": draw(codes(["1", "2", "9"])), "PriorAttain": draw(codes(["2", "3", "99"]))})
        employment.append({"UKPRN": "10000001", "LearnRefNumber": ref, "EmpStat": "10", "DateEmpStatApp": draw(dates),
                           "EmpId": str(draw(st.integers(100000000, 999999999)))})
        for seq in range(1, draw(st.integers(1, 3)) + 1):
            comp = draw(codes(["1", "2", "3", "6"]))
            start = draw(dates)
            d = {"UKPRN": "10000001", "LearnRefNumber": ref, "AimSeqNumber": str(seq), "LearnAimRef": "ZPROG001",
                 "AimType": draw(codes(["1", "3"])), "LearnStartDate": start, "LearnPlanEndDate": draw(dates),
                 "FundModel": "36", "ProgType": "25", "StdCode": str(draw(st.integers(1, 400))),
                 "DelLocPostCode": "LS1 4AP", "CompStatus": comp,
                 "LearnActEndDate": draw(dates) if comp != "1" else None,
                 "WithdrawReason": "97" if comp == "3" else None, "Outcome": "3" if comp == "3" else None}
            deliveries.append(d)
            for t in draw(st.lists(codes(["ACT", "RES", "LDM"]), max_size=3)):
                fams.append({"UKPRN": "10000001", "LearnRefNumber": ref, "AimSeqNumber": str(seq), "FAMType": t,
                             "FAMCode": "1", "DateFrom": start if t == "ACT" else None, "DateTo": None})
    return {"learners": pd.DataFrame(learners), "deliveries": pd.DataFrame(deliveries),
            "employment": pd.DataFrame(employment),
            "fams": pd.DataFrame(fams, columns=["UKPRN", "LearnRefNumber", "AimSeqNumber", "FAMType", "FAMCode",
                                                "DateFrom", "DateTo"])}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tables=provider_tables(), layout=st.sampled_from(["2020-21", "2025-26"]))
def test_round_trip_tables_xml_tables(tmp_path, tables, layout):
    path = ilr.write_ilr(tmp_path / f"rt-{layout}.xml", "10000001", tables, layout, "2024-07-31")
    xsd = REF / ("ILR-2020-21-v1.xsd" if layout == "2020-21" else "ILR-2025-26.xsd")
    assert ilr.validate_xsd(path, xsd) == []
    back = ilr.read_ilr(path).frames()
    for name, df in tables.items():
        got = back[name][list(df.columns)].reset_index(drop=True)
        want = df.astype("str").where(df.notna()).reset_index(drop=True)
        pd.testing.assert_frame_equal(got, want, check_dtype=False), name


def test_synth_xml_gives_the_same_results_and_packs_as_flat(tmp_path):
    from fjaaqa.reports import pack_sections as sections
    from fjaaqa.store.results import load_or_compute
    from fjaaqa.synth.demo import write_dataset

    flat = write_dataset(tmp_path / "flat", agencies=3, seed=11)
    xml = write_dataset(tmp_path / "xml", agencies=3, seed=11, fmt="xml")
    files = list((xml / "ilr" / "2324" / "R14").glob("ILR-*-2324-20240731-120000-01.xml"))
    assert files and all(ilr.validate_xsd(f, REF / "ILR-2020-21-v1.xsd") == [] for f in files[:3])
    a = load_or_compute(flat, "2324", "R14", results_dir=tmp_path / "c")
    b = load_or_compute(xml, "2324", "R14", results_dir=tmp_path / "c")
    for name in ("results", "previous", "breakdowns", "apprentices", "aims"):
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
    agency = a.agencies["agency_id"].iloc[0]
    # every section but the annex (which lists the input files) is identical
    assert sections.pack(a, agency, "dfe", "2024-07-31")[:-1] == sections.pack(b, agency, "dfe", "2024-07-31")[:-1]
    j1 = cli("indicators", "--data", str(flat), "--year", "2324", "--return", "R14", "--format", "json")
    j2 = cli("indicators", "--data", str(xml), "--year", "2324", "--return", "R14", "--format", "json")
    assert j1.returncode == 0 and json.loads(j1.stdout) == json.loads(j2.stdout)


def test_employment_monitoring_codes_are_checked(tmp_path):
    data = flat_dataset(tmp_path)
    (data / "ilr" / "2324" / "R14" / "employment.csv").write_text(
        "UKPRN,LearnRefNumber,EmpStat,DateEmpStatApp,EmpId,ESM_EII,ESM_ZZZ\n"
        "10000001,L1,10,2023-08-01,123456789,4,7\n"   # EII 4 is a code; ZZZ is no type we know: unchecked
        "10000001,L2,10,2023-08-01,123456789,99,\n")  # EII 99 is not
    ds = load_dataset(data)
    assert ds.rejected[["row", "rule"]].values.tolist() == [[3, "esm_code"]]


def test_reviews_take_intervention_ids_and_refuse_unknown_ones():
    """Intervention ids hold underscores (``quality_improvement_plan``): read as ids, not as upper-case codes."""
    from fjaaqa.inputs.schemas import REVIEWS, validate

    df = pd.DataFrame({"agency_id": ["FJAA0007", "FJAA0012", "FJAA0004"],
                       "review_date": ["2023-10-12", "2023-11-02", "2023-09-21"],
                       "intervention": ["quality_improvement_plan", "enhanced_monitoring", "no_such_step"],
                       "scope": [pd.NA] * 3, "note": ["Plan agreed", pd.NA, pd.NA]}, dtype="string")
    bad = validate(df, REVIEWS)
    assert bad[["index", "field", "rule"]].values.tolist() == [[2, "intervention", "allowed_code"]]


def test_provider_names_need_a_valid_ukprn_once_each():
    from fjaaqa.inputs.schemas import PROVIDERS, validate

    df = pd.DataFrame({"UKPRN": ["10005247", "10005247", "123"], "provider_name": ["Castle", "Castle again", "X"]},
                      dtype="string")
    bad = validate(df, PROVIDERS)
    assert sorted(bad[["index", "rule"]].itertuples(index=False, name=None)) == [(1, "duplicate_key"),
                                                                                 (2, "ukprn_format")]
