"""Read words and their boxes from images with Debian's tesseract, through its CLI and TSV.

The CLI is called directly rather than through a binding: one tesseract process reads a whole
batch of pages from a list file (the language model is loaded once, not once per page), the TSV
output is tesseract's documented format, the timeout is ours, and every image stays in the
caller's private temporary folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from exchange.errors import ValidationError
from exchange.logs import get_logger

log = get_logger(__name__)
LANGUAGE = "eng"
# Seconds allowed per page before the whole batch is given up (a dense page takes about 3 s).
SECONDS_PER_PAGE = 60
# Runs of tesseract before a batch that fails is refused (a failure is never read as "no name").
ATTEMPTS = 2
_WORD_LEVEL = "5"


class OcrUnavailable(ValidationError):
    """Tesseract is not installed or failed, so images cannot be read."""

    code = "ocr_unavailable"


@dataclass(frozen=True)
class Word:
    """One word read by OCR: its page in the batch (from 1), line, box in pixels and confidence."""

    page: int
    line: tuple[int, int, int]
    left: int
    top: int
    width: int
    height: int
    confidence: float
    text: str

    @property
    def box(self) -> tuple[int, int, int, int]:
        """Return (left, top, right, bottom) in pixels."""
        return (self.left, self.top, self.left + self.width, self.top + self.height)


def available() -> bool:
    """Say whether tesseract is installed."""
    return shutil.which("tesseract") is not None


def read_images(images: Sequence[Path], *, dpi: int, block: bool = False) -> list[list[Word]]:
    """Return the words of each image, in order, read by one tesseract process."""
    if not images:
        return []
    tesseract = shutil.which("tesseract")
    if tesseract is None:
        raise OcrUnavailable("tesseract is not installed: apt-get install tesseract-ocr")
    listing = images[0].parent / "ocr-pages.txt"
    listing.write_text("".join(f"{path}\n" for path in images), encoding="utf-8")
    layout = ["--psm", "6"] if block else []  # 6: one block of lines, no layout analysis.
    command = [tesseract, str(listing), "-", "-l", LANGUAGE, "--dpi", str(dpi), *layout, "tsv"]
    try:
        for attempt in range(1, ATTEMPTS + 1):
            done = _run_tesseract(command, len(images))
            if done.returncode == 0:
                break
            # A process killed from outside (memory, a signal) may read the pages next time.
            log.warning("tesseract failed", extra={"exit": done.returncode, "attempt": attempt})
    finally:
        listing.unlink(missing_ok=True)
    if done.returncode != 0:
        raise OcrUnavailable(f"tesseract failed (exit {done.returncode})")
    return parse_tsv(done.stdout.decode("utf-8", errors="replace"), len(images))


def _run_tesseract(command: list[str], pages: int) -> subprocess.CompletedProcess[bytes]:
    """Run tesseract once; a run longer than the pages allow is stopped and refused."""
    try:
        return subprocess.run(
            command,
            capture_output=True,
            timeout=SECONDS_PER_PAGE * pages,
            check=False,
            env=ocr_environment(),
        )
    except subprocess.TimeoutExpired as error:
        raise OcrUnavailable("OCR took too long and was stopped") from error


def ocr_environment() -> dict[str, str]:
    """Return the environment for tesseract: one thread, so pages share the cores fairly."""
    return {**os.environ, "OMP_THREAD_LIMIT": "1"}


def parse_tsv(text: str, pages: int) -> list[list[Word]]:
    """Parse tesseract's TSV into the words of each page (empty words left out)."""
    result: list[list[Word]] = [[] for _ in range(pages)]
    for row in text.splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) < 12 or cells[0] != _WORD_LEVEL or not cells[11].strip():
            continue
        page = int(cells[1])
        if not 1 <= page <= pages:
            continue
        block, paragraph, line = (int(cells[i]) for i in (2, 3, 4))
        left, top, width, height = (int(cells[i]) for i in (6, 7, 8, 9))
        result[page - 1].append(
            Word(
                page=page,
                line=(block, paragraph, line),
                left=left,
                top=top,
                width=width,
                height=height,
                confidence=float(cells[10]),
                text=cells[11].strip(),
            )
        )
    return result
