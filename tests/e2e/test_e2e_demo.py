"""End to end, as a new user would: the installed wheel runs the demo in a folder of its own; many checks, one build.

The build (:mod:`e2e.build`) starts in the background while the unit tests
run; these tests run last and all read it.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from linkcheck import broken_links, links
from privacy import scan_for_personal_data

from e2e.build import REPO


def test_the_installed_wheel_is_what_runs(build):
    """The package, its notebooks, templates and params come from the wheel, not from this checkout."""
    import subprocess

    probe = subprocess.run([str(build.venv / "bin" / "python"), "-c",
                            "import fjaaqa, fjaaqa.paths as p; print(fjaaqa.__file__); print(p.resource_root()); "
                            "print(p.source_root())"], capture_output=True, text=True, cwd=build.work, env=build.env())
    package, resources, source = probe.stdout.split("\n")[:3]
    assert Path(package).is_relative_to(build.site), package
    assert Path(resources) == build.site / "fjaaqa" / "resources"
    assert source == "None"
    assert str(REPO) not in package + resources
    rules = build.run("frm", "--list-rules")
    assert rules.returncode == 0 and rules.stdout.startswith("FRM01\t"), rules.stderr


def test_outputs_go_to_the_current_folder_and_caches_to_the_user_cache(build):
    assert sorted(p.name for p in build.work.iterdir()) == ["data", "out"]
    cache = build.home / ".cache" / "fjaaqa"
    assert (cache / "results").is_dir() and (cache / "frm").is_dir()
    # nothing written inside the install, and no executed notebook (they hold learner references) kept anywhere
    installed = sorted(p.relative_to(build.site).as_posix() for p in (build.site / "fjaaqa").rglob("*")
                       if p.is_file() and "__pycache__" not in p.parts)
    from zipfile import ZipFile

    shipped = sorted(n for n in ZipFile(build.wheel).namelist() if n.startswith("fjaaqa/"))
    assert installed == shipped
    for folder in (build.out, cache, build.work):
        assert not list(folder.rglob("*.ipynb")), folder


def test_the_demo_made_every_output(build):
    out = build.out
    recs = json.loads((out / "2324" / "R14" / "indicators" / "indicators.json").read_text())
    assert len(recs) == 30 * 5
    assert (out / "2223" / "R14" / "indicators" / "breakdowns.csv").exists()
    assert "Agencies by status" in build.output
    assert len(list(out.glob("2324/R14/packs/*/*.pdf"))) == 60
    assert len(list(out.glob("2223/R14/frm/*.xlsx"))) > 5
    assert len(list(out.glob("2324/R14/scenarios/*.pdf"))) == 3
    assert (out / "2324" / "R14" / "summary" / "quality_summary.pdf").exists()
    assert len(list(out.glob("selfassessment/*/self_assessment.pdf"))) == 3


def test_no_personal_data_outside_the_restricted_lists(build):
    scan_for_personal_data(build.out, build.data)


def test_every_link_resolves(build):
    """Index, worklist, listings and reports: every relative href and src points at a file that exists."""
    assert links(build.out) > 200
    assert broken_links(build.out) == []


def test_the_index_lists_every_kind_of_report(build):
    page = (build.out / "index.html").read_text()
    for href in ("2324/R14/packs/dfe/FJAA0007.html", "2324/R14/packs/agency/FJAA0007.pdf",
                 "2324/R14/summary/quality_summary.html",
                 "2324/R14/scenarios/quality-framework-2023__atpaf-2024-04.html",
                 "selfassessment/FJAA0003/self_assessment.html", "2223/R14/frm/index.html",
                 "2324/R14/worklist.html", "manifest.json"):
        assert f'href="{href}"' in page, href


def test_every_page_links_back_to_the_index(build):
    from linkcheck import refs

    index = (build.out / "index.html").resolve()
    for page in build.out.rglob("*.html"):
        if page.name == "index.html" and page.parent == build.out:
            continue
        assert any((page.parent / ref).resolve() == index for ref in refs(page)), page


def test_packs_are_briefs_of_a_few_pages(build):
    """At most 8 A4 pages for the DfE version (4 when every indicator is on track), 6 for the agency's."""
    from privacy import pdf_pages

    recs = json.loads((build.out / "2324" / "R14" / "indicators" / "indicators.json").read_text())
    failing = {r["agency_id"] for r in recs if r["status"] in ("at_risk", "needs_improvement", "for_discussion")}
    agencies = {r["agency_id"] for r in recs}
    packs = build.out / "2324" / "R14" / "packs"
    pages = {}
    for a in agencies:
        dfe = pdf_pages((packs / "dfe" / f"{a}.pdf").read_bytes())
        agency = pdf_pages((packs / "agency" / f"{a}.pdf").read_bytes())
        pages[a] = (dfe, agency)
        assert dfe <= (8 if a in failing else 4) and agency <= 6, (a, dfe, agency)
        # the learner-level case list is a restricted workbook beside the DfE pack, for agencies with cases
        book = packs / "dfe" / f"{a}-cases-restricted.xlsx"
        assert book.exists() == book.with_suffix(".csv").exists()
        assert not list((packs / "agency").glob("*-cases-restricted.*"))
    assert all((packs / "dfe" / f"{a}-cases-restricted.xlsx").exists() for a in failing)
    assert sum(d for d, _ in pages.values()) < 8 * len(agencies)


