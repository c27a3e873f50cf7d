"""ILR XML: a streaming reader to the canonical tables, a writer, and XSD checks.

The reader feeds a file to lxml a megabyte at a time and lets go of each
element once it is read, so memory stays flat however large a file is and
whatever it holds (:func:`_events`): an element that grows past
:data:`MAX_ELEMENT_SIZE` descendants, or a document that declares a DTD or
entities, is refused with one line. It accepts any year's namespace
(``ESFA/ILR/2017-18`` … ``2025-26``) or none, whatever the file is called,
and produces the tables of DESIGN: ``learners``, ``deliveries``,
``employment`` (one row per employment status, monitoring as ``ESM_<type>``
columns) and the long ``fams`` table (learner FAMs with an empty
``AimSeqNumber``). Every row keeps the file and line it came from, so a
quarantined row can be found.

Only the fields the product uses are read: those its input schemas declare
(:mod:`fjaaqa.inputs.schemas`). Names, addresses, telephone, e-mail,
National Insurance number, home postcodes, or anything else a file carries,
never become a column. 2025-26's repeating ``PriorAttain`` becomes the level
with the latest ``DateLevelApp``.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd
from lxml import etree

from ..errors import InputError
from . import schemas

NAMESPACE = re.compile(r"^ESFA/ILR/([0-9]{4})-([0-9]{2})$")
SOURCE_COLUMNS = ["_file", "_line"]
CHUNK = 20_000  # learners read before their rows become compact tables
FEED_BYTES = 1 << 20  # read a file a megabyte at a time
# An element (a Learner, the Header) that grows past this many descendants is refused: a real learner holds
# a few dozen, a learner with fifty aims a few thousand; past this it is a damaged or hostile file.
MAX_ELEMENT_SIZE = 20_000

LEARNER_ORDER = schemas.LEARNERS.names
# LearningDelivery children in the schemas' order (2020-21 and 2025-26 share it).
XSD_DELIVERY = ["LearnAimRef", "AimType", "AimSeqNumber", "LearnStartDate", "OrigLearnStartDate", "LearnPlanEndDate",
                "FundModel", "PHours", "OTJActHours", "ProgType", "FworkCode", "PwayCode", "StdCode", "PartnerUKPRN",
                "DelLocPostCode", "LSDPostcode", "AddHours", "PriorLearnFundAdj", "OtherFundAdj", "ConRefNumber",
                "EPAOrgID", "EmpOutcome", "CompStatus", "LearnActEndDate", "WithdrawReason", "Outcome", "AchDate",
                "OutGrade", "SWSupAimId", "TLOut"]
DELIVERY_ORDER = ["UKPRN", "LearnRefNumber", "AimSeqNumber"] + [c for c in XSD_DELIVERY if c != "AimSeqNumber"
                                                                  and c in schemas.DELIVERIES.names]
EMPLOYMENT_ORDER = ["UKPRN", "LearnRefNumber", "EmpStat", "DateEmpStatApp", "EmpId"]
FAM_ORDER = ["UKPRN", "LearnRefNumber", "AimSeqNumber", "FAMType", "FAMCode", "DateFrom", "DateTo"]
WORKPLACEMENT_FIELDS = ["WorkPlaceStartDate", "WorkPlaceEndDate", "WorkPlaceHours", "WorkPlaceMode", "WorkPlaceEmpId"]
WORKPLACEMENT_ORDER = ["UKPRN", "LearnRefNumber", "AimSeqNumber"] + WORKPLACEMENT_FIELDS
WANTED = ["{*}Message", "{*}UKPRN", "{*}Learner", "{*}LearnerDestinationandProgression"]
# The fields read from each element: what the schemas declare, by their XML names. Nothing else is read.
READ = {
    "Learner": set(LEARNER_ORDER) - {"UKPRN"},
    "LearningDelivery": set(DELIVERY_ORDER) - {"UKPRN", "LearnRefNumber"},
    "LearnerEmploymentStatus": set(EMPLOYMENT_ORDER) - {"UKPRN", "LearnRefNumber"},
    "EmploymentStatusMonitoring": {"ESMType", "ESMCode"},
    "LearnerFAM": {"LearnFAMType", "LearnFAMCode", "LearnFAMDateFrom", "LearnFAMDateTo"},
    "LearningDeliveryFAM": {"LearnDelFAMType", "LearnDelFAMCode", "LearnDelFAMDateFrom", "LearnDelFAMDateTo"},
    "LearningDeliveryWorkPlacement": set(WORKPLACEMENT_FIELDS),
    "PriorAttain": {"PriorLevel", "DateLevelApp"},
}
TABLE_NAMES = ["learners", "deliveries", "employment", "fams", "workplacements"]


@lru_cache(maxsize=1024)
def local(tag) -> str:
    """Element name without its namespace.

    Remembered: an ILR file has a few dozen names, repeated millions of times.
    """
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _text(el) -> str | None:
    t = el.text
    return t.strip() if t is not None and t.strip() != "" else None


@dataclass
class IlrTables:
    learners: list[dict] = field(default_factory=list)
    deliveries: list[dict] = field(default_factory=list)
    employment: list[dict] = field(default_factory=list)
    fams: list[dict] = field(default_factory=list)
    workplacements: list[dict] = field(default_factory=list)
    namespace: str = ""
    counts: dict = field(default_factory=lambda: {"Learner": 0, "LearningDelivery": 0, "LearnerFAM": 0,
                                                  "LearningDeliveryFAM": 0, "LearnerEmploymentStatus": 0,
                                                  "EmploymentStatusMonitoring": 0,
                                                  "LearningDeliveryWorkPlacement": 0})

    chunks: dict = field(default_factory=lambda: {name: [] for name in TABLE_NAMES})

    ORDERS = {"learners": LEARNER_ORDER, "deliveries": DELIVERY_ORDER, "employment": EMPLOYMENT_ORDER,
              "fams": FAM_ORDER, "workplacements": WORKPLACEMENT_ORDER}

    def flush(self) -> None:
        """Move the rows read so far into compact string tables (keeps memory near the tables' own size)."""
        for name in self.chunks:
            rows = getattr(self, name)
            if rows:
                self.chunks[name].append(pd.DataFrame(rows, dtype="str"))
                rows.clear()

    def frames(self) -> dict[str, pd.DataFrame]:
        self.flush()
        out = {}
        for name, parts in self.chunks.items():
            df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(dtype="str")
            out[name] = _frame(df, self.ORDERS[name])
        return out


def _frame(df: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """A string table: every known ILR field in specification order, then any others sorted.

    An element missing from the XML is an empty value, never a missing
    column: an ILR file cannot "lack a column" the way a flat extract can.
    """
    extra = sorted(c for c in df.columns if c not in order and c not in SOURCE_COLUMNS)
    return df.reindex(columns=order + extra + SOURCE_COLUMNS).astype("str")


# Per element kind, each tag seen (with its namespace) -> the field name, or None when the field is not read.
# An ILR file has a few dozen tags repeated millions of times: a dictionary look-up beats parsing each one.
_FIELD_OF: dict[str, dict] = {kind: {} for kind in READ}


def _field_of(kind: str, tag) -> str | None:
    name = local(tag)
    _FIELD_OF[kind][tag] = found = name if name in READ[kind] else None
    return found


def _split(el, kind: str) -> tuple[dict, list]:
    """One pass over an element's children: the fields read for ``kind`` (children holding a value, no
    children of their own), and the children that are elements in their own right (``[(name, child)]``).

    The hottest loop of the reader (every field of every learner), so it is
    written for speed: each child is visited once, one dictionary look-up
    for its tag, ``strip`` once.
    """
    fields = _FIELD_OF[kind]
    out, nested = {}, []
    for child in el:
        tag = child.tag
        if len(child):  # an element in its own right (a 2025-26 PriorAttain too, though its name is a field's)
            nested.append((local(tag), child))
            continue
        name = fields[tag] if tag in fields else _field_of(kind, tag)
        if name is None:
            continue
        text = child.text
        if text is None:
            continue
        text = text.strip()
        if text:
            out[name] = text
    return out, nested


def _simple_children(el, kind: str) -> dict:
    """The fields read for ``kind`` (see :func:`_split`)."""
    return _split(el, kind)[0]


def _learner(el, ukprn: str, source: str, tables: IlrTables) -> None:
    """One ``Learner`` element into rows of the four tables (each element visited once)."""
    fields, nested = _split(el, "Learner")
    row = {"UKPRN": ukprn, **fields, "_file": source, "_line": str(el.sourceline)}
    ref = row.get("LearnRefNumber")
    prior = []
    for name, child in nested:
        if name == "LearnerFAM":
            tables.counts["LearnerFAM"] += 1
            f = _simple_children(child, "LearnerFAM")
            tables.fams.append({"UKPRN": ukprn, "LearnRefNumber": ref, "AimSeqNumber": None,
                                "FAMType": f.get("LearnFAMType"), "FAMCode": f.get("LearnFAMCode"),
                                "DateFrom": f.get("LearnFAMDateFrom"), "DateTo": f.get("LearnFAMDateTo"),
                                "_file": source, "_line": str(child.sourceline)})
        elif name == "LearnerEmploymentStatus":
            tables.counts["LearnerEmploymentStatus"] += 1
            status, monitoring = _split(child, "LearnerEmploymentStatus")
            e = {"UKPRN": ukprn, "LearnRefNumber": ref, **status, "_file": source, "_line": str(child.sourceline)}
            for inner, esm in monitoring:
                if inner == "EmploymentStatusMonitoring":
                    tables.counts["EmploymentStatusMonitoring"] += 1
                    m = _simple_children(esm, "EmploymentStatusMonitoring")
                    if m.get("ESMType"):
                        key = f"ESM_{m['ESMType']}"
                        e[key] = f"{e[key]};{m.get('ESMCode', '')}" if key in e else m.get("ESMCode")
            tables.employment.append(e)
        elif name == "LearningDelivery":
            _delivery(child, ukprn, ref, source, tables)
        elif name == "PriorAttain":
            p = _simple_children(child, "PriorAttain")
            prior.append((p.get("DateLevelApp") or "", p.get("PriorLevel")))
    if prior:  # 2025-26: the level with the latest DateLevelApp
        row["PriorAttain"] = max(prior, key=lambda x: x[0])[1]
    tables.counts["Learner"] += 1
    tables.learners.append(row)


def _delivery(el, ukprn: str, ref: str | None, source: str, tables: IlrTables) -> None:
    """One ``LearningDelivery`` with its FAMs and work placements."""
    tables.counts["LearningDelivery"] += 1
    fields, nested = _split(el, "LearningDelivery")
    d = {"UKPRN": ukprn, "LearnRefNumber": ref, **fields, "_file": source, "_line": str(el.sourceline)}
    tables.deliveries.append(d)
    for name, child in nested:
        if name == "LearningDeliveryFAM":
            tables.counts["LearningDeliveryFAM"] += 1
            f = _simple_children(child, "LearningDeliveryFAM")
            tables.fams.append({"UKPRN": ukprn, "LearnRefNumber": ref, "AimSeqNumber": d.get("AimSeqNumber"),
                                "FAMType": f.get("LearnDelFAMType"), "FAMCode": f.get("LearnDelFAMCode"),
                                "DateFrom": f.get("LearnDelFAMDateFrom"), "DateTo": f.get("LearnDelFAMDateTo"),
                                "_file": source, "_line": str(child.sourceline)})
        elif name == "LearningDeliveryWorkPlacement":
            tables.counts["LearningDeliveryWorkPlacement"] += 1
            tables.workplacements.append({"UKPRN": ukprn, "LearnRefNumber": ref, "AimSeqNumber": d.get("AimSeqNumber"),
                                          **_simple_children(child, "LearningDeliveryWorkPlacement"),
                                          "_file": source, "_line": str(child.sourceline)})


def read_ilr(path: str | Path, display: str | None = None) -> IlrTables:
    """Read one ILR XML file into canonical rows; file-level faults raise InputError."""
    path = Path(path)
    shown = display or path.name
    if not path.is_file():
        raise InputError("file not found", file=shown)
    if path.stat().st_size == 0:
        raise InputError("the file is empty", file=shown)
    tables = IlrTables()
    ukprn = None
    root_checked = False
    try:
        # Only the elements read whole raise events (in any namespace): far fewer than every start and end.
        for event, el in _events(path, shown, WANTED):
            if not root_checked:  # the root is known once parsing has begun, whatever its name
                root_checked = True
                _check_root(el.getroottree().getroot(), shown, tables)
            if event == "start":
                continue
            name = local(el.tag)
            if name == "UKPRN" and ukprn is None and local(el.getparent().tag) in ("LearningProvider", "Source"):
                ukprn = _text(el)
            elif name == "Learner":
                _learner(el, ukprn or "", shown, tables)
                _release(el)
                if len(tables.learners) >= CHUNK:
                    tables.flush()
            elif name == "LearnerDestinationandProgression":
                _release(el)
    except etree.XMLSyntaxError as exc:
        line = getattr(exc, "lineno", None) or (exc.position[0] if exc.position else "?")
        raise InputError(f"not well-formed XML at line {line} ({_reason(exc)})", file=shown) from None
    except UnicodeDecodeError:
        raise InputError("not readable text (bad encoding)", file=shown) from None
    if ukprn is None and tables.learners:
        raise InputError("no UKPRN in LearningProvider or Header/Source", file=shown)
    return tables


def _events(path: Path, shown: str, tag=None, events=("start", "end")):
    """(event, element) pairs of an XML file, read a megabyte at a time, with memory bounded whatever it holds.

    After each megabyte every finished child of the root has been handed
    out and dealt with, so it is dropped (the tag filter means the reader
    never hears of elements it does not read; they would otherwise pile
    up); and the child still open (a learner being read) may hold at most
    :data:`MAX_ELEMENT_SIZE` elements. A document that declares a DTD is
    refused: ILR files have none, and an entity could put text where the
    reader would see none. The last pair is ``("end", root)`` with an empty
    local name when the document had no wanted element at all.
    """
    parser = etree.XMLPullParser(events=events, tag=tag, resolve_entities=False, no_network=True, load_dtd=False,
                                 remove_comments=True, remove_pis=True)
    root = None
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(FEED_BYTES), b""):
            parser.feed(chunk)
            for event, el in parser.read_events():
                if root is None:
                    root = el.getroottree().getroot()
                    _refuse_dtd(root, shown)
                yield event, el
            if root is not None:
                _bound(root, shown)
    whole = parser.close()
    for event, el in parser.read_events():
        yield event, el
    if root is None:  # not one wanted element: the caller still checks the root
        if whole is None:
            raise InputError("not an XML document", file=shown)
        _refuse_dtd(whole, shown)
        yield "end", _Unnamed(whole)


class _Unnamed:
    """The root of a document without any element the reader wanted, passed on for its checks only."""

    tag = ""

    def __init__(self, el):
        self.root = el

    def getroottree(self):
        return self.root.getroottree()


def _refuse_dtd(root, shown: str) -> None:
    if root.getroottree().docinfo.doctype:
        raise InputError("declares a DTD (<!DOCTYPE ...>): ILR files have none, and its entities are not read",
                         file=shown)


def _bound(root, shown: str) -> None:
    """Drop the root's finished children; refuse an open one grown past MAX_ELEMENT_SIZE elements."""
    if len(root) > 1:
        del root[:-1]
    if len(root):
        last = root[-1]
        for i, _ in enumerate(last.iter()):
            if i >= MAX_ELEMENT_SIZE:
                raise InputError(f"<{local(last.tag) or '?'}> at line {last.sourceline} holds more than "
                                 f"{MAX_ELEMENT_SIZE:,} elements (an ILR learner holds a few dozen): not read",
                                 file=shown)


def _reason(exc: etree.XMLSyntaxError) -> str:
    msg = str(exc.msg if hasattr(exc, "msg") else exc).split(", line")[0]
    return " ".join(msg.split())[:120]  # libxml2's messages may end in a newline: one line, always


def _check_root(el, shown: str, tables: IlrTables) -> None:
    """The root must be an ILR ``Message`` in an ILR namespace (any year) or in none."""
    tag = el.tag if isinstance(el.tag, str) else ""
    ns = tag[1:].split("}", 1)[0] if tag.startswith("{") else ""
    if local(tag) != "Message":
        raise InputError(f"not an ILR file: the root element is <{local(tag) or '?'}>, not <Message>", file=shown)
    if ns and not NAMESPACE.match(ns):
        raise InputError(f"not an ILR namespace: '{ns}' (expected ESFA/ILR/yyyy-yy or none)", file=shown)
    tables.namespace = ns


def _release(el) -> None:
    """Free a finished element and the siblings before it (flat memory)."""
    el.clear(keep_tail=False)
    parent = el.getparent()
    if parent is not None:
        while el.getprevious() is not None:
            del parent[0]


def read_folder(files: list[Path], root: Path) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Read every XML file of an ILR folder into one set of canonical tables, and the files that could not be.

    One provider's broken file is quarantined whole, with its one-line
    reason (``{file: reason}``), and the others are read; only when no file
    can be read does the return stop, with the first file's reason.
    """
    frames: dict[str, list[pd.DataFrame]] = {name: [] for name in TABLE_NAMES}
    failed: dict[str, str] = {}
    first: InputError | None = None
    for f in sorted(files):
        shown = f.relative_to(root).as_posix()
        try:
            tables = read_ilr(f, shown).frames()
        except InputError as exc:
            failed[shown] = str(exc).removeprefix(f"{shown}: ")
            first = first or exc
            continue
        for name, df in tables.items():
            frames[name].append(df)
    if first is not None and len(failed) == len(files):
        raise first
    return ({name: pd.concat(dfs, ignore_index=True) if dfs else pd.DataFrame() for name, dfs in frames.items()},
            failed)


XSD_BATCH = 500  # learners checked against the schema at a time
MAX_XSD_ERRORS = 1_000  # a file that fails this often is the wrong file or the wrong schema: stop listing


def validate_xsd(path: str | Path, xsd: str | Path) -> list[str]:
    """Schema errors of a file, each as 'line N: message' (empty when valid), in bounded memory.

    The file is streamed like :func:`read_ilr`; the root's children are
    checked against the schema :data:`XSD_BATCH` learners at a time, each
    batch behind the header elements, in a copy that keeps their line
    numbers. A uniqueness rule that spans batches is the one thing this
    cannot see; fjaaqa's own duplicate-key checks cover the ILR's.
    """
    try:
        schema = etree.XMLSchema(etree.parse(str(xsd)))
    except (etree.XMLSyntaxError, etree.XMLSchemaParseError, OSError) as exc:
        raise InputError(f"not a usable XML schema ({exc.__class__.__name__})", file=str(xsd)) from None
    path = Path(path)
    errors: list[str] = []
    head: list = []
    batch: list = []
    root, body = None, False

    def check() -> None:
        doc = etree.Element(root.tag, nsmap=root.nsmap)
        for el in head:
            doc.append(copy.deepcopy(el))
        for el in batch:
            doc.append(el)
        batch.clear()
        if not schema.validate(doc):
            errors.extend(f"line {e.line}: {e.message}" for e in schema.error_log)

    try:
        for _event, el in _events(path, str(path), events=("end",)):
            if root is None:
                root = el.getroottree().getroot()
            if el is root or not isinstance(el.tag, str) or el.getparent() is not root:
                continue
            body = body or local(el.tag) in ("Learner", "LearnerDestinationandProgression")
            (batch if body else head).append(copy.deepcopy(el))
            _release(el)
            if len(batch) >= XSD_BATCH:
                check()
            if len(errors) >= MAX_XSD_ERRORS:
                return errors[:MAX_XSD_ERRORS] + [f"... stopped after {MAX_XSD_ERRORS:,} schema errors"]
    except etree.XMLSyntaxError as exc:
        raise InputError(f"not well-formed XML ({_reason(exc)})", file=str(path)) from None
    if root is not None and (batch or not errors):
        check()
    return errors


# ------------------------------------------------------------------ writing

LAYOUTS = {"2020-21": "ESFA/ILR/2020-21", "2025-26": "ESFA/ILR/2025-26"}
WRITE_LEARNER = ["LearnRefNumber", "ULN", "DateOfBirth", "Ethnicity", "Sex", "LLDDHealthProb", "PriorAttain",
                 "PlanLearnHours", "PlanEEPHours", "MathGrade", "EngGrade", "PostcodePrior", "Postcode"]
WRITE_DELIVERY = XSD_DELIVERY
UNKNOWN_POSTCODE = "ZZ99 9ZZ"


def ilr_file_name(ukprn: str, year_code: str, when: str, serial: int = 1) -> str:
    """The ILR naming convention: ILR-<UKPRN>-<yyyy>-<yyyymmdd>-<hhmmss>-<nn>.xml."""
    return f"ILR-{ukprn}-{year_code}-{when.replace('-', '')}-120000-{serial:02d}.xml"


def _values(row: dict, names: list[str]) -> list[tuple[str, str]]:
    return [(n, str(row[n])) for n in names if n in row and not _blank(row[n])]


def write_ilr(path: Path, ukprn: str, tables: dict[str, pd.DataFrame], layout: str, prepared: str) -> Path:
    """Write one provider's tables as an ILR XML file in a shipped schema's layout.

    ``prepared`` (YYYY-MM-DD) is the file preparation date; written with
    lxml's incremental writer, so a large provider never sits in memory as a tree.
    Learners carry no home postcode: the schema requires one, so the ILR's
    "not known" value ZZ99 9ZZ is written.
    """
    ns = LAYOUTS[layout]
    year = {"2020-21": "2021", "2025-26": "2526"}[layout]
    by_learner = {name: _records_by_learner(df) for name, df in tables.items() if name != "learners"}
    path.parent.mkdir(parents=True, exist_ok=True)
    with etree.xmlfile(str(path), encoding="utf-8") as xf:
        xf.write_declaration()
        with xf.element("Message", nsmap={None: ns}):
            xf.write(_el("Header", [
                _el("CollectionDetails", [("Collection", "ILR"), ("Year", year), ("FilePreparationDate", prepared)],
                    ns),
                _el("Source", [("ProtectiveMarking", "OFFICIAL-SENSITIVE-Personal"), ("UKPRN", ukprn),
                               ("SoftwareSupplier", "fjaaqa"), ("SoftwarePackage", "fjaaqa synth"),
                               ("Release", "1"), ("SerialNo", "01"), ("DateTime", f"{prepared}T12:00:00")], ns),
            ], ns), pretty_print=True)
            xf.write(_el("LearningProvider", [("UKPRN", ukprn)], ns), pretty_print=True)
            for row in tables["learners"].to_dict("records"):
                xf.write(_learner_el(row, by_learner, layout, ns), pretty_print=True)
    return path


def _el(name: str, children, ns: str):
    """Build an element from (name, text) pairs and ready-made elements."""
    el = etree.Element(f"{{{ns}}}{name}", nsmap={None: ns})
    for child in children:
        if isinstance(child, tuple):
            sub = etree.SubElement(el, f"{{{ns}}}{child[0]}")
            sub.text = child[1]
        else:
            el.append(child)
    return el


def _records_by_learner(df: pd.DataFrame) -> dict[str, list[dict]]:
    """Rows as plain dicts grouped by LearnRefNumber (no DataFrame work per learner: fast for big files)."""
    out: dict[str, list[dict]] = {}
    for rec in df.to_dict("records"):
        out.setdefault(rec["LearnRefNumber"], []).append(rec)
    return out


def _blank(v) -> bool:
    return v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NA or str(v) == ""


def _learner_el(row: dict, by_learner: dict, layout: str, ns: str):
    ref = row["LearnRefNumber"]
    row = dict(row, PostcodePrior=UNKNOWN_POSTCODE, Postcode=UNKNOWN_POSTCODE)
    names = [n for n in WRITE_LEARNER if not (layout == "2025-26" and n == "PriorAttain")]
    children: list = list(_values(row, names))
    if layout == "2025-26" and not _blank(row.get("PriorAttain")):
        children.append(_el("PriorAttain", [("PriorLevel", str(row["PriorAttain"])),
                                            ("DateLevelApp", str(row.get("_prior_date") or "2019-08-01"))], ns))
    fams = by_learner.get("fams", {}).get(ref, [])
    for f in fams:
        if _blank(f.get("AimSeqNumber")):
            children.append(_el("LearnerFAM", [("LearnFAMType", f["FAMType"]), ("LearnFAMCode", f["FAMCode"])], ns))
    for e in by_learner.get("employment", {}).get(ref, []):
        esm = [_el("EmploymentStatusMonitoring", [("ESMType", k[4:]), ("ESMCode", str(v))], ns)
               for k, v in e.items() if k.startswith("ESM_") and not _blank(v)]
        children.append(_el("LearnerEmploymentStatus", _values(e, ["EmpStat", "DateEmpStatApp", "EmpId"]) + esm, ns))
    skip = {"2025-26": {"FworkCode", "PwayCode", "EmpOutcome"}, "2020-21": {"TLOut"}}[layout]
    fields = [c for c in WRITE_DELIVERY if c not in skip]
    for d in by_learner.get("deliveries", {}).get(ref, []):
        kids: list = list(_values(d, fields))
        for f in fams:
            if not _blank(f.get("AimSeqNumber")) and str(f["AimSeqNumber"]) == str(d["AimSeqNumber"]):
                kids.append(_el("LearningDeliveryFAM", [("LearnDelFAMType", f["FAMType"]),
                                                        ("LearnDelFAMCode", f["FAMCode"])]
                                + _values({"LearnDelFAMDateFrom": f.get("DateFrom"),
                                           "LearnDelFAMDateTo": f.get("DateTo")},
                                          ["LearnDelFAMDateFrom", "LearnDelFAMDateTo"]), ns))
        for w in by_learner.get("workplacements", {}).get(ref, []):
            if str(w["AimSeqNumber"]) == str(d["AimSeqNumber"]):
                kids.append(_el("LearningDeliveryWorkPlacement", _values(w, WORKPLACEMENT_FIELDS), ns))
        children.append(_el("LearningDelivery", kids, ns))
    return _el("Learner", children, ns)
