"""Clean every place outside page content where a name can hide in a PDF."""

from __future__ import annotations

from collections.abc import Iterator

import pikepdf

from exchange.redaction.matcher import Matcher
from exchange.redaction.report import Removal, Report
from exchange.redaction.strings import StringRedactor

_DROPPED_PAGE_KEYS = ("/Thumb", "/PieceInfo")
_DROPPED_ROOT_KEYS = ("/PieceInfo", "/Collection")


def walk_objects(pdf: pikepdf.Pdf) -> Iterator[pikepdf.Object]:
    """Yield every indirect dictionary, stream and array, and the trailer."""
    yield pdf.trailer
    for obj in pdf.objects:
        if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream | pikepdf.Array):
            yield obj


def remove_javascript(pdf: pikepdf.Pdf, report: Report) -> None:
    """Remove every JavaScript action and the document's JavaScript name tree."""
    names = pdf.Root.get("/Names")
    removed = 0
    if isinstance(names, pikepdf.Dictionary) and "/JavaScript" in names:
        del names["/JavaScript"]
        removed += 1
    for obj in list(walk_objects(pdf)):
        items = obj.items() if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream) else []
        for key, value in list(items):
            if _is_javascript(value):
                del obj[key]
                removed += 1
    if removed:
        report.removed.append(Removal(None, "javascript", (), None, "all"))


def _is_javascript(value: object) -> bool:
    return isinstance(value, pikepdf.Dictionary) and (
        value.get("/S") == pikepdf.Name.JavaScript or "/JS" in value
    )


def remove_embedded_files(pdf: pikepdf.Pdf, report: Report, pages: dict) -> None:
    """Remove embedded files, file attachment annotations and associated files."""
    names = pdf.Root.get("/Names")
    if isinstance(names, pikepdf.Dictionary) and "/EmbeddedFiles" in names:
        del names["/EmbeddedFiles"]
        report.removed.append(Removal(None, "embedded_file", (), None, "all"))
        report.flag(None, "embedded_file_removed", "attachments were removed without checking")
    for number, page in enumerate(pdf.pages, 1):
        annots = page.obj.get("/Annots")
        if not isinstance(annots, pikepdf.Array):
            continue
        kept = [a for a in annots if not _is_file_attachment(a)]
        if len(kept) != len(annots):
            page.obj.Annots = pdf.make_indirect(pikepdf.Array(kept))
            report.removed.append(Removal(number, "embedded_file", (), None, "annotation"))
            report.flag(number, "embedded_file_removed", "a file attachment was removed")
    for obj in list(walk_objects(pdf)):
        if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream) and "/AF" in obj:
            del obj["/AF"]
    del pages


def remove_hidden_extras(pdf: pikepdf.Pdf, report: Report) -> None:
    """Remove page thumbnails, private application data and XFA form data."""
    for page in pdf.pages:
        for key in _DROPPED_PAGE_KEYS:
            if key in page.obj:
                del page.obj[key]
    for key in _DROPPED_ROOT_KEYS:
        if key in pdf.Root:
            del pdf.Root[key]
    acroform = pdf.Root.get("/AcroForm")
    if isinstance(acroform, pikepdf.Dictionary) and "/XFA" in acroform:
        del acroform["/XFA"]
        report.removed.append(Removal(None, "xfa_form_data", (), None, "all"))


def clean_xmp(pdf: pikepdf.Pdf, matcher: Matcher, report: Report) -> None:
    """Remove any XMP metadata stream that mentions a name."""
    for obj in list(walk_objects(pdf)):
        if not isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
            continue
        metadata = obj.get("/Metadata")
        if not isinstance(metadata, pikepdf.Stream):
            continue
        try:
            xml = metadata.read_bytes().decode("utf-8", errors="replace")
        except pikepdf.PdfError:
            xml = ""
        hits = [m for m in matcher.find(xml) if m.decision != "kept"]
        if hits or not xml:
            del obj["/Metadata"]
            ids = tuple(dict.fromkeys(pid for m in hits for pid in m.group.target_ids))
            report.removed.append(Removal(None, "xmp_metadata", ids, None, "stream"))


def clean_strings(
    pdf: pikepdf.Pdf, strings: StringRedactor, annotation_pages: dict[tuple, int]
) -> None:
    """Redact every text string in every object: info, annotations, outlines, fields, tags."""
    info = pdf.trailer.get("/Info")
    info_id = info.objgen if isinstance(info, pikepdf.Dictionary) else None
    for obj in walk_objects(pdf):
        page = annotation_pages.get(obj.objgen) if obj.is_indirect else None
        location = "info" if obj.is_indirect and obj.objgen == info_id else _location(obj)
        _clean_container(obj, strings, page, location)


