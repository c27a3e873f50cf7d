"""Do the tables of a printed report fit their pages? WeasyPrint lays the page out again and we measure each table.

A table that is wider than the page's content box is cut off at the right
edge of the PDF (issue 22: the summary's route table lost "Achievement rate
(%" and half its numbers). WeasyPrint lets a table grow past its container
when its columns cannot shrink any further, so the laid-out table box — and
any text or image inside it, for tables with a fixed layout — tells whether
it fits. Run it on any folder of reports::

    .venv/bin/python tests/pagefit.py OUT_FOLDER

checks every HTML page that has a PDF beside it, prints one line per table
that does not fit, and exits 1 when there is one.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

# Rounding in the layout engine moves edges by a fraction of a pixel; anything wider is a real overhang.
TOLERANCE_PX = 0.5
MM_PER_PX = 25.4 / 96


@dataclass
class WideTable:
    page: int         # 1-based page number of the PDF
    label: str        # the table's caption, else its first cells
    overhang_mm: float  # how far past the right edge of the content box

    def __str__(self) -> str:
        return f"page {self.page}: '{self.label}' is {self.overhang_mm:.1f} mm wider than the page"


def _text(box, limit: int = 60) -> str:
    from weasyprint.formatting_structure import boxes

    words = [b.text for b in box.descendants() if isinstance(b, boxes.TextBox)]
    return " ".join(words)[:limit]


def wide_tables(html) -> list[WideTable]:
    """Every table of ``html`` (a path, or its laid-out document) that reaches past its page's content box."""
    from pagefill import layout
    from weasyprint.formatting_structure import boxes

    doc = layout(html) if isinstance(html, (str, Path)) else html
    found = []
    for number, page in enumerate(doc.pages, start=1):
        box = page._page_box
        right = box.content_box_x() + box.width
        for root in (c for c in box.children if not isinstance(c, boxes.MarginBox)):
            for parent in root.descendants():
                tables = [c for c in getattr(parent, "children", []) if isinstance(c, boxes.TableBox)]
                for table in tables:
                    edge = table.border_box_x() + table.border_width()
                    for b in table.descendants():  # a fixed-layout table keeps its width and lets text spill
                        if isinstance(b, (boxes.TextBox, boxes.ReplacedBox)):
                            edge = max(edge, b.position_x + b.margin_width())
                    if edge > right + TOLERANCE_PX:
                        captions = [c for c in parent.children if isinstance(c, boxes.TableCaptionBox)]
                        label = _text(captions[0]) if captions else _text(table)
                        found.append(WideTable(number, label, round((edge - right) * MM_PER_PX, 1)))
    return found


def printed_reports(folder: Path) -> list[Path]:
    """The HTML pages of a folder that are printed: those with a PDF of the same name beside them."""
    return sorted(p for p in Path(folder).rglob("*.html") if p.with_suffix(".pdf").is_file())


def wide_tables_in(folder: Path) -> dict[str, list[WideTable]]:
    """Every printed report under ``folder`` with a table that does not fit (path relative to ``folder``)."""
    folder = Path(folder)
    found = {}
    for html in printed_reports(folder):
        wide = wide_tables(html)
        if wide:
            found[html.relative_to(folder).as_posix()] = wide
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print("usage: python tests/pagefit.py FOLDER", file=sys.stderr)
        return 2
    reports = printed_reports(Path(argv[0]))
    found = wide_tables_in(Path(argv[0]))
    for path, wide in found.items():
        for w in wide:
            print(f"{path}: {w}")
    print(f"{len(reports)} printed report(s) checked; {len(found)} with a table wider than its page")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
