"""Make test documents with real producers, and read results with tools we did not write.

Scans are drawn with Pillow or rendered by Ghostscript; Word files are written by python-docx
and converted by LibreOffice; every name here is invented.
"""

from __future__ import annotations

import io
import random
import subprocess
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from tests.redaction.tools import plain, require

TIMEOUT = 120
SERIF = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"


def text_image(lines: list[str], *, dpi: int = 200, size: int = 30) -> Image.Image:
    """Draw lines of text on a white page, as a flat-bed scan at dpi would show them."""
    font = ImageFont.truetype(SERIF, size)
    image = Image.new("L", (int(6 * dpi), 120 + 70 * len(lines)), 255)
    draw = ImageDraw.Draw(image)
    for index, line in enumerate(lines):
        draw.text((60, 60 + index * 70), line, font=font, fill=0)
    return image


def handwriting_image(seed: int = 3) -> Image.Image:
    """Draw pen-like scribbles that OCR cannot read, as a handwritten note would be."""
    rng = random.Random(seed)  # noqa: S311  (scribbles, not secrets)
    image = Image.new("L", (1400, 800), 250)
    draw = ImageDraw.Draw(image)
    for row in range(5):
        x, y, points = 80, 100 + row * 120, []
        while x < 1250:
            points.append((x, y + rng.randint(-25, 25)))
            x += rng.randint(6, 18)
        draw.line(points, fill=30, width=4)
    return image


def image_pdf(image: Image.Image, *, caption: str | None = None) -> bytes:
    """Wrap a picture in a PDF page with reportlab, optionally under a line of real text."""
    buffer = io.BytesIO()
    picture = io.BytesIO()
    image.save(picture, format="PNG")
    picture.seek(0)
    c = canvas.Canvas(buffer, pagesize=(612, 792))
    if caption:
        c.setFont("Helvetica", 12)
        c.drawString(72, 740, caption)
    width = 468
    height = width * image.height / image.width
    c.drawImage(ImageReader(picture), 72, 700 - height, width=width, height=height)
    c.showPage()
    c.save()
    return buffer.getvalue()


def ghostscript_render(pdf: Path, target: Path, device: str, dpi: int = 200) -> Path:
    """Render a PDF with Ghostscript (pnggray, tiffgray, jpeggray...) as a scanner would."""
    subprocess.run(
        [
            require("gs"),
            "-q",
            "-dNOPAUSE",
            "-dBATCH",
            "-dSAFER",
            f"-sDEVICE={device}",
            f"-r{dpi}",
            f"-sOutputFile={target}",
            str(pdf),
        ],
        check=True,
        timeout=TIMEOUT,
        capture_output=True,
    )
    return target


def ghostscript_pdfwrite(pdf: Path, target: Path) -> Path:
    """Rewrite a PDF with Ghostscript's pdfwrite (which loses some ligatures' text)."""
    return ghostscript_render(pdf, target, "pdfwrite", 720)


def docx_file(path: Path, paragraphs: list[str], *, table: list[list[str]] | None = None) -> Path:
    """Write a Word document with python-docx."""
    import docx

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for row, cells in zip(grid.rows, table, strict=True):
            for cell, text in zip(row.cells, cells, strict=True):
                cell.text = text
    document.save(str(path))
    return path


def libreoffice_convert(source: Path, folder: Path, target: str = "pdf") -> Path:
    """Convert a document with LibreOffice (the test's own call, its own profile)."""
    profile = folder / "test-lo-profile"
    subprocess.run(
        [
            require("soffice"),
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--convert-to",
            target,
            "--outdir",
            str(folder),
            str(source),
        ],
        check=True,
        timeout=TIMEOUT,
        capture_output=True,
    )
    return folder / f"{source.stem}.{target.split(':')[0]}"


def ocr_pdf(pdf: Path, folder: Path, dpi: int = 200) -> str:
    """Return what tesseract reads on poppler's rendering of every page (not our renderer)."""
    prefix = folder / f"ocr-{pdf.stem}"
    subprocess.run(
        [require("pdftoppm"), "-r", str(dpi), "-gray", str(pdf), str(prefix)],
        check=True,
        timeout=TIMEOUT,
        capture_output=True,
    )
    texts = []
    for page in sorted(folder.glob(f"{prefix.name}*.pgm")):
        done = subprocess.run(
            [require("tesseract"), str(page), "-", "--dpi", str(dpi)],
            check=True,
            timeout=TIMEOUT,
            capture_output=True,
        )
        texts.append(done.stdout.decode("utf-8"))
        page.unlink()
    return plain("\n".join(texts))
