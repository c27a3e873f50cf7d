"""Export: an executed notebook to one self-contained HTML page, and that page to a tagged PDF.

HTML is exported in-process by nbconvert with the house template
(``templates/fjaaqa``, based on ``base``, not ``lab``: no CDN scripts, a
small stylesheet inlined). The PDF is printed from the very same HTML by
WeasyPrint, which may read local files and ``data:`` URLs only, never the
network.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path

import nbformat

from .. import __version__
from ..paths import resource
from ..writers import atomic_write


@lru_cache(maxsize=1)
def css() -> str:
    """The house stylesheet (screen and print), inlined into every page."""
    return resource("templates", "fjaaqa", "pack.css").read_text(encoding="utf-8")


def export_html(nb: nbformat.NotebookNode, title: str, description: str, marking: str, run_date: str,
                index_href: str = "") -> str:
    """Executed notebook -> one self-contained HTML page (inputs and prompts hidden; a link back to the index)."""
    resources = {"fjaaqa": {"title": title, "run_date": run_date, "version": __version__, "css": css(),
                            "description": description, "index_href": index_href,
                            "footer": f"Produced with fjaaqa {__version__} on {run_date}. {marking}."}}
    body, _ = _exporter().from_notebook_node(nb, resources=resources)
    return body


@lru_cache(maxsize=1)
def _exporter():
    """One exporter per process: making one loads and compiles the templates, 40 % of an export (measured)."""
    from nbconvert import HTMLExporter

    return HTMLExporter(template_name="fjaaqa", extra_template_basedirs=[str(resource("templates"))],
                        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)


def _url_fetcher():
    """WeasyPrint may read local files and data: URLs only, never the network."""
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols={"file", "data"})


# A SOURCE_DATE_EPOCH the user set wins (reproducible-builds convention); otherwise each PDF sets its own.
_USER_EPOCH = os.environ.get("SOURCE_DATE_EPOCH")


def _stamp_fonts(run_date: str) -> None:
    """Date the fonts embedded in the next PDF by the run date, not the clock.

    WeasyPrint subsets each font with fontTools, which stamps the subset's
    ``head.modified`` with the time it was made unless ``SOURCE_DATE_EPOCH``
    is set: left alone, the same page printed a second later gave other
    bytes (found comparing two runs). The run date is a parameter, so the
    PDF is the same whenever it is printed.
    """
    if _USER_EPOCH is None:
        day = date.fromisoformat(run_date) if run_date else date(2000, 1, 1)
        os.environ["SOURCE_DATE_EPOCH"] = str(int(datetime(day.year, day.month, day.day, tzinfo=UTC)
                                                  .timestamp()))


def write_pdf(page: str, path: Path, run_date: str = "", private: bool = False) -> Path:
    """Print the HTML page to a tagged A4 PDF (title and language from the page; fonts dated by ``run_date``)."""
    from weasyprint import HTML

    _stamp_fonts(run_date)
    # No base URL: the page holds everything it shows (inline CSS, SVG, data: URLs), and its links (to the CSV files
    # beside it, the methodology page, the index) stay relative in the PDF, so they open the files next to the PDF.
    # A base URL made them absolute file:// links into the installed templates folder: wrong, and machine-dependent.
    pdf = HTML(string=page, base_url=None, url_fetcher=_url_fetcher()).write_pdf(
        pdf_tags=True, font_config=_font_config())
    return atomic_write(path, pdf, private)


@lru_cache(maxsize=1)
def _font_config():
    """One WeasyPrint font configuration for every PDF a process prints.

    Left to itself WeasyPrint builds a new one per document, and some of
    each stays in native memory: a worker grew by about 0.25 MB per PDF
    (measured over 200), which a batch of thousands turns into gigabytes.
    Shared, memory stays flat and the PDFs are byte-identical (checked;
    the pages use no ``@font-face``, so nothing is added to it per page).
    """
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()
