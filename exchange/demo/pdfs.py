"""Generate the demo's vault documents: text PDFs with reportlab and one image-only scan."""

from __future__ import annotations

import io
import random
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFilter, ImageFont
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

SCAN_DPI = 100


@dataclass(frozen=True)
class TextDocument:
    """A document made of a heading, some key facts and paragraphs of text."""

    title: str
    author: str
    facts: Sequence[tuple[str, str]]
    paragraphs: Sequence[str]


def text_pdf(document: TextDocument) -> bytes:
    """Render a document as a text PDF whose words can be selected and extracted."""
    buffer = io.BytesIO()
    template = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=document.title,
        author=document.author,
        invariant=1,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
    )
    styles = getSampleStyleSheet()
    story: list = [Paragraph(_escape(document.title), styles["Title"])]
    if document.facts:
        table = Table([[key, value] for key, value in document.facts], colWidths=[45 * mm, None])
        table.setStyle(
            TableStyle(
                [
                    ("FONTNAME", (0, 0), (0, -1), "Helvetica-Bold"),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
                ]
            )
        )
        story += [table, Spacer(1, 6 * mm)]
    for paragraph in document.paragraphs:
        story += [Paragraph(_escape(paragraph), styles["BodyText"]), Spacer(1, 2 * mm)]
    template.build(story)
    return buffer.getvalue()


def scan_pdf(lines: Sequence[str], seed: int) -> bytes:
    """Render lines into a greyscale picture, slightly skewed and speckled, and wrap only it."""
    picture = _scanned_page(lines, random.Random(seed))  # noqa: S311  (speckle, not secrets)
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1)
    width, height = A4
    canvas.drawImage(ImageReader(picture), 0, 0, width=width, height=height)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _scanned_page(lines: Sequence[str], rng: random.Random) -> Image.Image:
    width, height = int(8.27 * SCAN_DPI), int(11.69 * SCAN_DPI)
    page = Image.new("L", (width, height), 244)
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=19)
    y = 70
    for line in lines:
        draw.text((60 + rng.randint(-2, 2), y), line, fill=rng.randint(20, 60), font=font)
        y += 30
    for _ in range(1500):
        x, y = rng.randrange(width), rng.randrange(height)
        page.putpixel((x, y), rng.randint(120, 200))
    page = page.rotate(rng.uniform(-1.2, 1.2), fillcolor=236, resample=Image.Resampling.BICUBIC)
    return page.filter(ImageFilter.GaussianBlur(0.5))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
