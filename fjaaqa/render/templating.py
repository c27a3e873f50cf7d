"""The one Jinja environment, and the formatting every report shares.

All HTML is written by autoescaped Jinja templates from ``templates/``:
report sections from ``templates/partials``, whole pages (index, worklist,
listings) from ``templates/pages``. Python code never builds HTML strings;
every value from the data is escaped on its way into a page.
"""

from __future__ import annotations

import html
from functools import lru_cache

import jinja2
import pandas as pd
from markupsafe import Markup

from ..paths import resource
from ..quality.indicators import STATUS_LABELS
from ..writers import round_half_up

# GOV.UK tag colours by status (the tag always carries its label as text too).
STATUS_CLASS = {"at_risk": "red", "needs_improvement": "orange", "on_track": "green", "for_discussion": "blue",
                "no_data": "grey"}


def _missing(value) -> bool:
    return value is None or value is pd.NA or (not isinstance(value, str) and bool(pd.isna(value)))


def html_escape(value) -> Markup:
    """Escape as :func:`html.escape` does (``&quot;``, ``&#x27;``): chart figures have always been escaped so."""
    return Markup(html.escape(str(value), quote=True))


def fmt_pct(value, dp: int = 1) -> str:
    """A percentage for people: rounded half up, with a % sign; a dash for no value."""
    return "–" if _missing(value) else f"{round_half_up(value, dp)}%"


def fmt_pp(value) -> str:
    """Percentage points, signed (+ past the threshold, − headroom)."""
    if _missing(value):
        return "–"
    q = round_half_up(value, 1)
    return f"{'+' if q > 0 else ''}{q} pp".replace("-", "−")


def fmt_int(value) -> str:
    """A count with thousands separators; a dash for no value."""
    return "–" if _missing(value) else f"{int(value):,}"


def fmt_date(d) -> str:
    """A date as GOV.UK writes it (1 August 2024); a dash for no date."""
    if _missing(d) or d == "":
        return "–"
    d = pd.Timestamp(d)
    return f"{d.day} {d.strftime('%B %Y')}"


@lru_cache(maxsize=1)
def env() -> jinja2.Environment:
    """The Jinja environment: autoescaped, strict about undefined names, with the house filters."""
    folders = [str(resource("templates", "partials")), str(resource("templates", "pages"))]
    e = jinja2.Environment(loader=jinja2.FileSystemLoader(folders), autoescape=True, trim_blocks=True,
                           lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    e.filters.update(pct=fmt_pct, pp=fmt_pp, num=fmt_int, day=fmt_date, html_escape=html_escape)
    e.globals.update(status_label=lambda s: STATUS_LABELS.get(s, s), status_class=lambda s: STATUS_CLASS.get(s, "grey"))
    return e


def render(template: str, **ctx) -> str:
    """Render one template with ``ctx``."""
    return env().get_template(template).render(**ctx)
