"""Record a structure tree compactly; add it to ReportLab's saved file as an update.

The recorder keeps the tree as a flat log of integers (open an element, a marked-content
reference, close): a few bytes an element rather than Python objects per paragraph. Once
ReportLab has saved the pages, `append_tree` formats the log in one pass into the structure
elements, /StructTreeRoot, /ParentTree and a catalog with /StructTreeRoot and /MarkInfo, and
appends them as an incremental update: compressed object streams and an xref stream whose
/Prev is ReportLab's cross-reference table. No object is parsed again or copied.
"""

from __future__ import annotations

import re
import struct
import zlib
from array import array
from typing import Any

from reportlab.lib.units import mm
from reportlab.pdfbase.pdfdoc import (
    PDFDictionary,
    PDFDocument,
    PDFName,
    PDFPage,
    PDFStream,
)
from reportlab.pdfgen.canvas import Canvas

from exchange.packaging._pdfkit import fonts
from exchange.packaging.pdf_structure import StructureRecorder

_CLOSE = -1  # log entries: -1 closes, -2 - n opens role n, a mark is page << 20 | mcid
_PAGE_SHIFT = 20
_MCID_MASK = (1 << _PAGE_SHIFT) - 1
_PER_STREAM = 500  # objects in one object stream
_STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF\s*$")
_ROW = struct.Struct(">BII")  # an xref stream row: type, offset or stream, generation or index
_TOTAL = "PageTotal"  # the form XObject holding the page count
_TOTAL_WIDTH = 24.0  # room for five digits at 8 pt
_ID = re.compile(rb"/ID\s*(\[\s*<[0-9a-fA-F]*>\s*<[0-9a-fA-F]*>\s*\])")


class CompactRecorder(StructureRecorder):
    """A StructureRecorder whose tree is a log of integers, written by append_tree."""

    def __init__(self) -> None:
        self.roles: list[str] = []
        self._role_ids: dict[str, int] = {}
        self.log = array("q")
        self._open = ["Document"]
        self._page, self._mcid = 0, 0

    def open(self, role: str) -> None:
        """Start a child element of the current one."""
        number = self._role_ids.get(role)
        if number is None:
            number = self._role_ids[role] = len(self.roles)
            self.roles.append(role)
        self.log.append(-2 - number)
        self._open.append(role)

    def close(self) -> None:
        """End the current element."""
        if len(self._open) == 1:
            raise RuntimeError("the Document element cannot be closed")
        self.log.append(_CLOSE)
        self._open.pop()

    def finish(self) -> Any:
        """Check every element opened was closed; return the log."""
        if len(self._open) != 1:
            raise RuntimeError(f"structure elements left open: {self._open[1:]}")
        return self.log

    def begin(self, canvas: Canvas, role: str | None = None) -> None:
        """Open marked content; with a role it is a new element, else part of the current."""
        page = canvas.getPageNumber()
        if page != self._page:
            self._page, self._mcid = page, 0
        mcid = self._mcid
        self._mcid += 1
        if role is not None:
            self.open(role)
        self.log.append(page << _PAGE_SHIFT | mcid)
        canvas._code.append(f"/{self._open[-1]} <</MCID {mcid}>> BDC")
        if role is not None:
            self.close()

    def end(self, canvas: Canvas) -> None:
        """Close the marked content opened by begin."""
        canvas._code.append("EMC")


