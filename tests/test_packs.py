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


def _ulns() -> set[str]:
    import pandas as pd

    return {u for f in DATA.glob("ilr/*/*/learners.csv") for u in pd.read_csv(f, dtype=str)["ULN"].dropna()}


def test_the_dfe_pack_is_a_brief(batch):
    page = pack(batch, "dfe", "FJAA0003").read_text()
    assert '<html lang="en-GB">' in page
    brief = page[page.index('id="brief"'):page.index('id="withdrawals"')]
    for words in ("The brief", "What the figures say", "Questions for the conversation", "Suggested interventions",
                  "Previous review", "2022-23 R14"):
        assert words in brief, words
    for ind in ("Withdrawals", "Achievement rate", "Breaks in learning", "Past planned end date",
                "Delivery outside approved areas"):
        assert ind in brief
    # FJAA0003 needs improvement on withdrawals (22 of 87) and the achievement rate (22 of 39 leavers: one
    # break begun in 2021-22 and never restarted leaves in 2023-24, the second year after it began)
    assert "+10.3 pp" in brief and "22 of 87" in brief and "22 of 39" in brief
    assert brief.count("<li>") >= 3 + 3  # at least three questions and the diagnosis of both indicators
    # two sentences on method, at the end, with the link to the run's method and provenance page
    method = page[page.index('id="method"'):]
    assert 'href="../../methodology.html"' in method and "quality-framework-2023" in method
    # a page each for the two indicators not on track; the three on track share one
    assert 'id="withdrawals"' in page and 'id="achievement_rate"' in page
    assert 'id="breaks_in_learning"' not in page and 'id="on-track"' in page
    assert "53.4%" in page  # the national rate, 2021/22 (params/benchmarks)
    # the withdrawals page shows reasons and timing and one breakdown of who carries it; the achievement page
    # the routes against the national rates and one other breakdown
    withdrawals = page[page.index('id="withdrawals"'):page.index('id="achievement_rate"')]
    achievement = page[page.index('id="achievement_rate"'):page.index('id="on-track"')]
    assert withdrawals.count('class="table breakdown"') == 1 and achievement.count('class="table breakdown"') == 1
    # the withdrawals page shows reasons and timing; the context page does not repeat them
    assert "Withdrawals by recorded reason" in page and "Withdrawals by time in learning" in page
    context = page[page.index('id="context"'):]
    assert "Reasons for withdrawal" not in context and "When withdrawals happened" not in context
    # no code, no prompts, no cell ids; no learner records in the pack itself
    assert "In&nbsp;[" not in page and "cell-id" not in page and "jp-" not in page
    assert not any(u in page for u in _ulns())
    assert "Annex" not in page and "Rows read" not in page and "SHA-256" not in page


def test_the_case_list_is_a_restricted_workbook_beside_the_dfe_pack(batch):
    import openpyxl
    import pandas as pd

    folder = batch / "2324" / "R14" / "packs" / "dfe"
    csv = pd.read_csv(folder / "FJAA0003-cases-restricted.csv", dtype=str)
    assert set(csv["Case list"]) >= {"Withdrawals", "Achievement rate"}
    assert (csv["Case list"] == "Withdrawals").sum() == 22 and (csv["Case list"] == "Achievement rate").sum() == 17
    assert set(csv["ULN"].dropna()) <= _ulns() and csv["ULN"].notna().sum() >= 22
    wb = openpyxl.load_workbook(folder / "FJAA0003-cases-restricted.xlsx", read_only=True)
    assert wb.sheetnames[:3] == ["About", "Withdrawals", "Achievement rate"]
    about = [r[0] for r in wb["About"].iter_rows(values_only=True) if r[0]]
    assert any(str(x).startswith("RESTRICTED") for x in about)
    page = pack(batch, "dfe", "FJAA0003").read_text()
    assert 'href="FJAA0003-cases-restricted.xlsx"' in page and "Withdrawals 22" in page
    assert not (batch / "2324" / "R14" / "packs" / "agency" / "FJAA0003-cases-restricted.xlsx").exists()


def test_the_run_has_one_method_and_provenance_page(batch):
    page = (batch / "2324" / "R14" / "methodology.html").read_text()
    for words in ("Method and provenance", "Readings of the framework", "Rows read, used and rejected", "SHA-256",
                  "register.csv", "quality-framework-2023", 'href="../../index.html"'):
        assert words in page, words


def test_agency_version_has_no_learner_records(batch):
    page = pack(batch, "agency", "FJAA0003").read_text()
    dfe = pack(batch, "dfe", "FJAA0003").read_text()
    body = page[page.index("<body"):]
    assert "restricted" not in body.lower()
    assert "Suggested interventions" in dfe and "Suggested interventions" not in page
    assert "Questions for the conversation" in dfe and "Questions for the conversation" not in page
    assert "What happens next" in page and "fjaa.quality@example.org" in page
    # no file names, parameter paths or links the agency cannot follow
    for jargon in ("methodology.html", "manifest.json", ".csv", ".yaml", "params/", "readings."):
        assert jargon not in body, jargon
    assert not any(u in page for u in _ulns())
    # never dates of birth or postcodes, in either version
    for text in (page, dfe):
        assert "DateOfBirth" not in text and "DelLocPostCode" not in text
        postcodes = set(re.findall(r"\b[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}\b", text)) - {"ZZ99 9ZZ"}
        assert not postcodes


def test_page_counts(batch):
    from privacy import pdf_pages

    for agency in AGENCIES:  # both need improvement: at most 8 pages for DfE, 6 for the agency
        assert pdf_pages(pack(batch, "dfe", agency, "pdf").read_bytes()) <= 8
        assert pdf_pages(pack(batch, "agency", agency, "pdf").read_bytes()) <= 6


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
    assert "FJAA0002" in page and "FJAA0003" in page and "Suggested (advisory)" in page
    assert 'href="packs/dfe/FJAA0003.html"' in page  # relative to the worklist, which sits in 2324/R14/
    assert "25.3%" in page  # FJAA0003's withdrawals, beside its status
    assert '<abbr title="Enhanced monitoring">EM</abbr>' in page and "Previous review" in page
    index = (batch / "index.html").read_text()
    assert index.index("worklist.html") < index.index("packs/dfe/")  # the worklist first


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
    assert export_html(nb, page.title, page.description, page.marking, page.run_date, page.index_href) == \
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
    page = sections.brief(pr, "A1", "dfe", "2024-07-31")
    assert "A dash against 2022-23 R14: that return is not in the data" in page
    # one apprentice still in learning: no leavers, so no achievement rate; the brief says why
    assert "What the figures say" in page and "achievement-rate year (the later of the planned and actual end)" in page
