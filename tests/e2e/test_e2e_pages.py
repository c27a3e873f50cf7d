"""End to end: every printed report of the demo build, laid out once (a module of its own, the slowest check).

Apart from ``test_e2e_demo.py`` so that under ``make test`` the two xdist
workers share the end-to-end checks once the build is done. This module only
reads the build's outputs, and the commands the other runs change none of them
(``test_a_second_demo_rebuilds_nothing_and_touches_no_file``).
"""

from __future__ import annotations


def test_printed_pages_are_full_and_every_table_fits(build):
    """Every report printed to PDF (packs, FRM reports, scenarios, the summary, self-assessments), laid out once:
    no table reaches past the right edge of its page's content box (issue 22: the summary's route table was cut
    off); and every page of every 2023-24 R14 pack and every FRM report holds more than a few lines (15 % of the
    page or more), with the DfE brief ending on page 1 (issue 19)."""
    from pagefill import layout, printed_pages
    from pagefit import printed_reports, wide_tables

    reports = printed_reports(build.out)
    parts = [p.relative_to(build.out).parts for p in reports]
    kinds = {rel[0] if rel[0] == "selfassessment" else rel[2] for rel in parts if len(rel) >= 3}
    assert {"packs", "frm", "scenarios", "summary", "selfassessment"} <= kinds, kinds
    assert len(reports) >= 60 + 3 + 1 + 3
    packs = build.out / "2324" / "R14" / "packs"
    wide, thin, brief = {}, [], []
    for html in reports:
        doc = layout(html)
        if found := wide_tables(doc):
            wide[html.relative_to(build.out).as_posix()] = found
        if packs in html.parents or "frm" in html.relative_to(build.out).parts:
            printed = printed_pages(doc)
            thin += [(html.name, html.parent.name, i + 1, round(p.fill, 2)) for i, p in enumerate(printed)
                     if p.fill < 0.15]
            if html.parent.name == "dfe" and "Previous review:" not in printed[0].text:
                brief.append(html.name)
    assert len([r for r in reports if packs in r.parents]) == 60
    assert not wide, "\n".join(f"{path}: {w}" for path, found in wide.items() for w in found)
    assert not thin and not brief, (thin, brief)
