"""Scans for personal data in a folder of outputs: the checks the end-to-end build must pass."""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import pandas as pd


def pdf_objects(data: bytes) -> bytes:
    """The PDF's bytes plus every Flate stream decompressed (object streams hold the catalogue)."""
    parts = [data]
    for m in re.finditer(rb"stream\r?\n", data):
        start = m.end()
        end = data.find(b"endstream", start)
        try:
            parts.append(zlib.decompress(data[start:end]))
        except zlib.error:
            continue
    return b"\n".join(parts)


def pdf_pages(data: bytes) -> int:
    """How many pages a PDF has (its page tree's /Count)."""
    m = re.search(rb"/Type\s*/Pages\s*/Kids\s*\[[^\]]*\]\s*/Count\s+(\d+)", pdf_objects(data))
    return int(m.group(1))


# Outputs allowed to carry learner identifiers: the DfE packs' restricted case list and the FRM query lists.
RESTRICTED = re.compile(r"(^|/)packs/dfe/[^/]*-cases-restricted\.(xlsx|csv)$|(^|/)frm/")
POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b")


def _output_text(path: Path) -> str:
    if path.suffix == ".xlsx":  # every cell's text
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True)
        return "\n".join(str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row
                         if c is not None)
    if path.suffix == ".pdf":  # WeasyPrint compresses text: check what can be read, the metadata
        return path.read_bytes().decode("latin-1")
    return path.read_text(encoding="utf-8")


def scan_for_personal_data(out: Path, data: Path) -> None:
    """Every output: no date-of-birth field, no postcode, no learner identifier outside the restricted lists;
    published counts of apprentices below the disclosure threshold are suppressed."""
    import glob

    learners = pd.concat([pd.read_csv(f, dtype=str) for f in glob.glob(str(data / "ilr" / "*" / "*" / "learners.csv"))])
    deliveries = pd.concat([pd.read_csv(f, dtype=str)
                            for f in glob.glob(str(data / "ilr" / "*" / "*" / "deliveries.csv"))])
    ulns = set(learners["ULN"].dropna())
    refs = {r for r in learners["LearnRefNumber"].dropna() if len(r) >= 6}
    postcodes = set(deliveries["DelLocPostCode"].dropna()) - {"ZZ99 9ZZ"}
    checked = 0
    for path in sorted(out.rglob("*")):
        if not path.is_file() or path.name.startswith(".") or path.suffix not in (".html", ".csv", ".json", ".xlsx"):
            continue
        rel = path.relative_to(out).as_posix()
        text = _output_text(path)
        checked += 1
        assert "DateOfBirth" not in text and "DelLocPostCode" not in text, rel
        assert "date of birth" not in text.lower(), rel
        found = set(POSTCODE.findall(text)) - {"ZZ99 9ZZ"}
        assert not (found & postcodes), (rel, sorted(found & postcodes)[:3])
        if not RESTRICTED.search(rel):
            tokens = set(re.findall(r"\b\w+\b", text))
            assert not (tokens & ulns), (rel, sorted(tokens & ulns)[:3])
            assert not (tokens & refs), (rel, sorted(tokens & refs)[:3])
    assert checked > 100
    pdfs = sorted(out.rglob("*.pdf"))
    assert len(pdfs) > 80
    for pdf in pdfs:  # every PDF (packs, FRM, scenarios, summary, self-assessment) tagged, titled, in English
        raw = pdf_objects(pdf.read_bytes())
        assert b"/StructTreeRoot" in raw and b"/Lang" in raw and b"en-GB" in raw and b"/Title" in raw, pdf
    for meta in (out / "2324" / "R14" / "summary" / "data").glob("*.meta.csv"):
        m = pd.read_csv(meta, dtype=str)
        counts = m[(m["col_type"] == "Indicator") & (m["indicator_dp"] == "0")
                   & ~m["col_name"].str.startswith("agencies_")]["col_name"]
        table = pd.read_csv(meta.with_name(meta.name.replace(".meta.csv", ".csv")), dtype=str)
        for col in counts:
            small = table[col][table[col].str.fullmatch(r"[1-4]", na=False)]
            assert small.empty, (meta.name, col, list(small))
