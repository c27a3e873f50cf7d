"""Shipped reference data."""

import pandas as pd
import pytest

from fjaaqa.inputs import reference


def test_fifteen_routes():
    r = reference.routes()
    assert len(r) == 15 and r["route"].is_unique and r["route_id"].is_unique


def test_standards_table_is_sound():
    s = reference.shipped_standards()
    assert len(s) >= 200
    assert s["StdCode"].is_unique
    assert set(s["route"]) <= set(reference.routes()["route"])
    assert s["level"].astype(int).between(2, 7).all()


def test_user_standards_extend_and_override():
    extra = pd.DataFrame([{"StdCode": "2", "title": "Renamed", "level": "4", "route": "Digital"},
                          {"StdCode": "99999", "title": "New one", "level": "3", "route": "Care services"}])
    s = reference.standards(extra).set_index("StdCode")
    assert s.loc["2", "title"] == "Renamed" and s.loc["99999", "route"] == "Care services"
    assert len(s) == len(reference.shipped_standards()) + 1


def test_postcode_areas_cover_the_uk():
    a = reference.postcode_areas()
    assert a["area"].is_unique and len(a) >= 121
    assert set(a["region"]) <= set(reference.ENGLISH_REGIONS) | {"Wales", "Scotland", "Northern Ireland", "Outside UK"}


@pytest.mark.parametrize("pc,region,basis", [
    ("LS1 4AP", "Yorkshire and The Humber", "area"), ("ls14ap", "Yorkshire and The Humber", "area"),
    ("EC1A 1BB", "London", "area"), ("ZZ99 9ZZ", "Unknown", "unknown"), ("not a postcode", "Unknown", "unknown"),
    (None, "Unknown", "unknown"), ("CF10 1AA", "Wales", "area"),
])
def test_regions(pc, region, basis):
    r = reference.regions_for(pd.Series([pc])).iloc[0]
    assert (r["region"], r["region_basis"]) == (region, basis)


def test_user_postcodes_override_area_matching():
    over = pd.DataFrame({"district": ["CH5"], "postcode": [None], "region": ["Wales"]})
    r = reference.regions_for(pd.Series(["CH5 2AB", "CH1 1AA"]), over)
    assert r["region"].tolist() == ["Wales", "North West"]
    assert r["region_basis"].tolist() == ["district", "area"]


def test_code_labels():
    assert "withdraw" in reference.code_label("CompStatus", "3").lower()
    assert reference.code_label("CompStatus", "77") == "77"
    assert reference.code_label("Outcome", None) == "Not recorded"


@pytest.mark.parametrize("uln,ok", [
    # 1*10 = 10; 10 mod 11 = 10; check digit 10 - 10 = 0
    ("1000000000", True), ("1000000004", False),
    # 10+18+24+28+30+30+28+24+18 = 210; 210 mod 11 = 1; check digit 9
    ("1234567899", True), ("1234567890", False),
    # 9 * (10+9+...+2) = 486; 486 mod 11 = 2; check digit 8
    ("9999999998", True),
    ("123", False), ("0123456789", False), (None, False),
])
def test_uln_check_digit(uln, ok):
    assert reference.uln_is_valid(uln) is ok