def _clean_container(
    obj: pikepdf.Object, strings: StringRedactor, page: int | None, location: str
) -> None:
    if isinstance(obj, pikepdf.Array):
        pairs = list(enumerate(obj))
    elif isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
        pairs = list(obj.items())
    else:
        return
    for key, value in pairs:
        if isinstance(value, pikepdf.String):
            text = _text(value)
            if text is None:
                continue
            new = strings.redact(text, page, _key_location(key, location))
            if new is not None:
                obj[key] = pikepdf.String(new)
        elif isinstance(value, pikepdf.Array | pikepdf.Dictionary) and not value.is_indirect:
            _clean_container(value, strings, page, location)


def _text(value: pikepdf.String) -> str | None:
    try:
        return str(value)
    except UnicodeDecodeError:
        return None


def _key_location(key: object, location: str) -> str:
    if location == "structure_tree":
        return location
    special = {"/URI": "link", "/ActualText": "marked_content", "/Alt": "alt_text"}
    return special.get(str(key), location)


def _location(obj: pikepdf.Object) -> str:
    """Name the kind of object a string sits in, for the report."""
    if not isinstance(obj, pikepdf.Dictionary):
        return "named_destination" if isinstance(obj, pikepdf.Array) else "object"
    kind = obj.get("/Type")
    if "/FT" in obj or ("/Parent" in obj and "/T" in obj and "/Subtype" not in obj):
        return "form_field"
    if kind == pikepdf.Name.Annot or ("/Subtype" in obj and ("/Rect" in obj)):
        return "annotation"
    if kind == pikepdf.Name.StructElem or ("/S" in obj and "/P" in obj):
        return "structure_tree"
    if "/Title" in obj and ("/Parent" in obj or "/First" in obj):
        return "outline"
    if "/URI" in obj:
        return "link"
    return "object"


def annotation_pages(pdf: pikepdf.Pdf) -> dict[tuple, int]:
    """Map each annotation (and its popup and parent field) to its page number."""
    found: dict[tuple, int] = {}
    for number, page in enumerate(pdf.pages, 1):
        annots = page.obj.get("/Annots")
        if not isinstance(annots, pikepdf.Array):
            continue
        for annot in annots:
            if not isinstance(annot, pikepdf.Dictionary):
                continue
            for related in (annot, annot.get("/Popup"), annot.get("/Parent")):
                if isinstance(related, pikepdf.Dictionary) and related.is_indirect:
                    found.setdefault(related.objgen, number)
    return found


def rename_destinations(pdf: pikepdf.Pdf, matcher: Matcher, report: Report) -> None:
    """Rename named destinations (PDF names) that contain a name, everywhere they are used."""
    dests = pdf.Root.get("/Dests")
    if not isinstance(dests, pikepdf.Dictionary):
        return
    renames: dict[str, str] = {}
    for key in list(dests.keys()):
        spaced = _split_camel(key[1:])
        hits = [m for m in matcher.find(spaced) if m.decision != "kept"]
        if hits:
            renames[key] = f"/Destination{len(renames) + 1}"
            ids = tuple(dict.fromkeys(pid for m in hits for pid in m.group.target_ids))
            report.removed.append(Removal(None, "named_destination", ids, None, "name"))
    if not renames:
        return
    for old, new in renames.items():
        dests[new] = dests[old]
        del dests[old]
    for obj in walk_objects(pdf):
        if isinstance(obj, pikepdf.Dictionary):
            _rename_in(obj, renames)


def _rename_in(obj: pikepdf.Object, renames: dict[str, str]) -> None:
    if isinstance(obj, pikepdf.Dictionary):
        for key in ("/Dest", "/D"):
            value = obj.get(key)
            if isinstance(value, pikepdf.Name) and str(value) in renames:
                obj[key] = pikepdf.Name(renames[str(value)])
        for value in obj.values():
            if isinstance(value, pikepdf.Dictionary) and not value.is_indirect:
                _rename_in(value, renames)


def _split_camel(name: str) -> str:
    out = []
    for index, char in enumerate(name):
        if index and char.isupper() and name[index - 1].islower():
            out.append(" ")
        out.append(" " if char in "#_-." else char)
    return "".join(out)


def _is_file_attachment(annotation: object) -> bool:
    """Return whether an /Annots entry is a file attachment (entries that are not
    dictionaries are damage that viewers skip, and are left as they are)."""
    return (
        isinstance(annotation, pikepdf.Dictionary)
        and annotation.get("/Subtype") == pikepdf.Name.FileAttachment
    )
