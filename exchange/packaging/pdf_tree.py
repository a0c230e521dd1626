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
import zlib
from array import array
from typing import Any

from reportlab.pdfbase.pdfdoc import PDFDocument, PDFName, PDFPage
from reportlab.pdfgen.canvas import Canvas

from exchange.packaging._pdfkit import _NumberedCanvas
from exchange.packaging.pdf_structure import StructureRecorder

_CLOSE = -1  # log entries: -1 closes, -2 - n opens role n, a mark is page << 20 | mcid
_PAGE_SHIFT = 20
_MCID_MASK = (1 << _PAGE_SHIFT) - 1
_PER_STREAM = 500  # objects in one object stream
_STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF\s*$")
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
        canvas.addLiteral(f"/{self._open[-1]} <</MCID {mcid}>> BDC")
        if role is not None:
            self.close()


class TaggedCanvas(_NumberedCanvas):
    """A numbered-page canvas whose pages name their place in the parent tree."""

    def save(self) -> None:
        """Draw every footer, mark the pages for the structure tree, then write the file."""
        total = len(self._saved_pages) + self.pages_after
        for state in self._saved_pages:
            self.__dict__.update(state)
            self._draw_footer(total)
            Canvas.showPage(self)
        self._saved_pages = []
        for index, page in enumerate(self._doc.Pages.pages):
            page.__NoDefault__ = [*PDFPage.__NoDefault__, "StructParents", "Tabs"]
            page.StructParents, page.Tabs = index, PDFName("S")
        Canvas.save(self)


def append_tree(data: bytes, document: PDFDocument, recorder: CompactRecorder) -> bytes:
    """Return the saved file with the recorded structure tree appended as an update."""
    numbers = document.idToObjectNumberAndVersion
    pages = [numbers[page.__InternalName__][0] for page in document.Pages.pages]
    catalog = numbers[document.Catalog.__InternalName__][0]
    first = len(document.numberToId) + 1  # the first number after ReportLab's objects
    roles = [role.encode("ascii") for role in recorder.roles]
    objects = _tree_objects(recorder.finish(), roles, pages, first)
    old = document.Catalog.format(document).rstrip()
    if not old.endswith(b">>"):
        raise ValueError("unexpected catalog format")
    objects.append(old[:-2] + b" /MarkInfo << /Marked true >> /StructTreeRoot %d 0 R >>" % first)
    numbered = [*range(first, first + len(objects) - 1), catalog]
    return _update(data, objects, numbered, catalog, numbers[document.info.__InternalName__][0])


def _tree_objects(log: Any, roles: list[bytes], pages: list[int], first: int) -> list[bytes]:
    """Format the tree root, the parent tree and the elements, numbered from first."""
    objects: list[bytes] = [b"", b""]  # the root and the parent tree, formatted last
    parents: list[list[int]] = [[] for _ in pages]
    stack: list[tuple[int, bytes, int, list[Any]]] = []  # number, role, parent, kids

    def start(role: bytes, parent: int) -> int:
        number = first + len(objects)
        objects.append(b"")
        stack.append((number, role, parent, []))
        return number

    document = start(b"Document", first)
    for entry in log:
        if entry >= 0:
            page, mcid = entry >> _PAGE_SHIFT, entry & _MCID_MASK
            marks = parents[page - 1]
            if mcid != len(marks):
                raise ValueError(f"page {page} has gaps in its marked-content ids")
            marks.append(stack[-1][0])
            stack[-1][3].append((page, mcid))
        elif entry == _CLOSE:
            number, role, parent, kids = stack.pop()
            objects[number - first] = _element(role, parent, kids, pages)
        else:
            number = start(roles[-2 - entry], stack[-1][0])
            stack[-2][3].append(number)
    number, role, parent, kids = stack.pop()
    objects[number - first] = _element(role, parent, kids, pages)
    objects[0] = (
        b"<< /Type /StructTreeRoot /K [%d 0 R] /ParentTree %d 0 R /ParentTreeNextKey %d >>"
        % (document, first + 1, len(pages))
    )
    objects[1] = b"<< /Nums [%s] >>" % b" ".join(
        b"%d [%s]" % (index, b" ".join(b"%d 0 R" % n for n in marks))
        for index, marks in enumerate(parents)
    )
    return objects


