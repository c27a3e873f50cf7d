"""The registry of report kinds: what each is called, which notebook makes it, where it goes, how it is marked.

Every report (review pack, FRM report, threshold scenario, quality summary,
self-assessment) is a notebook rendered by the one engine in
:mod:`fjaaqa.render`. What differs between kinds is data, kept here, the
way papermill registers its engines: adding a kind means one entry below,
one notebook in ``notebooks/`` and its templates in ``templates/partials``,
and nothing in :mod:`fjaaqa.render`.

:func:`job` is the only place a :class:`~fjaaqa.render.engine.RenderJob`
is made: it fills in the page's title, description and marking from the
entry and the notebook's parameters, and the build key from the notebook,
the parameters, the data digest the kind's builder supplies and the
parameter files the entry says the kind reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..paths import NAME, file_name_part, inside, resource
from ..periods import make_period
from ..quality.thresholds import load_thresholds
from ..render import builds
from ..render.engine import RenderJob

AUDIENCES = {"dfe": "DfE version", "agency": "Agency version"}


def _period(p: dict) -> str:
    period = make_period(p["year"], p["return_code"])
    return f"{period.year.label} {period.return_code}"


def _set_title(name_or_file: str) -> str:
    """A threshold set as people know it (its title), for the page title of a scenario report."""
    t = load_thresholds(name_or_file)
    return t.title or t.name


def _set_titles(fields: dict) -> dict:
    """An index entry's threshold sets by title when they are shipped ones; a set from elsewhere keeps its name.

    The names come from file names under ``--out``: only a shipped set's own
    file is ever read for them, never a path a file name could spell.
    """
    def words(name: str) -> str:
        shipped = resource("params", "thresholds", f"{name}.yaml")
        return _set_title(str(shipped)) if NAME.fullmatch(name) and shipped.is_file() else name

    return {k: words(v) if k in ("base", "alt") else v for k, v in fields.items()}


def _designation() -> str:
    """The quality summary's designation (e.g. management information), from params/publication.yaml.

    Imported when a summary is made, not with the registry: the publication
    code brings the disclosure audit's solver, which no other command needs.
    """
    from ..publication.summary import publication_params

    return publication_params().publication.designation


@dataclass(frozen=True)
class ReportKind:
    """One kind of report.

    ``path`` is where an output goes under ``--out``, with ``{year}`` and
    ``{return_code}`` (the period's codes) and the kind's own fields;
    ``reads`` names the files and folders under ``params/`` the report shows
    beyond its data (a threshold set is part of the data), so a change to
    one rebuilds it and a change to any other does not; ``key_ignores`` names
    notebook parameters the data digest already covers.
    """

    name: str
    notebook: str
    path: str
    title: Callable[[dict], str]
    description: Callable[[dict], str]
    marking: Callable[[dict], str]
    index_label: str = ""  # how the index lists one output ({fields} of ``path``); empty: listed elsewhere
    index_words: Callable[[dict], dict] = lambda fields: fields  # the path's fields as the index shows them
    reads: tuple[str, ...] = ()
    key_ignores: tuple[str, ...] = ()
    private: Callable[[dict], bool] = lambda p: False  # holds learner identifiers: owner-only files

    def notebook_path(self) -> Path:
        return resource("notebooks", self.notebook)

    def output(self, out: Path, **fields) -> Path:
        """The HTML page of one output (its PDF sits beside it), checked to stay under ``out``."""
        named = {k: file_name_part(v, k.replace("_", " ")) for k, v in fields.items()}
        return inside(out, Path(out) / self.path.format(**named))


REGISTRY: dict[str, ReportKind] = {k.name: k for k in (
    ReportKind(
        "pack", "review_pack.ipynb", "{year}/{return_code}/packs/{audience}/{agency_id}.html",
        title=lambda p: f"Quality review pack: {p['agency_id']}, {_period(p)} ({AUDIENCES[p['audience']]})",
        description=lambda p: f"Flexi-Job Apprenticeship Agency quality review, {AUDIENCES[p['audience']]}",
        marking=lambda p: AUDIENCES[p["audience"]],
        reads=("review.yaml", "benchmarks", "frm", "selfassessment.yaml"), private=lambda p: p["audience"] == "dfe"),
    ReportKind(
        "frm", "frm_report.ipynb", "{year}/{return_code}/frm/{ukprn}.html",
        title=lambda p: f"Funding rules monitoring: UKPRN {p['ukprn']}, {_period(p)} (restricted)",
        description=lambda p: "Funding rules monitoring queries for a provider's data team (restricted)",
        marking=lambda p: "Restricted: learner references",
        reads=("frm",), key_ignores=("run_key",), private=lambda p: True),
    ReportKind(
        "scenario_overview", "scenario_overview.ipynb", "{year}/{return_code}/scenarios/overview/{base}.html",
        title=lambda p: (f"Threshold scenarios overview: {len(p['alts'])} alternative"
                         f"{'' if len(p['alts']) == 1 else 's'} to {_set_title(p['base'])}, {_period(p)}"),
        description=lambda p: "Agencies and apprentices by status under a base threshold set and each alternative",
        marking=lambda p: "Policy analysis",
        index_label="Threshold scenarios, overview of every alternative to {base} (read first)",
        index_words=_set_titles, reads=("review.yaml",)),
    ReportKind(
        "scenarios", "threshold_scenarios.ipynb", "{year}/{return_code}/scenarios/{base}__{alt}.html",
        title=lambda p: f"Threshold scenarios: {_set_title(p['alt'])} against {_set_title(p['base'])}, {_period(p)}",
        description=lambda p: "Who would move between statuses under another threshold set (aggregate)",
        marking=lambda p: "Policy analysis",
        index_label="Threshold scenario: {alt} against {base}",
        index_words=_set_titles, reads=("review.yaml",)),
    ReportKind(
        "summary", "quality_summary.ipynb", "{year}/{return_code}/summary/quality_summary.html",
        title=lambda p: f"Flexi-job apprenticeship agencies: quality summary, {_period(p)}",
        description=lambda p: "Quality Framework indicators across agencies, disclosure-controlled",
        marking=lambda p: _designation(),
        index_label="Quality summary, {year} {return_code} (with its open data in summary/data/ and an Excel workbook)",
        reads=("publication.yaml",)),
    ReportKind(
        "self_assessment", "self_assessment.ipynb", "selfassessment/{agency_id}/self_assessment.html",
        title=lambda p: f"Self-assessment and improvement action plan: {Path(p['assessment']).stem}",
        description=lambda p: ("An agency's self-assessment against the IEP Quality Improvement Framework, "
                               "with its action plan"),
        marking=lambda p: "The agency's own plan",
        index_label="Self-assessment and action plan: {agency_id} (the agency's own)",
        reads=("selfassessment.yaml",)),
)}


def kind(name: str) -> ReportKind:
    try:
        return REGISTRY[name]
    except KeyError:
        raise InputError(f"no report kind '{name}' (known: {', '.join(REGISTRY)})") from None


def job(name: str, parameters: dict, html: Path, record: dict, data: str) -> RenderJob:
    """The render job of one output of kind ``name``: page words and build key filled in from the registry."""
    k = kind(name)
    notebook = k.notebook_path()
    run_date = (parameters.get("run_date")
                or make_period(parameters["year"], parameters["return_code"]).census.isoformat())
    keyed = {n: v for n, v in parameters.items() if n not in k.key_ignores}
    index_href = "../" * k.path.count("/") + "index.html"  # outputs sit at the kind's depth under --out
    return RenderJob(notebook, parameters, Path(html), record, k.title(parameters), k.description(parameters),
                     k.marking(parameters), run_date, index_href, builds.render_key(notebook, keyed, data, k.reads),
                     k.private(parameters))
