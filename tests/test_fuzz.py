"""Fuzzing the loaders and the ILR XML reader: nothing but a one-line error or quarantine, and no silent loss.

Under ``make test`` the draws are derandomized (the ``ci`` profile, set in
``conftest.py``): the same examples every run, so a random draw can never
fail CI. ``make fuzz`` runs the same properties with fresh random draws and
many more examples (the ``fuzz`` profile). An example that once failed is
kept below as an explicit ``@example``.
"""

from __future__ import annotations

import csv
import io
import shutil

import pytest
from builders import repo_path
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from fjaaqa.errors import InputError
from fjaaqa.inputs import ilr
from fjaaqa.inputs.sources import load_dataset

SAMPLE = repo_path("tests", "fixtures", "ilr", "ILR-99999999-2526-20250108-094401.xml")  # the official sample
REGISTER = repo_path("tests", "fixtures", "pack_data", "register.csv")
# How many examples, and whether drawn at random, is the profile's (conftest.py): here only what never changes.
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
                phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target])  # no slow shrinking


def one_line(exc: InputError) -> bool:
    return "\n" not in str(exc) and len(str(exc)) < 500


@FUZZ
@given(edits=st.lists(st.tuples(st.floats(0, 1), st.binary(min_size=0, max_size=4)), max_size=6),
       cut=st.one_of(st.none(), st.floats(0, 1)))
@example(edits=[(0.5, b"\x00")], cut=None)  # a NUL byte: libxml2's reason ended in a newline (two-line error)
@example(edits=[(0.3, b"&u;")], cut=None)  # an undeclared entity
@example(edits=[(0.0, b"<!DOCTYPE x [<!ENTITY u 'x'>]>")], cut=None)
def test_xml_reader_survives_damaged_files(tmp_path, edits, cut):
    raw = bytearray(SAMPLE.read_bytes())
    for where, new in edits:  # overwrite a few bytes anywhere (tags, text, the declaration)
        i = int(where * (len(raw) - 1))
        raw[i:i + len(new)] = new
    if cut is not None:  # or cut the file short
        raw = raw[: int(cut * len(raw))]
    f = tmp_path / "ILR-fuzz.xml"
    f.write_bytes(bytes(raw))
    try:
        tables = ilr.read_ilr(f)
    except InputError as exc:
        assert one_line(exc) and "ILR-fuzz.xml" in str(exc.file or "") + str(exc)
        return
    frames = tables.frames()
    assert set(frames) >= {"learners", "deliveries"}


cells = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)


@FUZZ
@given(rows=st.lists(st.fixed_dictionaries({
    "agency_id": st.one_of(cells, st.sampled_from(["FJAA0100", "../../x", "/abs", "a\x00b", "FJAA0001", ""])),
    "agency_name": cells,
    "registered_on": st.one_of(cells, st.sampled_from(["2021-01-01", "2021-02-30", "01/02/2021", ""])),
    "removed_on": st.one_of(st.just(""), cells),
    "approved_routes": cells,
    "approved_regions": cells,
    "ern": st.one_of(cells, st.sampled_from(["120000001", "x"])),
}), min_size=1, max_size=12))
def test_register_rows_are_used_or_quarantined_never_lost(tmp_path, rows):
    data = tmp_path / "data"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir()
    buf = io.StringIO()
    # a bare CR ends a row
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n", quoting=csv.QUOTE_ALL)
    w.writeheader()
    w.writerows(rows)
    (data / "register.csv").write_text(buf.getvalue(), encoding="utf-8")
    (data / "commitments.csv").write_text(repo_path("tests", "fixtures", "pack_data", "commitments.csv")
                                          .read_text().splitlines()[0] + "\n")
    try:
        ds = load_dataset(data)
    except InputError as exc:  # a file-level fault (e.g. a NUL byte, unreadable CSV): one line, naming the file
        assert one_line(exc) and "register.csv" in f"{exc.file} {exc}"
        return
    rec = ds.reconciliation.set_index("file").loc["register.csv"]
    assert rec["rows_read"] == len(rows)
    assert rec["rows_used"] + rec["rows_rejected"] == rec["rows_read"]
    assert rec["rows_used"] == len(ds.register)
    rejected = ds.rejected[ds.rejected["file"] == "register.csv"]
    assert rejected["row"].nunique() == rec["rows_rejected"]
    assert (rejected["message"].str.len() > 0).all()
    # an id that could be a path never gets through
    assert not ds.register["agency_id"].astype(str).str.contains(r"[/\\\x00]|\.\.", regex=True).any()


