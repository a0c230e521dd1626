"""The chronology and the transfer form are tagged PDFs: poppler reads their structure."""

from __future__ import annotations

import dataclasses
import io
import re
import subprocess
from pathlib import Path

import pikepdf
import pytest
from bundle_kit import tool

from exchange.packaging.chronology_pdf import render_chronology_pdf
from exchange.packaging.manifest import FileEntry
from exchange.packaging.samples import fictional_chronology
from exchange.packaging.transfer_form import render_transfer_form

TEXT_OPERATORS = {"Tj", "TJ", "'", '"'}


def _render(which: str, incidents: int = 3) -> bytes:
    chronology = fictional_chronology(incidents=incidents)
    if which == "chronology":
        return render_chronology_pdf(chronology)
    if which == "long chronology":  # narratives and lists that break across pages
        long = [
            dataclasses.replace(
                incident,
                narrative=incident.narrative * (8 * number),
                actions=incident.actions * (4 * number),
            )
            for number, incident in enumerate(chronology.incidents, start=1)
        ]
        return render_chronology_pdf(dataclasses.replace(chronology, incidents=tuple(long)))
    files = [FileEntry(f"vault/{n:04d}.pdf", 1000 + n, f"{n:064x}") for n in range(1, 80)]
    return render_transfer_form(chronology, files, "02-receipt-code.txt", 81)


def _structure(path: Path) -> str:
    pdfinfo = tool("pdfinfo")
    return subprocess.run(
        [pdfinfo, "-struct-text", str(path)], capture_output=True, text=True, check=True
    ).stdout


@pytest.mark.parametrize("which", ["chronology", "form"])
def test_poppler_reads_headings_paragraphs_and_tables(which: str, tmp_path: Path) -> None:
    """pdfinfo (poppler) finds a tagged PDF whose elements carry the text in reading order."""
    path = tmp_path / "out.pdf"
    path.write_bytes(_render(which))
    info = subprocess.run(
        [tool("pdfinfo"), str(path)], capture_output=True, text=True, check=True
    ).stdout
    assert "Tagged:          yes" in info
    assert subprocess.run([tool("qpdf"), "--check", str(path)], capture_output=True).returncode == 0
    structure = _structure(path)
    assert structure.startswith("Document")
    roles = set(re.findall(r"^\s*([A-Z][A-Za-z0-9]*)\b", structure, re.MULTILINE))
    assert {"H1", "H2", "P", "Table", "TR", "TH", "TD"} <= roles
    if which == "chronology":
        assert {"H3", "L", "LI", "LBody"} <= roles
        order = ["Child protection file: chronology", "Incidents in time order", "Attached docu"]
        positions = [structure.index(f'"{heading}') for heading in order]
        assert positions == sorted(positions)
    else:
        assert re.search(r'TH\s+"SHA-256"', structure)
        # The listing spans pages; a file name is a paragraph in its cell (names may wrap).
        assert re.search(r'TD\s+P \(block\)\s+"vault/0079\.pdf"', structure)
    assert "Page 1 of" not in structure  # footers are artifacts, not content


@pytest.mark.parametrize("which", ["chronology", "long chronology", "form"])
def test_all_text_is_tagged_or_an_artifact(which: str) -> None:
    """Every text-showing operator sits in marked content with an MCID, or in an artifact."""
    with pikepdf.open(io.BytesIO(_render(which, incidents=8))) as pdf:
        assert str(pdf.Root.Lang) == "en-GB"
        assert pdf.Root.MarkInfo.Marked is True
        parent_tree = pdf.Root.StructTreeRoot.ParentTree.Nums
        for index, page in enumerate(pdf.pages):
            assert page.obj.StructParents == index
            parents = parent_tree[2 * index + 1]
            stack: list[str] = []
            seen: list[int] = []
            for operands, operator in pikepdf.parse_content_stream(page):
                name = str(operator)
                if name in ("BDC", "BMC"):
                    tag = str(operands[0])
                    if name == "BDC" and "/MCID" in operands[1]:
                        seen.append(int(operands[1].MCID))
                        tag = "mcid"
                    stack.append(tag)
                elif name == "EMC":
                    stack.pop()
                elif name in TEXT_OPERATORS:
                    assert stack, (index, operands)
                    assert stack[-1] in ("mcid", "/Artifact"), (index, operands)
            assert not stack
            assert seen == list(range(len(parents)))
            for mcid, element in enumerate(parents):
                assert _references(element, mcid, page.obj)


def _references(element: pikepdf.Object, mcid: int, page: pikepdf.Object) -> bool:
    """Say whether a structure element's kids name this MCID on this page (either form)."""
    for kid in element.K:
        if isinstance(kid, int) and kid == mcid and element.Pg.objgen == page.objgen:
            return True
        named = isinstance(kid, pikepdf.Dictionary) and kid.get("/MCID") == mcid
        if named and kid.Pg.objgen == page.objgen:  # the MCID may be on other pages too
            return True
    return False
