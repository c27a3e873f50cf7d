"""Review packs: batch and standalone agree, runs are byte-identical, pages are offline and accessible."""

from __future__ import annotations

import json
import re
from pathlib import Path

import papermill
import pytest
from a11y_check import axe_violations, require_browser, serious
from builders import repo_path
from privacy import pdf_objects

from fjaaqa.periods import make_period
from fjaaqa.pipeline import build_pack_batch
from fjaaqa.render.export import export_html
from fjaaqa.reports.registry import REGISTRY, job
from fjaaqa.store.results import load_or_compute

NOTEBOOK = REGISTRY["pack"].notebook_path()

DATA = repo_path("tests", "fixtures", "pack_data")
AGENCIES = ["FJAA0002", "FJAA0003"]  # FJAA0003 needs improvement on two indicators; FJAA0002 on one


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory, monkeypatch_module):
    d = tmp_path_factory.mktemp("cache")
    monkeypatch_module.setenv("FJAAQA_CACHE", str(d))
    return d


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def build(out: Path):
    return build_pack_batch(DATA, make_period("2324", "R14"), AGENCIES, ["dfe", "agency"], "quality-framework-2023",
                            out, pdf=True, workers=1)


@pytest.fixture(scope="module")
def batch(tmp_path_factory, cache_dir):
    out = tmp_path_factory.mktemp("run1")
    summary = build(out)
    assert not summary.failed, summary.failed
    return out


def pack(out: Path, audience: str, agency: str, ext: str = "html") -> Path:
    return out / "2324" / "R14" / "packs" / audience / f"{agency}.{ext}"


def test_every_pack_is_built(batch):
    for aud in ("dfe", "agency"):
        for a in AGENCIES:
            assert pack(batch, aud, a).stat().st_size > 10_000
            assert pack(batch, aud, a, "pdf").read_bytes()[:5] == b"%PDF-"
    index = (batch / "index.html").read_text()
    for a in AGENCIES:
        assert f"2324/R14/packs/dfe/{a}.html" in index and f"2324/R14/packs/agency/{a}.pdf" in index


def test_pack_content(batch):
    page = pack(batch, "dfe", "FJAA0003").read_text()
    assert '<html lang="en-GB">' in page
    for ind in ("Withdrawals", "Achievement rate", "Breaks in learning", "Past planned end date",
                "Delivery outside approved areas"):
        assert ind in page
    assert "Needs improvement" in page and "Annex A: restricted case list" in page
    assert "2022-23 R14" in page  # previous year shown
    assert "Rows read, used and rejected" in page and "SHA-256" in page
    assert "quality-framework-2023" in page
    assert "Achievement rate by route against all agencies in the data and the national rate" in page
    assert "53.4%" in page  # national 2021/22, all apprentices (params/benchmarks)
    assert "End-point assessment organisation" in page
    # no code, no prompts, no cell ids
    assert "In&nbsp;[" not in page and "cell-id" not in page and "jp-" not in page


def test_agency_version_has_no_learner_records(batch):
    page = pack(batch, "agency", "FJAA0003").read_text()
    dfe = pack(batch, "dfe", "FJAA0003").read_text()
    assert "restricted case list" not in page.lower()
    assert "Suggested interventions" in dfe and "Suggested interventions" not in page
    assert "For the management conversation" in dfe and "For the management conversation" not in page
    assert "Trend and what changed" in page and "2022-23 R06" in page
    assert "Contextual factors" in page and "Cohort profile" in page
    ulns = set(re.findall(r"<td>(\d{10})</td>", dfe))
    assert ulns, "the DfE case list should list ULNs"
    assert not any(u in page for u in ulns)
    # never dates of birth or postcodes, in either version
    for text in (page, dfe):
        assert "DateOfBirth" not in text and "DelLocPostCode" not in text
        postcodes = set(re.findall(r"\b[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}\b", text)) - {"ZZ99 9ZZ"}
        assert not postcodes


