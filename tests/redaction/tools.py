"""Run the independent tools the tests trust: poppler and qpdf, never our own extractor."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

TIMEOUT = 60


def require(tool: str) -> str:
    """Return the path of a tool the tests need, failing loudly when it is missing."""
    found = shutil.which(tool)
    assert found, f"{tool} is required: apt-get install poppler-utils qpdf"
    return found


def pdftotext(path: Path) -> str:
    """Return the text poppler extracts from a PDF."""
    done = subprocess.run(
        [require("pdftotext"), "-q", "-enc", "UTF-8", str(path), "-"],
        capture_output=True,
        timeout=TIMEOUT,
        check=True,
    )
    return done.stdout.decode("utf-8")


def qdf_bytes(path: Path, tmp: Path) -> bytes:
    """Return the bytes of the file rewritten by qpdf in QDF form, streams uncompressed."""
    target = tmp / (path.stem + ".qdf")
    subprocess.run(
        [require("qpdf"), "--qdf", "--object-streams=disable", str(path), str(target)],
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )
    return target.read_bytes()


def qpdf_check(path: Path) -> subprocess.CompletedProcess[bytes]:
    """Run qpdf --check on a file."""
    return subprocess.run(
        [require("qpdf"), "--check", str(path)], capture_output=True, timeout=TIMEOUT, check=False
    )


def renders(path: Path, tmp: Path) -> bool:
    """Say whether pdftoppm renders every page of a file."""
    done = subprocess.run(
        [require("pdftoppm"), "-r", "20", "-png", str(path), str(tmp / "render")],
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )
    return done.returncode == 0 and any(tmp.glob("render*.png"))


def plain(text: str) -> str:
    """Return text folded for a simple search: no accents, lower case."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def assert_gone(path: Path, tmp: Path, words: list[str]) -> None:
    """Assert that no word appears in poppler's text or in qpdf's uncompressed bytes."""
    text = plain(pdftotext(path))
    raw = plain(qdf_bytes(path, tmp).decode("latin-1"))
    for word in words:
        assert plain(word) not in text, f"pdftotext still shows a name ({len(word)} letters)"
        assert plain(word) not in raw, f"qpdf --qdf bytes still hold a name ({len(word)} letters)"
    check = qpdf_check(path)
    assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()


def word_boxes(path: Path) -> list[tuple[str, float, float]]:
    """Return (word, x, y) of every word poppler finds, from `pdftotext -bbox`."""
    done = subprocess.run(
        [require("pdftotext"), "-q", "-bbox", str(path), "-"],
        capture_output=True,
        timeout=TIMEOUT,
        check=True,
    )
    found = re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)"[^>]*>([^<]*)</word>', done.stdout.decode("utf-8")
    )
    return [(html.unescape(word), float(x), float(y)) for x, y, word in found]


def position(path: Path, word: str) -> tuple[float, float]:
    """Return where poppler places the first occurrence of a word."""
    for found, x, y in word_boxes(path):
        if found == word:
            return x, y
    raise AssertionError(f"{word!r} is not in the text")


def letters(text: str) -> str:
    """Return only the letters of text, folded: soft hyphens, spacing and breaks cannot hide."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isalpha()).lower()
