"""Generate the test PDFs: reportlab pages and hand-written content streams via pikepdf.

Every name here is invented for the tests.
"""

from __future__ import annotations

import io
from pathlib import Path

import pikepdf
import reportlab
from pikepdf import Array, Dictionary, Name
from PIL import Image, ImageDraw
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.ttfonts import TTFontFile
from reportlab.pdfgen import canvas

from exchange.redaction.names import Person

VERA = Path(reportlab.__file__).parent / "fonts" / "Vera.ttf"

SUBJECT = Person("s1", "Rowan", "Pike")
SIBLING = Person("s2", "Juniper", "Pike", kind="pupil")
TARGET = Person("c1", "Ellery", "Quorn", nicknames=("Elle",))
DOUBLE = Person("c2", "Zoë", "Ward-Thomas")
STAFF = Person("t1", "Marian", "Quorn", kind="staff")
PEOPLE = [SUBJECT, SIBLING, TARGET, DOUBLE]
TARGET_WORDS = ["Ellery", "Quorn", "Ward-Thomas", "Thomas"]


def helvetica() -> Dictionary:
    """Return a standard-14 Helvetica font dictionary with WinAnsi encoding."""
    return Dictionary(
        Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica, Encoding=Name.WinAnsiEncoding
    )


def content_pdf(
    path: Path, content: bytes, fonts: dict[str, pikepdf.Object] | None = None
) -> pikepdf.Pdf:
    """Write a one-page PDF with a hand-written content stream and return it open."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(612, 792))
    page = pdf.pages[0]
    font_dict = Dictionary({f"/{k}": pdf.make_indirect(v) for k, v in (fonts or {}).items()})
    page.obj.Resources = Dictionary(Font=font_dict)
    page.obj.Contents = pdf.make_stream(content)
    pdf.save(path)
    return pdf


def _without_cmap(font_path: Path) -> bytes:
    """Return a TrueType program with its cmap table dropped and no glyph names."""
    from fontTools import ttLib

    font = ttLib.TTFont(str(font_path))
    del font["cmap"]
    font["post"].formatType = 3.0
    buffer = io.BytesIO()
    font.save(buffer)
    return buffer.getvalue()


def reportlab_pdf(path: Path) -> None:
    """Write a reportlab page with names in standard fonts and the classic failures."""
    c = canvas.Canvas(str(path), pagesize=(612, 792))
    c.setAuthor("Ellery Quorn")
    c.setTitle("Meeting about Ellery Quorn")
    c.setSubject("Zoë Ward-Thomas")
    c.setKeywords("Quorn")
    c.setFont("Helvetica", 11)
    c.drawString(72, 720, "On Monday Ellery Quorn and Rowan Pike argued in the hall.")
    c.setFont("Times-Roman", 11)
    c.drawString(72, 700, "Later Ellery's coat was found by Zoë Ward-Thomas.")
    c.setFont("Courier", 11)
    c.drawString(72, 680, "QUORN, Ellery (Year 6) and ward-thomas, zoe.")
    c.setFillColorRGB(1, 1, 1)
    c.drawString(72, 660, "Hidden white text: Ellery Quorn")
    c.setFillColorRGB(0, 0, 0)
    c.drawString(72, 640, "Under a black box: Ellery Quorn")
    c.rect(60, 635, 400, 18, fill=1)
    c.drawString(72, 1200, "Off the page: Ellery Quorn")
    c.saveState()
    path_clip = c.beginPath()
    path_clip.rect(0, 0, 10, 10)
    c.clipPath(path_clip, stroke=0)
    c.drawString(72, 600, "Clipped away: Ellery Quorn")
    c.restoreState()
    c.bookmarkPage("first")
    c.addOutlineEntry("Notes on Ellery Quorn", "first")
    c.linkURL("mailto:ellery.quorn@example.invalid", (72, 560, 200, 575))
    c.drawString(72, 560, "Email the family")
    c.showPage()
    c.save()


def form_xobject_pdf(path: Path) -> None:
    """Write a page that shows a name only through a Form XObject and a tiling pattern."""
    c = canvas.Canvas(str(path), pagesize=(612, 792))
    c.beginForm("letterhead")
    c.setFont("Helvetica", 10)
    c.drawString(10, 10, "Prepared for Ellery Quorn")
    c.endForm()
    c.doForm("letterhead")
    c.drawString(72, 700, "Body text without names.")
    c.showPage()
    c.save()
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        pattern = pdf.make_stream(
            b"BT /F1 8 Tf 0 0 Td (Quorn) Tj ET",
            Type=Name.Pattern,
            PatternType=1,
            PaintType=1,
            TilingType=1,
            BBox=Array([0, 0, 100, 20]),
            XStep=100,
            YStep=20,
            Resources=Dictionary(Font=Dictionary(F1=pdf.make_indirect(helvetica()))),
        )
        page = pdf.pages[0]
        page.obj.Resources.Pattern = Dictionary(P1=pattern)
        pdf.save(path)


def kerned_pdf(path: Path) -> None:
    """Write names split by kerning, hex, octal, quote operators, positioning and hyphens."""
    content = b"\n".join(
        [
            b"BT /F1 12 Tf 72 720 Td [(E) -20 (ll) 15 (ery) -250 (Qu) -10 (orn)"
            b" ( left early.)] TJ ET",
            b"BT /F1 12 Tf 72 700 Td <456C6C657279> Tj ( was seen with ) Tj (\\121uorn) Tj ET",
            b"BT /F1 12 Tf 14 TL 72 680 Td (First line) Tj (Ellery Quorn said hello) ' ET",
            b'BT /F1 12 Tf 14 TL 72 640 Td 2 1 (Ward-Thomas arrived) " ET',
            b"BT /F1 12 Tf 72 600 Td (Ellery) Tj 40 0 Td (Quorn) Tj ( went home) Tj ET",
            b"BT /F1 12 Tf 72 580 Td (E) Tj 7.3 0 Td (l) Tj 2.7 0 Td (l) Tj 2.7 0 Td (ery) Tj ET",
            b"BT /F1 12 Tf 14 TL 72 560 Td (The report names Qu-) Tj T* (orn again.) Tj ET",
        ]
    )
    content_pdf(path, content, {"F1": helvetica()})


def differences_pdf(path: Path) -> None:
    """Write a name through a font whose /Differences scramble the byte codes."""
    font = Dictionary(
        Type=Name.Font,
        Subtype=Name.Type1,
        BaseFont=Name.Helvetica,
        Encoding=Dictionary(
            Type=Name.Encoding,
            BaseEncoding=Name.WinAnsiEncoding,
            Differences=Array([1, Name.Q, Name.u, Name.o, Name.r, Name.n, Name.space]),
        ),
    )
    content_pdf(path, b"BT /F1 12 Tf 72 700 Td <010203040506> Tj (is here) Tj ET", {"F1": font})


def _vera_widths(text: str) -> tuple[dict[str, int], list[int]]:
    font = TTFontFile(str(VERA))
    glyphs = {ch: font.charToGlyph[ord(ch)] for ch in set(text)}
    widths = [int(w) for w in font.charWidths] if hasattr(font, "charWidths") else []
    return glyphs, widths


def _to_unicode(mapping: dict[int, str], width: int) -> bytes:
    lines = [
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap",
        b"/CMapName /Test def 1 begincodespacerange",
        (b"<0000> <FFFF>" if width == 2 else b"<00> <FF>"),
        b"endcodespacerange",
        f"{len(mapping)} beginbfchar".encode(),
    ]
    for code, text in sorted(mapping.items()):
        src = f"{code:0{width * 2}X}"
        lines.append(f"<{src}> <{text.encode('utf-16-be').hex().upper()}>".encode())
    lines += [b"endbfchar", b"endcmap CMapName currentdict /CMap defineresource pop end end"]
    return b"\n".join(lines)


def cid_pdf(path: Path, *, to_unicode: bool, font_cmap: bool = True) -> None:
    """Write a name in an embedded CID TrueType font (Identity-H), with or without ToUnicode
    (and, without font_cmap, with no cmap or glyph names in the font program either)."""
    text = "Ellery Quorn sat alone"
    glyphs, _ = _vera_widths(text)
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(612, 792))
    font_file = pdf.make_stream(VERA.read_bytes() if font_cmap else _without_cmap(VERA))
    descriptor = pdf.make_indirect(
        Dictionary(
            Type=Name.FontDescriptor,
            FontName=Name.Vera,
            Flags=32,
            FontBBox=Array([-183, -236, 1287, 928]),
            ItalicAngle=0,
            Ascent=928,
            Descent=-236,
            CapHeight=700,
            StemV=80,
            FontFile2=font_file,
        )
    )
    cid_font = Dictionary(
        Type=Name.Font,
        Subtype=Name.CIDFontType2,
        BaseFont=Name.Vera,
        CIDSystemInfo=Dictionary(Registry="Adobe", Ordering="Identity", Supplement=0),
        FontDescriptor=descriptor,
        DW=600,
        CIDToGIDMap=Name.Identity,
    )
    font = Dictionary(
        Type=Name.Font,
        Subtype=Name.Type0,
        BaseFont=Name.Vera,
        Encoding=Name("/Identity-H"),
        DescendantFonts=Array([pdf.make_indirect(cid_font)]),
    )
    if to_unicode:
        mapping = {gid: ch for ch, gid in glyphs.items()}
        font.ToUnicode = pdf.make_stream(_to_unicode(mapping, 2))
    codes = b"".join(glyphs[ch].to_bytes(2, "big") for ch in text)
    page = pdf.pages[0]
    page.obj.Resources = Dictionary(Font=Dictionary(F1=pdf.make_indirect(font)))
    page.obj.Contents = pdf.make_stream(
        b"BT /F1 12 Tf 72 700 Td <" + codes.hex().encode() + b"> Tj ET"
    )
    pdf.save(path)


def truetype_subset_pdf(path: Path, *, keep_to_unicode: bool = True) -> None:
    """Write a name in a reportlab TrueType subset (custom code order), optionally unmapped."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    pdfmetrics.registerFont(TTFont("VeraTest", str(VERA)))
    c = canvas.Canvas(str(path), pagesize=(612, 792))
    c.setFont("VeraTest", 12)
    c.drawString(72, 700, "Zoë Ward-Thomas and Ellery Quorn")
    c.showPage()
    c.save()
    if not keep_to_unicode:
        with pikepdf.open(path, allow_overwriting_input=True) as pdf:
            for font in pdf.pages[0].obj.Resources.Font.values():
                if "/ToUnicode" in font:
                    del font["/ToUnicode"]
            pdf.save(path)