@FUZZ
@given(raw=st.binary(max_size=300))
def test_any_bytes_as_a_csv_give_an_error_or_quarantine(tmp_path, raw):
    data = tmp_path / "data"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir()
    (data / "register.csv").write_bytes(REGISTER.read_text().splitlines()[0].encode() + b"\n" + raw)
    (data / "commitments.csv").write_text(repo_path("tests", "fixtures", "pack_data", "commitments.csv")
                                          .read_text().splitlines()[0] + "\n")
    try:
        ds = load_dataset(data)
    except InputError as exc:
        assert one_line(exc)
        return
    rec = ds.reconciliation.set_index("file").loc["register.csv"]
    assert rec["rows_used"] + rec["rows_rejected"] == rec["rows_read"]


# ------------------------------------------------------------------ the readers added for untrusted input (issue 20)

yaml_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), cells, st.dates()),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(cells, inner, max_size=4)),
    max_leaves=20)


@FUZZ
@given(doc=st.dictionaries(st.sampled_from(["agency_id", "assessment_date", "elements", "evidence", "partnership",
                                            "other"]), yaml_values, max_size=6),
       element=st.dictionaries(st.sampled_from(["id", "rating", "target_date", "owner", "strengths"]), yaml_values,
                               max_size=5))
def test_any_self_assessment_yaml_gives_problems_or_one_line(tmp_path, doc, element):
    import yaml

    from fjaaqa.selfassess.reading import read_assessment

    doc.setdefault("elements", [element])
    path = tmp_path / "FJAA0001.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    try:
        a = read_assessment(path)
    except InputError as exc:
        assert one_line(exc)
        return
    assert all(isinstance(p, str) and "\n" not in p and len(p) < 600 for p in a.problems)
    if not a.problems:
        assert a.agency_id == "FJAA0001"


@FUZZ
@given(cells_written=st.lists(st.tuples(st.sampled_from(["Details", "Elements", "Evidence", "Partnership"]),
                                        st.integers(1, 120), st.integers(1, 60),
                                        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), cells)),
                              max_size=8))
def test_any_cells_typed_into_the_template_give_problems_or_one_line(tmp_path, cells_written):
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import IllegalCharacterError

    from fjaaqa.selfassess.reading import read_assessment
    from fjaaqa.selfassess.template import template_bytes

    path = tmp_path / "FJAA0001.xlsx"
    path.write_bytes(template_bytes("FJAA0001"))
    wb = load_workbook(path)
    for sheet, row, col, value in cells_written:
        try:
            wb[sheet].cell(row, col).value = value
        except (ValueError, TypeError, IllegalCharacterError):  # openpyxl refuses control characters itself
            continue
    wb.save(path)
    try:
        a = read_assessment(path)
    except InputError as exc:
        assert one_line(exc)
        return
    assert all("\n" not in p for p in a.problems)


@FUZZ
@given(raw=st.binary(max_size=400))
def test_any_bytes_as_a_workbook_give_one_line(tmp_path, raw):
    from fjaaqa.reports.frm_workbook import read_notes

    path = tmp_path / "notes.xlsx"
    path.write_bytes(b"PK\x03\x04" + raw)
    with pytest.raises(InputError) as e:
        read_notes([path])
    assert one_line(e.value)
