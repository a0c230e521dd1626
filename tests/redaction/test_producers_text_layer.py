"""Redact PDFs made by the producers schools really use, and check them with poppler.

Each file is made here by the real tool (Chromium, LibreOffice, groff + Ghostscript,
matplotlib, fpdf2) or written by hand for constructs no tool makes on request. The output
must hold no other child's name in `pdftotext`'s text (letters only, so soft hyphens,
letter spacing and line-end hyphens cannot hide one) and must not be blocked.
Every name here is invented for the tests.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pytest
from pikepdf import Array, Dictionary, Name

from exchange.redaction.checker import check_pdf, needles_for
from exchange.redaction.names import Person, build_match_set
from exchange.redaction.pdf import redact_pdf
from exchange.redaction.pipeline import RedactionBlocked, process_pdf
from exchange.redaction.pseudonyms import PseudonymBook
from exchange.redaction.report import Report
from tests.redaction.corpus import helvetica
from tests.redaction.tools import letters, pdftotext, position

SUBJECT = Person("s1", "Rowan", "Pike")
OLIVER = Person("c1", "Oliver", "Smith")
ELLIS = Person("c2", "Ellis", "Griffin")
CHLOE = Person("c3", "Chloë-Anne", "Baker")
PEOPLE = [SUBJECT, OLIVER, ELLIS, CHLOE]
GONE = ["oliver", "smith", "griffin", "chloe", "baker"]
TIMEOUT = 120

HTML = """<!doctype html><html><head><meta charset="utf-8"><style>
body {{ font-family: 'DejaVu Serif', serif; font-size: 14px; }}
.spaced {{ letter-spacing: .25em; }} .wide {{ letter-spacing: .6em; }}
.narrow {{ width: 80px; }}
</style></head><body>
<p>Incident: Oliver Smith pushed Rowan Pike in the hall.</p>
<p>Single name spaced: <span class="spaced">Smith</span> was sent out.</p>
<p>Full name spaced: <span class="wide">Oliver Smith</span> left early.</p>
<p>Soft hyphens: Oli&shy;ver Smi&shy;th cried and Grif&shy;fin laughed.</p>
<div class="narrow">Broken Oliver&shy;Smith Grif&shy;fin tomorrow</div>
<table><tr><td>Pupil</td><td>Score</td></tr><tr><td>Oliver Smith</td><td>42</td></tr>
<tr><td>Rowan Pike</td><td>17</td></tr></table>
<p>{extra}</p></body></html>
"""

TROFF = """.ll 5i
.ad b
.ps 11
On Monday Oliver Smith and Ellis Griffin pushed Rowan Pike in the hall and then the whole
class was kept in at break while the staff talked to everybody about it, and Oliver Smith cried.
.sp
Griffin's coat was found. The office staff said Ellis Griffin and Oliver Smith had left early.
Affiliated efficient offices waffle on.
.sp
.TS
tab(;);
l l.
Oliver Smith;42
Ellis Griffin;17
Rowan Pike;9
.TE
"""

SENTENCE = (
    "Oliver Smith and Ellis Griffin were kept in at break while the staff spoke to everybody "
    "about the efficient office, and Chloë-Anne Baker waited. "
)


def run(command: list[str], cwd: Path) -> None:
    """Run a producer, failing the test with its output when it fails."""
    done = subprocess.run(command, cwd=cwd, capture_output=True, timeout=TIMEOUT, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]


def tool(name: str) -> str:
    """Return the path of a producer; the CI installs every one of them."""
    found = shutil.which(name)
    assert found, f"{name} is required (see .ci/run)"
    return found


def chromium(folder: Path) -> Path:
    """Print an HTML page with Chromium: letter spacing, soft hyphens, a table."""
    page = folder / "chromium.html"
    page.write_text(HTML.format(extra="Chloë-Anne Baker was there."), encoding="utf-8")
    target = folder / "chromium.pdf"
    run(
        [tool("chromium"), "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
         f"--print-to-pdf={target}", page.as_uri()],
        folder,
    )  # fmt: skip
    return target


def libreoffice_docx(folder: Path) -> Path:
    """Write a DOCX with python-docx (justified text, a table) and convert it with LibreOffice."""
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    document = docx.Document()
    document.add_paragraph("Meeting notes. Oliver Smith pushed Rowan Pike in the yard.")
    paragraph = document.add_paragraph(SENTENCE * 3)
    paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    table = document.add_table(rows=2, cols=2)
    for row, (name, score) in enumerate((("Oliver Smith", "42"), ("Ellis Griffin", "17"))):
        table.cell(row, 0).text = name
        table.cell(row, 1).text = score
    source = folder / "libreoffice.docx"
    document.save(source)
    return _soffice(source, folder)


def libreoffice_html(folder: Path) -> Path:
    """Convert an HTML page with soft hyphens to PDF with LibreOffice Writer."""
    source = folder / "libreoffice-html.html"
    source.write_text(HTML.format(extra=SENTENCE), encoding="utf-8")
    return _soffice(source, folder, "writer_pdf_Export")


def _soffice(source: Path, folder: Path, export: str = "pdf") -> Path:
    profile = folder / "lo-profile"
    run(
        [tool("soffice"), f"-env:UserInstallation={profile.as_uri()}", "--headless",
         "--convert-to", f"pdf:{export}" if export != "pdf" else "pdf",
         "--outdir", str(folder), str(source)],
        folder,
    )  # fmt: skip
    return source.with_suffix(".pdf")


def groff_ghostscript(folder: Path) -> Path:
    """Typeset justified text and a table with groff (PostScript) and write PDF with gs."""
    postscript = folder / "groff.ps"
    tbl = subprocess.run(
        [tool("tbl")], input=TROFF.encode(), capture_output=True, timeout=TIMEOUT, check=True
    )
    typeset = subprocess.run(
        [tool("groff"), "-Tps"], input=tbl.stdout, capture_output=True, timeout=TIMEOUT, check=True
    )
    postscript.write_bytes(typeset.stdout)
    return _pdfwrite(postscript, folder / "groff-gs.pdf", folder)


def ghostscript_redistilled(folder: Path) -> Path:
    """Run a LibreOffice PDF through Ghostscript's pdfwrite, as print-to-PDF drivers do."""
    return _pdfwrite(libreoffice_docx(folder), folder / "ghostscript.pdf", folder)


