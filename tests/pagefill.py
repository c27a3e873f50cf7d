"""How full each printed page of an HTML report is: WeasyPrint lays the page out again and we measure it.

A page is "near empty" when its text and images end in the top few per cent of
the page's content area; a briefing never has one (issue 19). Text is read from
the laid-out boxes too, so a test can ask on which page a sentence falls.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class PrintedPage:
    fill: float  # share of the content area's height down to the lowest text or image
    text: str


def layout(html: Path):
    """``html`` laid out as WeasyPrint prints it: lay a report out once and ask it several questions."""
    from weasyprint import HTML

    return HTML(filename=str(html)).render()


def printed_pages(html) -> list[PrintedPage]:
    """Each A4 page of ``html`` (a path, or its :func:`layout`) as printed (running headers and footers left out)."""
    from weasyprint.formatting_structure import boxes

    doc = layout(html) if isinstance(html, (str, Path)) else html
    pages = []
    for page in doc.pages:
        box = page._page_box
        top, bottom, words = box.content_box_y(), box.content_box_y(), []
        for root in (c for c in box.children if not isinstance(c, boxes.MarginBox)):
            for b in root.descendants():
                if isinstance(b, (boxes.TextBox, boxes.ReplacedBox)):
                    bottom = max(bottom, b.position_y + b.margin_height())
                    if isinstance(b, boxes.TextBox):
                        words.append(b.text)
        pages.append(PrintedPage((bottom - top) / box.height, " ".join(words)))
    return pages