class TaggedCanvas(Canvas):
    """A canvas that finishes each page at once: "Page N of M" footer, stream compressed.

    The total M is a form XObject drawn on every page and defined when the canvas is saved,
    so no page waits for the page count and only compressed page streams stay in memory.
    """

    footer_left = ""

    def showPage(self) -> None:  # noqa: N802 - reportlab's name
        """Draw the footer, end the page and compress its content now."""
        self._draw_footer()
        Canvas.showPage(self)
        page = self._doc.Pages.pages[-1]
        content = page.stream.encode("utf8")  # as ReportLab's own Flate filter encodes it
        page.Contents = PDFStream(
            PDFDictionary({"Filter": PDFName("FlateDecode")}), zlib.compress(content, 6), None
        )
        page.stream = None

    def tagged_pdf(self, recorder: CompactRecorder) -> bytes:
        """Finish the document; return it with the recorded structure tree (no file written)."""
        if len(self._code):
            self.showPage()
        self.beginForm(_TOTAL, 0, -3, _TOTAL_WIDTH, 9)
        self.setFont(fonts()[0], 8)
        self.drawString(0, 0, str(len(self._doc.Pages.pages)))
        self.endForm()
        for index, page in enumerate(self._doc.Pages.pages):
            page.__NoDefault__ = [*PDFPage.__NoDefault__, "StructParents", "Tabs"]
            page.StructParents, page.Tabs = index, PDFName("S")
        return append_tree(self._doc.GetPDFData(self), self._doc, recorder)

    def _draw_footer(self) -> None:
        """Draw the footer as a pagination artifact: the left text, then "Page N of M"."""
        StructureRecorder.begin_artifact(self, "Pagination")
        self.setFont(fonts()[0], 8)
        total_x = self._pagesize[0] - 18 * mm - _TOTAL_WIDTH
        self.drawString(18 * mm, 10 * mm, self.footer_left)
        self.drawRightString(total_x, 10 * mm, f"Page {self._pageNumber} of ")
        self.saveState()
        self.translate(total_x, 10 * mm)
        self.doForm(_TOTAL)
        self.restoreState()
        StructureRecorder.end_artifact(self)


def append_tree(data: bytes, document: PDFDocument, recorder: CompactRecorder) -> bytes:
    """Return the saved file with the recorded structure tree appended as an update."""
    numbers = document.idToObjectNumberAndVersion
    found = _STARTXREF.search(data[-64:])
    identifier = _ID.search(data[-2048:])
    if found is None or identifier is None:
        raise ValueError("unexpected end of file from ReportLab")
    catalog = document.Catalog.format(document).rstrip()
    if not catalog.endswith(b">>"):
        raise ValueError("unexpected catalog format")
    update = _Update(len(data), len(document.numberToId) + 1)
    root, parent_tree = update.number(), update.number()
    pages = [numbers[page.__InternalName__][0] for page in document.Pages.pages]
    top, parents = _write_elements(recorder, pages, root, update)
    update.add(
        root,
        b"<< /Type /StructTreeRoot /K [%d 0 R] /ParentTree %d 0 R /ParentTreeNextKey %d >>"
        % (top, parent_tree, len(pages)),
    )
    update.add(parent_tree, b"<< /Nums [%s] >>" % b" ".join(parents))
    catalog_number = numbers[document.Catalog.__InternalName__][0]
    update.add(
        catalog_number,
        catalog[:-2] + b" /MarkInfo << /Marked true >> /StructTreeRoot %d 0 R >>" % root,
    )
    trailer = b"/Root %d 0 R /Info %d 0 R /ID %s /Prev %s" % (
        catalog_number,
        numbers[document.info.__InternalName__][0],
        identifier.group(1),
        found.group(1),
    )
    return b"".join([data, *update.finish(trailer)])


def _write_elements(
    recorder: CompactRecorder, pages: list[int], root: int, update: _Update
) -> tuple[int, list[bytes]]:
    """Write each element as it closes; return the Document's number and parent-tree pairs."""
    roles = [role.encode("ascii") for role in recorder.roles]
    parents: list[bytes] = []  # "index [refs]" for each finished page
    marks: list[bytes] = []  # the current page's element references, by MCID
    current = 1
    stack: list[tuple[int, bytes, int, list[int]]] = []  # number, role, parent, kids
    top = update.number()
    stack.append((top, b"Document", root, []))
    for entry in recorder.finish():
        if entry >= 0:
            page, mcid = entry >> _PAGE_SHIFT, entry & _MCID_MASK
            while page > current:
                parents.append(b"%d [%s]" % (current - 1, b" ".join(marks)))
                marks, current = [], current + 1
            if mcid != len(marks):
                raise ValueError(f"page {page} has gaps in its marked-content ids")
            marks.append(b"%d 0 R" % stack[-1][0])
            stack[-1][3].append(-1 - entry)  # a mark; element kids are their (positive) numbers
        elif entry == _CLOSE:
            number, role, parent, kids = stack.pop()
            update.add(number, _element(role, parent, kids, pages))
        else:
            number = update.number()
            stack[-1][3].append(number)
            stack.append((number, roles[-2 - entry], stack[-1][0], []))
    while current <= len(pages):
        parents.append(b"%d [%s]" % (current - 1, b" ".join(marks)))
        marks, current = [], current + 1
    number, role, parent, kids = stack.pop()
    update.add(number, _element(role, parent, kids, pages))
    return top, parents