def _pdfwrite(source: Path, target: Path, folder: Path) -> Path:
    run(
        [tool("gs"), "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=pdfwrite",
         f"-sOutputFile={target}", str(source)],
        folder,
    )  # fmt: skip
    return target


def matplotlib_chart(folder: Path) -> Path:
    """Draw a bar chart with TrueType (Type 42) fonts, as matplotlib's PDF backend writes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    matplotlib.rcParams["pdf.fonttype"] = 42
    figure, axes = pyplot.subplots(figsize=(6, 3))
    axes.bar(["Oliver Smith", "Rowan Pike", "Ellis Griffin"], [3, 5, 2])
    axes.set_title("Incidents: Oliver Smith and Chloë-Anne Baker")
    target = folder / "matplotlib.pdf"
    figure.savefig(target)
    pyplot.close(figure)
    return target


def fpdf2_page(folder: Path) -> Path:
    """Write text in a core font and an embedded TrueType font with fpdf2."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    line = "Oliver Smith hit Rowan Pike near the gate."
    pdf.multi_cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    pdf.add_font("dejavu", fname="/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    pdf.set_font("dejavu", size=12)
    pdf.multi_cell(0, 8, SENTENCE, new_x="LMARGIN", new_y="NEXT", align="J")
    target = folder / "fpdf2.pdf"
    pdf.output(str(target))
    return target


def kerned_tj(folder: Path) -> Path:
    """Write a TJ array with kerning inside the name, and resource names carrying a name."""
    content = (
        b"BT /OliverSmith 12 Tf 72 720 Td [(Oli) -20 (ver S) 15 (mi) -5 (th) ( left early.)] TJ"
        b" 0 -20 Td [(Ellis) -250 (Grif) 30 (fin)] TJ ( and Rowan Pike stayed.) Tj ET"
    )
    target = folder / "kerned.pdf"
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(612, 792))
    page = pdf.pages[0]
    page.obj.Resources = Dictionary(Font=Dictionary(OliverSmith=pdf.make_indirect(helvetica())))
    page.obj.Contents = pdf.make_stream(content)
    pdf.save(target)
    return target