def type3_pdf(path: Path) -> None:
    """Write a name in a Type3 font whose glyphs are little drawings."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(612, 792))
    letters = sorted(set("Quorn"))
    procs = Dictionary(
        {f"/{ch}": pdf.make_stream(b"500 0 0 0 400 600 d1 0 0 400 600 re f") for ch in letters}
    )
    codes = {ch: 65 + i for i, ch in enumerate(letters)}
    font = Dictionary(
        Type=Name.Font,
        Subtype=Name.Type3,
        FontBBox=Array([0, 0, 500, 700]),
        FontMatrix=Array([0.001, 0, 0, 0.001, 0, 0]),
        CharProcs=procs,
        Encoding=Dictionary(
            Type=Name.Encoding,
            Differences=Array([65, *[Name(f"/{ch}") for ch in letters]]),
        ),
        FirstChar=65,
        LastChar=65 + len(letters) - 1,
        Widths=Array([500] * len(letters)),
        Resources=Dictionary(),
    )
    data = bytes(codes[ch] for ch in "Quorn")
    page = pdf.pages[0]
    page.obj.Resources = Dictionary(Font=Dictionary(F1=pdf.make_indirect(font)))
    page.obj.Contents = pdf.make_stream(
        b"BT /F1 12 Tf 72 700 Td <" + data.hex().encode() + b"> Tj ET"
    )
    pdf.save(path)


def scan_pdf(path: Path) -> None:
    """Write an image-only page: a picture of a name, as a scanner would make it."""
    image = Image.new("RGB", (600, 200), "white")
    ImageDraw.Draw(image).text((20, 80), "Ellery Quorn", fill="black")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    buffer.seek(0)
    c = canvas.Canvas(str(path), pagesize=(612, 792))
    c.drawImage(ImageReader(buffer), 0, 400, width=600, height=200)
    c.showPage()
    c.save()


def hiding_places_pdf(path: Path) -> None:
    """Write a page whose names sit outside the visible text: every other hiding place."""
    reportlab_path = path.with_suffix(".base.pdf")
    c = canvas.Canvas(str(reportlab_path), pagesize=(612, 792))
    c.drawString(72, 720, "A form, notes and attachments.")
    form = c.acroForm
    form.textfield(
        name="pupil", value="Ellery Quorn", tooltip="Name of Ellery Quorn", x=72, y=600, width=200
    )
    c.showPage()
    c.save()
    with pikepdf.open(reportlab_path) as pdf:
        page = pdf.pages[0]
        for field in pdf.Root.AcroForm.Fields:
            field.DV = pikepdf.String("Ellery Quorn")
        ap = pdf.make_stream(
            b"BT /F1 9 Tf 2 2 Td (Note from Zo\\353 Ward-Thomas) Tj ET",
            Type=Name.XObject,
            Subtype=Name.Form,
            BBox=Array([0, 0, 200, 20]),
            Resources=Dictionary(Font=Dictionary(F1=pdf.make_indirect(helvetica()))),
        )
        popup = pdf.make_indirect(
            Dictionary(Type=Name.Annot, Subtype=Name.Popup, Rect=Array([300, 500, 500, 600]))
        )
        note = pdf.make_indirect(
            Dictionary(
                Type=Name.Annot,
                Subtype=Name.FreeText,
                Rect=Array([72, 500, 272, 520]),
                Contents=pikepdf.String("Ellery Quorn was upset"),
                T=pikepdf.String("Quorn family"),
                RC=pikepdf.String("<body><p>Ellery Quorn was upset</p></body>"),
                AP=Dictionary(N=ap),
                Popup=popup,
                DA=pikepdf.String("/Helv 9 Tf 0 g"),
            )
        )
        popup.Parent = note
        page.obj.Annots.append(note)
        page.obj.Annots.append(popup)
        attachment = pikepdf.AttachedFileSpec(
            pdf, b"Ellery Quorn's statement", mime_type="text/plain"
        )
        pdf.attachments["statement.txt"] = attachment
        js = pdf.make_indirect(
            Dictionary(S=Name.JavaScript, JS=pikepdf.String("app.alert('Ellery Quorn');"))
        )
        pdf.Root.OpenAction = js
        with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
            meta["dc:title"] = "About Ellery Quorn"
            meta["dc:creator"] = ["Zoë Ward-Thomas"]
        pdf.Root.Dests = Dictionary({"/EllerySection": Array([page.obj, Name.Fit])})
        content = (
            b"/Span <</ActualText (Ellery Quorn) /Alt (Quorn) /E (Ellery)>> BDC "
            b"BT /F9 10 Tf 72 400 Td (E.Q.) Tj ET EMC"
        )
        page.obj.Resources.Font = page.obj.Resources.get("/Font", Dictionary())
        page.obj.Resources.Font.F9 = pdf.make_indirect(helvetica())
        page.contents_add(pdf.make_stream(content))
        element = pdf.make_indirect(
            Dictionary(Type=Name.StructElem, S=Name.Figure, Alt=pikepdf.String("Photo of Quorn"))
        )
        pdf.Root.StructTreeRoot = pdf.make_indirect(
            Dictionary(Type=Name.StructTreeRoot, K=Array([element]))
        )
        element.P = pdf.Root.StructTreeRoot
        pdf.save(path)
    reportlab_path.unlink()


def plain_pdf(path: Path) -> None:
    """Write a negative control: text with none of the names."""
    c = canvas.Canvas(str(path), pagesize=(612, 792))
    c.setTitle("Attendance summary")
    c.drawString(72, 720, "Attendance was 94 percent this term.")
    c.drawString(72, 700, "The pupil joined the football club in May.")
    c.showPage()
    c.drawString(72, 720, "A second page with ordinary words only.")
    c.showPage()
    c.save()