def _element(role: bytes, parent: int, kids: list[Any], pages: list[int]) -> bytes:
    """Format a structure element: /Pg and bare MCIDs when its content is on one page."""
    on = {kid[0] for kid in kids if isinstance(kid, tuple)}
    own = on.pop() if len(on) == 1 else None
    parts = []
    for kid in kids:
        if not isinstance(kid, tuple):
            parts.append(b"%d 0 R" % kid)
        elif kid[0] == own:
            parts.append(b"%d" % kid[1])
        else:
            parts.append(b"<< /Type /MCR /Pg %d 0 R /MCID %d >>" % (pages[kid[0] - 1], kid[1]))
    page = b" /Pg %d 0 R" % pages[own - 1] if own is not None else b""
    return b"<< /Type /StructElem /S /%s /P %d 0 R%s /K [%s] >>" % (
        role,
        parent,
        page,
        b" ".join(parts),
    )


def _update(
    data: bytes, objects: list[bytes], numbered: list[int], catalog: int, info: int
) -> bytes:
    """Append objects (with these numbers) in object streams, then an xref stream."""
    found = _STARTXREF.search(data[-64:])
    identifier = _ID.search(data[-2048:])
    if found is None or identifier is None:
        raise ValueError("unexpected end of file from ReportLab")
    out = [data]
    offset = len(data)
    stream_number = max(numbered) + 1
    entries: dict[int, tuple[int, int, int]] = {}
    for start in range(0, len(objects), _PER_STREAM):
        chunk, names = objects[start : start + _PER_STREAM], numbered[start : start + _PER_STREAM]
        header, body, position = [], [], 0
        for index, (number, content) in enumerate(zip(names, chunk, strict=True)):
            header.append(b"%d %d" % (number, position))
            body.append(content)
            position += len(content) + 1
            entries[number] = (2, stream_number, index)
        head = b" ".join(header) + b"\n"
        packed = zlib.compress(head + b"\n".join(body) + b"\n", 6)
        obj = (
            b"%d 0 obj\n<< /Type /ObjStm /N %d /First %d /Filter /FlateDecode /Length %d >>\n"
            b"stream\n"
            % (
                stream_number,
                len(chunk),
                len(head),
                len(packed),
            )
        )
        obj += packed + b"\nendstream\nendobj\n"
        entries[stream_number] = (1, offset, 0)
        out.append(obj)
        offset += len(obj)
        stream_number += 1
    xref_number = stream_number
    entries[xref_number] = (1, offset, 0)
    rows, index = [], []
    for number in sorted(entries):
        if index and index[-1][0] + index[-1][1] == number:
            index[-1][1] += 1
        else:
            index.append([number, 1])
        kind, field, extra = entries[number]
        rows.append(kind.to_bytes(1, "big") + field.to_bytes(4, "big") + extra.to_bytes(4, "big"))
    packed = zlib.compress(b"".join(rows), 6)
    ranges = b" ".join(b"%d %d" % (start, count) for start, count in index)
    out.append(
        b"%d 0 obj\n<< /Type /XRef /Size %d /Index [%s] /W [1 4 4] /Root %d 0 R /Info %d 0 R "
        b"/ID %s /Prev %s /Filter /FlateDecode /Length %d >>\nstream\n"
        % (
            xref_number,
            xref_number + 1,
            ranges,
            catalog,
            info,
            identifier.group(1),
            found.group(1),
            len(packed),
        )
    )
    out.append(packed + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % offset)
    return b"".join(out)
