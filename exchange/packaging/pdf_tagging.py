"""Write a recorded structure into a generated PDF: structure tree, parent tree, language.

The marked content is already in the page streams (see pdf_structure); this adds what
points at it: a /StructTreeRoot whose elements reference each page's MCIDs, the
/ParentTree that maps them back, /MarkInfo, /Lang and tab order by structure.
"""

from __future__ import annotations

import io

import pikepdf
from pikepdf import Array, Dictionary, Name, Pdf

from exchange.packaging.pdf_structure import Element, Mark, StructureRecorder


def write_structure(data: bytes, recorder: StructureRecorder, language: str = "en-GB") -> bytes:
    """Return the PDF with the recorded structure tree, /MarkInfo and /Lang added."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        pages = [page.obj for page in pdf.pages]
        by_page: dict[int, dict[int, pikepdf.Object]] = {}
        tree = pdf.make_indirect(Dictionary(Type=Name.StructTreeRoot))
        tree.K = _element(pdf, recorder.finish(), tree, pages, by_page)
        numbers: list[object] = []  # One Array at the end: Array.extend copies it each time.
        for index, page in enumerate(pages):
            page.StructParents = index
            page.Tabs = Name.S
            parents = by_page.get(index + 1, {})
            numbers += [index, Array([parents[mcid] for mcid in sorted(parents)])]
            if sorted(parents) != list(range(len(parents))):
                raise ValueError(f"page {index + 1} has gaps in its marked-content ids")
        tree.ParentTree = pdf.make_indirect(Dictionary(Nums=Array(numbers)))
        tree.ParentTreeNextKey = len(pages)
        pdf.Root.StructTreeRoot = tree
        pdf.Root.MarkInfo = Dictionary(Marked=True)
        pdf.Root.Lang = pikepdf.String(language)
        output = io.BytesIO()
        pdf.save(
            output,
            deterministic_id=True,
            object_stream_mode=pikepdf.ObjectStreamMode.generate,  # thousands of small elements
        )
        return output.getvalue()


def _element(
    pdf: Pdf,
    element: Element,
    parent: pikepdf.Object,
    pages: list[pikepdf.Object],
    by_page: dict[int, dict[int, pikepdf.Object]],
) -> pikepdf.Object:
    marked_pages = {child.page for child in element.children if isinstance(child, Mark)}
    own_page = marked_pages.pop() if len(marked_pages) == 1 else None
    keys = {"/Type": Name.StructElem, "/S": Name("/" + element.role), "/P": parent}
    if own_page is not None:
        keys["/Pg"] = pages[own_page - 1]  # then a bare MCID names content on that page
    node = pdf.make_indirect(Dictionary(keys))
    kids: list[object] = []  # Built in Python, set once: each pikepdf call costs.
    for child in element.children:
        if isinstance(child, Mark):
            by_page.setdefault(child.page, {})[child.mcid] = node
            if child.page == own_page:
                kids.append(child.mcid)
            else:
                kids.append(Dictionary(Type=Name.MCR, Pg=pages[child.page - 1], MCID=child.mcid))
        else:
            kids.append(_element(pdf, child, node, pages, by_page))
    node.K = Array(kids)
    return node