def _element(role: bytes, parent: int, kids: list[int], pages: list[int]) -> bytes:
    """Format a structure element: /Pg and bare MCIDs when its content is on one page."""
    on = {(-1 - kid) >> _PAGE_SHIFT for kid in kids if kid < 0}
    own = on.pop() if len(on) == 1 else None
    parts = []
    for kid in kids:
        if kid >= 0:
            parts.append(b"%d 0 R" % kid)
            continue
        page, mcid = (-1 - kid) >> _PAGE_SHIFT, (-1 - kid) & _MCID_MASK
        if page == own:
            parts.append(b"%d" % mcid)
        else:
            parts.append(b"<< /Type /MCR /Pg %d 0 R /MCID %d >>" % (pages[page - 1], mcid))
    page_key = b" /Pg %d 0 R" % pages[own - 1] if own is not None else b""
    return b"<< /Type /StructElem /S /%s /P %d 0 R%s /K [%s] >>" % (
        role,
        parent,
        page_key,
        b" ".join(parts),
    )


class _Update:
    """An incremental update written as objects finish: object streams, then an xref stream.

    Objects go into the next object stream in the order they are added, so only the stream
    being filled is held uncompressed; the cross-reference rows are 9 bytes an object.
    """

    def __init__(self, offset: int, first: int) -> None:
        self.offset, self.first = offset, first
        self.next = first
        self.rows = bytearray()  # rows for numbers first.. (type, field, index)
        self.extra: dict[int, bytes] = {}  # rows for numbers before first (the catalog)
        self.pending: list[tuple[int, bytes]] = []
        self.out: list[bytes] = []

    def number(self) -> int:
        """Reserve the next object number."""
        self.next += 1
        self.rows += bytes(9)
        return self.next - 1

    def add(self, number: int, content: bytes) -> None:
        """Add a formatted object; write a full object stream out."""
        self.pending.append((number, content))
        if len(self.pending) >= _PER_STREAM:
            self._flush()

    def _row(self, number: int, row: bytes) -> None:
        if number < self.first:
            self.extra[number] = row
        else:
            at = 9 * (number - self.first)
            self.rows[at : at + 9] = row

    def _flush(self) -> None:
        stream = self.number()
        header, position = [], 0
        for index, (number, content) in enumerate(self.pending):
            header.append(b"%d %d" % (number, position))
            position += len(content) + 1
            self._row(number, _ROW.pack(2, stream, index))
        head = b" ".join(header) + b"\n"
        packed = zlib.compress(head + b"\n".join(c for _, c in self.pending) + b"\n", 6)
        self._object(
            stream,
            b"<< /Type /ObjStm /N %d /First %d /Filter /FlateDecode /Length %d >>\nstream\n"
            % (len(self.pending), len(head), len(packed))
            + packed
            + b"\nendstream",
        )
        self.pending = []

    def _object(self, number: int, body: bytes) -> None:
        self._row(number, _ROW.pack(1, self.offset, 0))
        written = b"%d 0 obj\n%s\nendobj\n" % (number, body)
        self.out.append(written)
        self.offset += len(written)

    def finish(self, trailer: bytes) -> list[bytes]:
        """Write the last object stream and the xref stream; return the update's bytes."""
        if self.pending:
            self._flush()
        xref = self.number()
        self._row(xref, _ROW.pack(1, self.offset, 0))
        index = b" ".join(b"%d 1" % number for number in sorted(self.extra))
        index += b" %d %d" % (self.first, self.next - self.first)
        packed = zlib.compress(
            b"".join(self.extra[n] for n in sorted(self.extra)) + bytes(self.rows), 6
        )
        start = self.offset
        self._object(
            xref,
            b"<< /Type /XRef /Size %d /Index [%s] /W [1 4 4] %s /Filter /FlateDecode "
            b"/Length %d >>\nstream\n%s\nendstream"
            % (self.next, index, trailer, len(packed), packed),
        )
        self.out.append(b"startxref\n%d\n%%%%EOF\n" % start)
        return self.out
