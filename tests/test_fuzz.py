"""Fuzzing the loaders and the ILR XML reader: nothing but a one-line error or quarantine, and no silent loss."""

from __future__ import annotations

import csv
import io
import shutil

from builders import repo_path
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from fjaaqa.errors import InputError
from fjaaqa.inputs import ilr
from fjaaqa.inputs.sources import load_dataset

SAMPLE = repo_path("tests", "fixtures", "ilr", "ILR-99999999-2526-20250108-094401.xml")  # the official sample
REGISTER = repo_path("tests", "fixtures", "pack_data", "register.csv")
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
                phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target])  # no slow shrinking


def one_line(exc: InputError) -> bool:
    return "\n" not in str(exc) and len(str(exc)) < 500


@FUZZ
@given(edits=st.lists(st.tuples(st.floats(0, 1), st.binary(min_size=0, max_size=4)), max_size=6),
       cut=st.one_of(st.none(), st.floats(0, 1)))
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