def spacing_operators(folder: Path) -> Path:
    """Write letter spacing with Tc (whole name, single name), Tw justification and Tz."""
    content = (
        b"BT /F1 12 Tf 72 720 Td 3 Tc (Oliver Smith) Tj 0 Tc ( was spaced.) Tj ET\n"
        b"BT /F1 12 Tf 72 700 Td (Then ) Tj 6 Tc (Smith) Tj 0 Tc ( alone.) Tj ET\n"
        b"BT /F1 12 Tf 72 680 Td 5 Tw (Justified Oliver Smith text here.) Tj ET\n"
        b"BT /F1 12 Tf 72 660 Td 80 Tz -0.4 Tc (Squeezed Ellis Griffin end.) Tj ET\n"
        b"BT /F1 12 Tf 72 640 Td 0.2 Tc 2 Tw [(Kept ) -30 (Rowan Pike) 20 ( too.)] TJ ET"
    )
    target = folder / "spacing.pdf"
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(612, 792))
    page = pdf.pages[0]
    page.obj.Resources = Dictionary(Font=Dictionary(F1=pdf.make_indirect(helvetica())))
    page.obj.Contents = pdf.make_stream(content)
    pdf.save(target)
    return target


def unijis(folder: Path) -> Path:
    """Write text through the predefined CMap UniJIS-UCS2-H (codes are UCS-2)."""
    text = "Oliver Smith met Rowan Pike."
    descendant = Dictionary(
        Type=Name.Font,
        Subtype=Name.CIDFontType0,
        BaseFont=Name("/KozMinPr6N-Regular"),
        CIDSystemInfo=Dictionary(Registry="Adobe", Ordering="Japan1", Supplement=6),
        FontDescriptor=Dictionary(
            Type=Name.FontDescriptor, FontName=Name("/KozMinPr6N-Regular"), Flags=6,
            FontBBox=Array([0, -200, 1000, 900]), ItalicAngle=0, Ascent=880, Descent=-120,
            CapHeight=700, StemV=80,
        ),
        DW=1000,
    )  # fmt: skip
    font = Dictionary(
        Type=Name.Font,
        Subtype=Name.Type0,
        BaseFont=Name("/KozMinPr6N-Regular"),
        Encoding=Name("/UniJIS-UCS2-H"),
        DescendantFonts=Array([descendant]),
    )
    data = text.encode("utf-16-be")
    target = folder / "unijis.pdf"
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(612, 792))
    page = pdf.pages[0]
    page.obj.Resources = Dictionary(Font=Dictionary(F1=pdf.make_indirect(font)))
    content = b"BT /F1 12 Tf 72 720 Td <" + data.hex().encode() + b"> Tj ET"
    page.obj.Contents = pdf.make_stream(content)
    pdf.save(target)
    return target


def identity_without_to_unicode(folder: Path) -> Path:
    """Take matplotlib's Identity-H fonts and drop /ToUnicode: the font's cmap is left."""
    target = folder / "identity-no-tounicode.pdf"
    with pikepdf.open(matplotlib_chart(folder)) as pdf:
        for obj in pdf.objects:
            typed = isinstance(obj, pikepdf.Dictionary) and obj.get("/Subtype") == Name.Type0
            if typed and "/ToUnicode" in obj:
                del obj["/ToUnicode"]
        pdf.save(target)
    return target


PRODUCERS: dict[str, Callable[[Path], Path]] = {
    "chromium": chromium,
    "libreoffice-docx": libreoffice_docx,
    "libreoffice-html": libreoffice_html,
    "groff-ghostscript": groff_ghostscript,
    "ghostscript-redistilled": ghostscript_redistilled,
    "matplotlib": matplotlib_chart,
    "fpdf2": fpdf2_page,
    "hand-kerned-tj": kerned_tj,
    "hand-tc-tw-tz": spacing_operators,
    "hand-unijis-ucs2": unijis,
    "identity-h-font-cmap": identity_without_to_unicode,
}


@pytest.fixture(scope="session")
def made() -> dict[str, Path]:
    """Hold each producer's file, made once per session."""
    return {}


def produce(made: dict[str, Path], name: str, folder: Path) -> Path:
    """Return the producer's file, making it the first time."""
    if name not in made:
        made[name] = PRODUCERS[name](folder)
    return made[name]


@pytest.fixture(scope="session")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the session folder the producers write to."""
    return tmp_path_factory.mktemp("producers")


def redact(source: Path) -> tuple[Path, Report]:
    """Redact a producer's file next to it, failing the test if the file is blocked."""
    target = source.with_name(source.stem + "-redacted.pdf")
    try:
        report = process_pdf(source, target, PEOPLE, subject_id="s1", document=source.name)
    except RedactionBlocked as blocked:
        hits = blocked.report.check.to_dict()["hits"] if blocked.report.check else []
        raise AssertionError(f"{source.name} was blocked: {hits}") from blocked
    return target, report