def test_no_network_references(batch):
    remote = re.compile(r"""<script[^>]+src=|<link[^>]+href=["']?(https?:)?//|<img[^>]+src=["']?(https?:)?//|"""
                        r"""url\(["']?(https?:)?//|<iframe|<object|@import""", re.I)
    for path in [batch / "index.html", *batch.rglob("*.html")]:
        text = path.read_text()
        assert not remote.search(text), path
        if "/packs/" in path.as_posix():
            assert "<script" not in text, path  # packs run no script at all (the PDF cannot)


def test_worklist(batch):
    page = (batch / "2324" / "R14" / "worklist.html").read_text()
    assert "FJAA0002" in page and "FJAA0003" in page and "Suggested interventions" in page
    assert 'href="packs/dfe/FJAA0003.html"' in page  # relative to the worklist, which sits in 2324/R14/


def test_two_runs_are_byte_identical(batch, tmp_path):
    again = tmp_path / "run2"
    build(again)
    files = sorted(p.relative_to(batch) for p in batch.rglob("*") if p.is_file())
    assert len(files) >= 2 * 2 * 2 + 2
    for rel in files:
        assert (batch / rel).read_bytes() == (again / rel).read_bytes(), rel


def test_batch_and_standalone_notebook_give_the_same_html(batch):
    parameters = {"agency_id": "FJAA0002", "year": "2324", "return_code": "R14", "data_dir": str(DATA),
                  "audience": "dfe"}
    nb = papermill.execute_notebook(str(NOTEBOOK), None, parameters=parameters, progress_bar=False,
                                    kernel_name="python3", cwd=str(repo_path()))
    page = job("pack", parameters, Path("unused.html"), {}, "")
    assert export_html(nb, page.title, page.description, page.marking, page.run_date) == \
        pack(batch, "dfe", "FJAA0002").read_text()


def test_unknown_notebook_parameter_stops_with_a_clear_message():
    with pytest.raises(papermill.PapermillExecutionError) as e:
        papermill.execute_notebook(str(NOTEBOOK), None, parameters={"agency": "FJAA0002", "data_dir": str(DATA)},
                                   progress_bar=False, kernel_name="python3", cwd=str(repo_path()))
    assert "agency: unknown parameter" in str(e.value)


def test_pdf_is_tagged_with_title_and_language(batch):
    text = pdf_objects(pack(batch, "dfe", "FJAA0003", "pdf").read_bytes())
    assert b"/StructTreeRoot" in text and b"/MarkInfo" in text
    assert b"/Lang" in text and b"en-GB" in text
    assert b"/Title" in text


def test_manifest(batch):
    m = json.loads((batch / "manifest.json").read_text())
    assert m["thresholds"]["name"] == "quality-framework-2023" and len(m["thresholds"]["hash"]) == 16
    assert m["run_date"] == "2024-07-31"
    assert any(i["file"] == "register.csv" for i in m["inputs"])
    paths = {o["path"] for o in m["outputs"]}
    assert "2324/R14/packs/dfe/FJAA0003.pdf" in paths and "index.html" in paths
    assert all(not p.startswith("/") for p in paths)


def test_packs_are_accessible(batch):
    require_browser()
    results = axe_violations([pack(batch, "dfe", "FJAA0003"), pack(batch, "agency", "FJAA0002"),
                              batch / "index.html", batch / "2324" / "R14" / "worklist.html"])
    problems = serious(results)
    assert not problems, "\n".join(problems)
    assert not any(r.get("blocked_requests") for r in results)


def test_previous_year_missing_says_no_data(tmp_path, cache_dir):
    from builders import World

    from fjaaqa.reports import pack_sections as sections

    w = World()
    w.agency("A1")
    w.apprentice("A1", start="2023-01-01", plan_end="2025-06-01")
    w.write(tmp_path / "d")
    pr = load_or_compute(tmp_path / "d", "2324", "R14", results_dir=tmp_path / "c")
    assert pr.meta["previous_available"] is False
    page = sections.headline(pr, "A1")
    assert "No data for 2022-23" in page
    full = "".join(sections.pack(pr, "A1", "dfe", "2024-07-31"))
    assert "Every indicator is on track or has no data" in full