def test_outputs_are_accessible_to_wcag_2_2_aa(build):
    from a11y_check import axe_violations, require_browser, serious

    require_browser()
    out = build.out
    sample = [out / "index.html", out / "2324/R14/worklist.html", out / "2324/R14/methodology.html",
              out / "2324/R14/packs/dfe/FJAA0007.html", out / "2324/R14/packs/agency/FJAA0007.html",
              out / "2324/R14/packs/dfe/FJAA0014.html", out / "2223/R14/frm/index.html",
              next((out / "2223/R14/frm").glob("1*.html")), out / "2324/R14/summary/quality_summary.html",
              next((out / "2324/R14/scenarios").glob("*.html")),
              next(out.glob("selfassessment/*/self_assessment.html"))]
    results = axe_violations(sample)
    assert not serious(results), "\n".join(serious(results))
    assert not any(r.get("blocked_requests") for r in results)


def test_no_page_loads_anything_from_the_network(build):
    remote = re.compile(r"""<script[^>]+src=|<link[^>]+href=["']?(https?:)?//|<img[^>]+src=["']?(https?:)?//|"""
                        r"""url\(["']?(https?:)?//|<iframe|<object|@import""", re.I)
    pages = list(build.out.rglob("*.html"))
    assert len(pages) > 90  # 60 packs, the FRM reports, scenarios, summary, self-assessments, index pages
    for page in pages:
        assert not remote.search(page.read_text()), page


def test_the_manifest_vouches_for_every_output(build):
    out = build.out
    doc = json.loads((out / "manifest.json").read_text())
    listed = {o["path"]: o for o in doc["outputs"]}
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*")
               if p.is_file() and not p.name.startswith(".") and p.name != "manifest.json"}
    assert set(listed) == on_disk
    for path, entry in listed.items():
        data = (out / path).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["bytes"] == len(data), path
    assert doc["run_date"] == "2024-07-31" and doc["thresholds"]["name"] == "quality-framework-2023"
    assert all(not i["file"].startswith("/") for i in doc["inputs"])
    assert (out / "2324" / "R14" / "scenarios" / "overview" / "quality-framework-2023.pdf").is_file()
    # every rendered report: packs, scenario details, the scenario overview, the summary, self-assessments, FRM
    assert len(doc["builds"]) == 60 + 3 + 1 + 1 + 3 + len(list(out.glob("*/*/frm/*.xlsx")))
    frm = json.loads((out / "2223" / "R14" / "frm" / "manifest.json").read_text())
    assert {o["path"] for o in frm["outputs"]} == {p.relative_to(out).as_posix()
                                                  for p in (out / "2223" / "R14" / "frm").iterdir()
                                                  if p.is_file() and not p.name.startswith(".")
                                                  and p.name != "manifest.json"}


def test_a_pack_built_alone_is_byte_identical_to_the_batchs(build):
    """HTML and PDF do not depend on what else the process printed before, nor on when."""
    alone = build.root / "alone"
    p = build.run("packs", "--data", str(build.data), "--year", "2324", "--return", "R14", "--agency", "FJAA0007",
                  "--audience", "dfe", "--out", str(alone))
    assert p.returncode == 0, p.stderr
    for ext in ("html", "pdf"):
        rel = Path("2324", "R14", "packs", "dfe", f"FJAA0007.{ext}")
        assert (alone / rel).read_bytes() == (build.out / rel).read_bytes(), rel


def test_a_second_demo_rebuilds_nothing_and_touches_no_file(build):
    out = build.out
    before = {f: (f.stat().st_mtime_ns, f.read_bytes()) for f in out.rglob("*") if f.is_file()}
    again = build.run("demo", "--out", "./out", timeout=900)
    assert again.returncode == 0, again.stderr
    text = " ".join(again.stderr.split())
    assert "0 packs built, 60 unchanged" in text, text[-600:]
    assert {f: (f.stat().st_mtime_ns, f.read_bytes()) for f in out.rglob("*") if f.is_file()} == before
