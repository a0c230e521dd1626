"""Turn Word, OpenDocument, RTF, email and text documents into PDFs to redact.

Office documents go through LibreOffice in headless mode with a private, throwaway profile and
a time limit; emails and plain text are laid out with ReportLab. A conversion that fails or
runs too long is a ValidationError that says so, never a crash, and leaves nothing behind.
"""

from __future__ import annotations

import email
import email.policy
import os
import shutil
import signal
import subprocess
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from xml.sax.saxutils import escape

from exchange.errors import ValidationError
from exchange.redaction.formats import office_suffix

CONVERT_TIMEOUT = 120
_FONT_FILES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"),
)
_FONT = "DocumentSans"


# What LibreOffice writes that changes with each conversion of the same document.
CONVERSION_STAMPS = ("/CreationDate", "/ModDate")


def office_to_pdf(
    source: Path, folder: Path, *, media_type: str = "", name: str = "", timeout: float = 0
) -> Path:
    """Convert an office document to PDF with headless LibreOffice inside folder."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        raise ValidationError(
            "LibreOffice is not installed, so this document cannot be converted: "
            "apt-get install libreoffice-writer-nogui, or upload a PDF"
        )
    with source.open("rb") as handle:
        suffix = office_suffix(media_type, name, handle.read(16))
    work = folder / "convert"
    work.mkdir()
    original = work / f"document{suffix}"
    shutil.copyfile(source, original)
    profile = folder / "lo-profile"
    command = [
        soffice,
        f"-env:UserInstallation={profile.as_uri()}",
        "--headless",
        "--invisible",
        "--norestore",
        "--nolockcheck",
        "--nodefault",
        "--convert-to",
        "pdf",
        "--outdir",
        str(work),
        str(original),
    ]
    _run(command, timeout or CONVERT_TIMEOUT, "LibreOffice", home=folder)
    produced = work / "document.pdf"
    if not produced.is_file() or produced.stat().st_size == 0:
        raise ValidationError(
            "LibreOffice could not convert this document to PDF (damaged or not a document): "
            "open it, save it as PDF and upload that"
        )
    _without_conversion_dates(produced)
    return produced


def _without_conversion_dates(path: Path) -> None:
    """Drop what LibreOffice stamps at conversion: the same document gives the same bytes."""
    import pikepdf

    try:
        with pikepdf.open(path, allow_overwriting_input=True) as pdf:
            info = pdf.trailer.get("/Info")
            for key in CONVERSION_STAMPS if info is not None else ():
                if key in info:
                    del info[key]
            for key in ("/ID", "/DocChecksum"):  # In the trailer; /ID is made again below.
                if key in pdf.trailer:
                    del pdf.trailer[key]
            pdf.save(path, deterministic_id=True)
    except pikepdf.PdfError:
        return  # The redactor opens it next and reports a damaged file in its own words.


def _run(command: list[str], timeout: float, tool: str, *, home: Path) -> None:
    """Run a converter in its own process group, killing the whole group on time out."""
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, "HOME": str(home), "SAL_USE_VCLPLUGIN": "svp"},
    )
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired as error:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise ValidationError(
            f"{tool} took more than {timeout:.0f} s to convert this document and was stopped: "
            "save it as PDF and upload that"
        ) from error
    if process.returncode != 0:
        raise ValidationError(f"{tool} failed to convert this document (exit {process.returncode})")


def email_to_pdf(source: Path, folder: Path) -> Path:
    """Lay out an email (headers, body, a list of attachments) as a PDF inside folder."""
    message = email.message_from_bytes(source.read_bytes(), policy=email.policy.default)
    if not isinstance(message, EmailMessage) or not (message.keys() or message.get_payload()):
        raise ValidationError("this email cannot be read: save it as PDF and upload that")
    lines = [("heading", "Email")]
    for header in ("From", "To", "Cc", "Date", "Subject"):
        value = message.get(header)
        if value:
            lines.append(("header", f"{header}: {value}"))
    lines.append(("body", _body_text(message)))
    attachments = list(message.iter_attachments())
    if attachments:
        lines.append(("heading", "Attachments (not included: upload each as its own document)"))
        for part in attachments:
            size = len(part.get_payload(decode=True) or b"")
            filename = part.get_filename() or "(no name)"
            lines.append(("header", f"{filename} ({part.get_content_type()}, {size} bytes)"))
    target = folder / "email.pdf"
    _write_pdf(target, lines)
    return target


def text_to_pdf(source: Path, folder: Path) -> Path:
    """Lay out a plain text document as a PDF inside folder."""
    raw = source.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    target = folder / "text.pdf"
    _write_pdf(target, [("body", text)])
    return target


def _body_text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain", "html"))
    if body is None:
        return ""
    content = body.get_content()
    if not isinstance(content, str):
        return ""
    if body.get_content_type() == "text/html":
        return html_text(content)
    return content


_BREAKS = frozenset({"br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "table"})


class _TextOnly(HTMLParser):
    """Collect the visible text of an HTML body; scripts and styles are dropped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:  # noqa: ARG002
        if tag in ("script", "style", "head"):
            self._skip += 1
        elif tag in _BREAKS:
            self.pieces.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head"):
            self._skip = max(0, self._skip - 1)
        elif tag in _BREAKS:
            self.pieces.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.pieces.append(data)


def html_text(html: str) -> str:
    """Return the visible text of an HTML email body."""
    parser = _TextOnly()
    parser.feed(html)
    parser.close()
    return "".join(parser.pieces)


def _write_pdf(target: Path, lines: list[tuple[str, str]]) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    font = _font()
    styles = {
        "heading": ParagraphStyle("h", fontName=font, fontSize=13, leading=18, spaceBefore=6),
        "header": ParagraphStyle("m", fontName=font, fontSize=10, leading=13),
        "body": ParagraphStyle("b", fontName=font, fontSize=10, leading=13, spaceBefore=4),
    }
    story: list = []
    for style, text in lines:
        if style == "body":
            story.append(Spacer(1, 8))
            for paragraph in text.replace("\r\n", "\n").split("\n\n"):
                markup = escape(paragraph.strip()).replace("\n", "<br/>")
                if markup:
                    story.append(Paragraph(markup, styles["body"]))
        else:
            story.append(Paragraph(escape(text), styles[style]))
    # Invariant: no timestamp or random id, so the same document gives the same bytes.
    document = SimpleDocTemplate(
        str(target), pagesize=A4, title="", author="", subject="", invariant=True
    )
    document.build(story or [Spacer(1, 1)])


def _font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if _FONT in pdfmetrics.getRegisteredFontNames():
        return _FONT
    for path in _FONT_FILES:
        if path.is_file():
            pdfmetrics.registerFont(TTFont(_FONT, str(path)))
            return _FONT
    return "Helvetica"