@pytest.mark.parametrize("name", sorted(PRODUCERS))
def test_no_other_child_is_left_and_nothing_is_blocked(
    name: str, made: dict[str, Path], folder: Path
) -> None:
    source = produce(made, name, folder)
    before = letters(pdftotext(source))
    assert "oliver" in before or "smith" in before, "the producer wrote no findable text"
    out, report = redact(source)
    after = letters(pdftotext(out))
    for word in GONE:
        assert word not in after, f"pdftotext still shows a name ({name})"
    assert "rowan" in after  # The subject stays.
    assert report.status in ("clean", "needs_review")


def test_chromium_letter_spacing_and_soft_hyphens_are_clean(made: dict[str, Path], folder: Path):
    out, report = redact(produce(made, "chromium", folder))
    text = pdftotext(out)
    assert "was sent out" in text
    assert "left early" in text
    assert report.status == "clean"


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("groff-ghostscript", ("42", "17", "early.", "cried.", "pushed")),
        ("ghostscript-redistilled", ("42", "17", "waited.", "pushed")),
        ("libreoffice-docx", ("42", "17", "waited.", "pushed")),
        ("hand-tc-tw-tz", ("spaced.", "alone.", "text", "end.")),
        ("fpdf2", ("hit", "waited.")),
        ("chromium", ("pushed", "42", "cried")),
    ],
)
def test_text_after_a_name_keeps_its_place(
    name: str, words: tuple[str, ...], made: dict[str, Path], folder: Path
) -> None:
    source = produce(made, name, folder)
    out, _ = redact(source)
    for word in words:
        before, after = position(source, word), position(out, word)
        assert abs(before[0] - after[0]) < 0.5, word
        assert abs(before[1] - after[1]) < 0.5, word


def test_kerning_inside_a_name_leaves_the_line_in_place(made: dict[str, Path], folder: Path):
    source = produce(made, "hand-kerned-tj", folder)
    out, report = redact(source)
    assert position(source, "early.") == position(out, "early.")
    assert report.status == "clean"
    with pikepdf.open(out) as pdf:
        assert all("Oliver" not in str(key) for key in pdf.pages[0].Resources.Font.keys())  # noqa: SIM118


def test_the_check_sees_a_letter_spaced_or_soft_hyphenated_single_name(folder: Path) -> None:
    page = folder / "singles.html"
    page.write_text(
        '<!doctype html><meta charset="utf-8"><p>Then <span style="letter-spacing:.25em">'
        "Smith</span> left.</p><p>Later Grif&shy;fin cried.</p>",
        encoding="utf-8",
    )
    source = folder / "singles.pdf"
    run(
        [tool("chromium"), "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
         f"--print-to-pdf={source}", page.as_uri()],
        folder,
    )  # fmt: skip
    found = check_pdf(source, needles_for(PEOPLE, "s1"))
    seen = {(hit.source, hit.person_id) for hit in found.hits}
    assert {("pdftotext", "c1"), ("pdftotext", "c2")} <= seen


def test_adults_sharing_a_surname_stay_in_the_text_layer(folder: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    text = "Mr Daniel Smith (class teacher) saw Oliver Smith. Her mother Jane Smith came in."
    pdf.multi_cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
    source, out = folder / "adults.pdf", folder / "adults-redacted.pdf"
    pdf.output(str(source))
    report = redact_pdf(source, out, build_match_set(PEOPLE, "s1"), PseudonymBook())
    after = pdftotext(out)
    assert "Mr Daniel Smith (class teacher)" in after
    assert "mother Jane Smith" in after
    assert "oliver" not in letters(after)
    assert report.status == "clean"
    assert check_pdf(out, needles_for(PEOPLE, "s1")).passed


def test_actual_text_stands_for_one_string_only(folder: Path) -> None:
    content = (
        b"BT /F1 12 Tf 72 700 Td /Span <</ActualText (Oliver Smith)>> BDC (O) Tj (liver) Tj"
        b" ( Smith) Tj EMC ( left.) Tj ET\n"
        b"BT /F1 12 Tf 72 680 Td /Span <</ActualText (Smith)>> BDC (XYZ) Tj EMC ( went.) Tj ET"
    )
    source = folder / "actual-text.pdf"
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(612, 792))
    pdf.pages[0].obj.Resources = Dictionary(Font=Dictionary(F1=pdf.make_indirect(helvetica())))
    pdf.pages[0].obj.Contents = pdf.make_stream(content)
    pdf.save(source)
    out, report = redact(source)
    text = pdftotext(out)
    assert "liver" not in text  # Spread over three strings: the glyphs' own text is matched.
    assert "XYZ" not in text  # One string: its /ActualText says it is a name.
    assert "left." in text
    assert "went." in text
    assert report.status == "clean"
