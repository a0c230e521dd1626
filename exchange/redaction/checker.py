"""Check a redacted PDF independently: other tools' text, raw bytes and every object.

This module deliberately shares no matching code with the redactor: it folds, splits and
searches on its own, so a fault in the redactor's matcher cannot hide itself here.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pikepdf

from exchange.redaction.names import ORDINARY_WORD_NAMES, Person
from exchange.redaction.report import CheckHit, CheckResult

TOOL_TIMEOUT = 120
_WORD = re.compile(r"[^\W_]+")
_HYPHEN_BREAK = re.compile(r"(?<=[^\W\d_])[-\u2010\u2011]\s*\n\s*(?=[^\W\d_])")
# A title or role word just before a single name, or a role just after it, makes it an adult's
# ("Mr Daniel Smith", "her mother Anne Smith", "Smith (class teacher)"): not a finding.
_ADULT_WORDS = (
    r"(?:mum|mummy|mom|mother|dad|daddy|father|step-?(?:mum|dad|mother|father)|carer|guardian"
    r"|teacher|headteacher|tutor|assistant|grandmother|grandfather|grandma|grandpa|gran|grandad"
    r"|nan|nana|aunt|auntie|uncle|senco|dsl|worker|nurse|coach)"
)
_ADULT_BEFORE = re.compile(
    rf"(?:\b(?:mr|mrs|miss|ms|mx|dr|prof|sir|dame|revd?)\.?|\b{_ADULT_WORDS})[\s:(\-]*"
    r"(?:(?:[^\W\d_]\.|[^\W\d_]+)(?:\s+|-)){0,3}$"
)
_ADULT_AFTER = re.compile(
    r"^(?:-[^\W\d_]+)*\s*[,(\-:]?\s*(?:(?:the|a|an|her|his|their|class|form|head|deputy"
    r"|acting)\s+){0,3}"
    rf"{_ADULT_WORDS}\b"
)
# Three or more single letters with spaces between: letter-spaced text ("s m i t h").
_SPACED_RUN = re.compile(r"(?:(?<![^\W_])[^\W\d_]\s{1,4}){2,}[^\W\d_](?![^\W_])")
_QDF_OBJECT = re.compile(rb"\n(\d+) (\d+) obj\n")
_BINARY_STREAM = re.compile(
    rb"/Subtype\s*/(Image|Type1C|CIDFontType0C|OpenType)\b|/Length[123]\b|/FunctionType"
)


@dataclass(frozen=True)
class Needle:
    """One name that must not appear: its person, folded words and letters-only form."""

    person_id: str
    words: tuple[str, ...]

    @property
    def letters(self) -> str:
        """Return the folded letters of the name with nothing between words."""
        return "".join(self.words)


def fold_for_check(text: str) -> str:
    """Return text without accents, invisible format characters or line-end hyphenation,
    case-folded."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(
        c for c in text if not unicodedata.combining(c) and unicodedata.category(c) != "Cf"
    )
    return _HYPHEN_BREAK.sub("", text.casefold())


def needles_for(
    people: Iterable[Person], subject_id: str | None = None, family_ids: Iterable[str] = ()
) -> list[Needle]:
    """Return the names that must be gone: full names always, single names when unambiguous."""
    people = list(people)
    family = set(family_ids)
    protected = [
        p
        for p in people
        if p.person_id == subject_id or p.person_id in family or p.kind in ("family", "staff")
    ]
    reserved = {w for p in protected for w in _words_of(p)}
    found: dict[tuple[str, tuple[str, ...]], Needle] = {}
    for person in people:
        if person in protected:
            continue
        surname = tuple(_WORD.findall(fold_for_check(person.surname)))
        givens = [person.forename, person.preferred_name or "", *person.nicknames]
        for given in filter(None, givens):
            given_words = tuple(_WORD.findall(fold_for_check(given)))
            if given_words and surname:
                found[(person.person_id, given_words + surname)] = Needle(
                    person.person_id, given_words + surname
                )
        for word in _words_of(person, later_parts=False):
            if len(word) < 2 or word in ORDINARY_WORD_NAMES or word in reserved:
                continue
            found[(person.person_id, (word,))] = Needle(person.person_id, (word,))
    return list(found.values())


def _words_of(person: Person, *, later_parts: bool = True) -> set[str]:
    """Return the words of a person's names (without the later parts of a hyphenated
    forename, "Anne" of "Chloë-Anne", when later_parts is False: those go to review)."""
    forename = _WORD.findall(fold_for_check(person.forename))
    names = [person.surname, person.preferred_name or "", *person.nicknames]
    words = {w for n in names for w in _WORD.findall(fold_for_check(n))}
    return words | set(forename if later_parts else forename[:1])


def search(text: str, needles: list[Needle], *, single_words: bool = True) -> list[Needle]:
    """Return the needles found in text: single names as whole words, full names anywhere."""
    folded = fold_for_check(text)
    words = set(_WORD.findall(folded))
    letters = "".join(_WORD.findall(folded))
    spaced = [re.sub(r"\s+", "", run.group()) for run in _SPACED_RUN.finditer(folded)]
    found = []
    for needle in needles:
        if len(needle.words) == 1:
            word = needle.words[0]
            if single_words and (word in words or any(word in run for run in spaced)):
                in_spaced_run = any(word in run for run in spaced)
                if not in_spaced_run and _all_adults(folded, word):
                    continue
                found.append(needle)
        elif needle.letters in letters:
            found.append(needle)
    return found


def adult_beside(before: str, after: str) -> bool:
    """Say whether the folded words just before or after a single name make it an adult's
    (a title or role word before it, a role after it), for the checks that find names."""
    return bool(_ADULT_BEFORE.search(before[-60:]) or _ADULT_AFTER.match(after[:60]))


def _all_adults(folded: str, word: str) -> bool:
    """Say whether every occurrence of a single name has a title or adult role beside it."""
    for found in re.finditer(rf"(?<![^\W_]){re.escape(word)}(?![^\W_])", folded):
        before = folded[max(0, found.start() - 60) : found.start()]
        if not adult_beside(before, folded[found.end() : found.end() + 60]):
            return False
    return True


def check_pdf(path: str | Path, needles: list[Needle]) -> CheckResult:
    """Check a PDF with pdftotext, qpdf --qdf bytes, pypdfium2 and a walk of every object."""
    result = CheckResult()
    path = Path(path)
    if shutil.which("pdftotext"):
        _check_pdftotext(path, needles, result)
    else:
        result.fallbacks.append("pdftotext not found: text checked with pypdfium2 only")
    _check_pdfium(path, needles, result)
    if shutil.which("qpdf"):
        _check_qpdf(path, needles, result)
    else:
        result.fallbacks.append("qpdf not found: raw bytes checked with pikepdf's QDF writer")
        _check_qdf_bytes(_pikepdf_qdf(path), needles, result, "pikepdf_qdf")
    _check_objects(path, needles, result)
    return result


def check_text(text: str, needles: list[Needle]) -> CheckResult:
    """Check redacted plain text for any name that should have gone."""
    result = CheckResult(tools=["text_search"])
    for needle in search(text, needles):
        result.hits.append(CheckHit("text", needle.person_id))
    return result


def _hit_pages(source: str, pages: list[str], needles: list[Needle], result: CheckResult) -> None:
    for number, page in enumerate(pages, 1):
        for needle in search(page, needles):
            result.hits.append(CheckHit(source, needle.person_id, number))


def _check_pdftotext(path: Path, needles: list[Needle], result: CheckResult) -> None:
    for mode in ([], ["-raw"]):
        completed = subprocess.run(
            ["pdftotext", "-q", "-enc", "UTF-8", *mode, str(path), "-"],
            capture_output=True,
            timeout=TOOL_TIMEOUT,
            check=False,
        )
        source = "pdftotext" + ("_raw" if mode else "")
        if completed.returncode != 0:
            result.hits.append(CheckHit(source + "_failed", ""))
            return
        text = completed.stdout.decode("utf-8", errors="replace")
        _hit_pages(source, text.split("\f"), needles, result)
    result.tools.append("pdftotext")


def _check_pdfium(path: Path, needles: list[Needle], result: CheckResult) -> None:
    try:
        import pypdfium2
    except ImportError:
        result.fallbacks.append("pypdfium2 not installed")
        return
    pages: list[str] = []
    document = pypdfium2.PdfDocument(str(path))
    try:
        for page in document:
            textpage = page.get_textpage()
            pages.append(textpage.get_text_range())
            textpage.close()
            page.close()
    finally:
        document.close()
    _hit_pages("pypdfium2", pages, needles, result)
    result.tools.append("pypdfium2")


def _check_qpdf(path: Path, needles: list[Needle], result: CheckResult) -> None:
    with tempfile.TemporaryDirectory(prefix="redaction-check-") as folder:
        target = Path(folder) / "check.qdf"
        completed = subprocess.run(
            ["qpdf", "--qdf", "--object-streams=disable", str(path), str(target)],
            capture_output=True,
            timeout=TOOL_TIMEOUT,
            check=False,
        )
        # Exit status 3 means qpdf succeeded with warnings; the file is still written.
        if completed.returncode not in (0, 3) or not target.exists():
            result.hits.append(CheckHit("qpdf_failed", ""))
            return
        data = target.read_bytes()
    _check_qdf_bytes(data, needles, result, "qpdf_qdf")


def _pikepdf_qdf(path: Path) -> bytes:
    with tempfile.TemporaryDirectory(prefix="redaction-check-") as folder:
        target = Path(folder) / "check.qdf"
        with pikepdf.open(path) as pdf:
            pdf.save(
                target,
                qdf=True,
                compress_streams=False,
                stream_decode_level=pikepdf.StreamDecodeLevel.generalized,
                object_stream_mode=pikepdf.ObjectStreamMode.disable,
            )
        return target.read_bytes()


def _check_qdf_bytes(data: bytes, needles: list[Needle], result: CheckResult, source: str) -> None:
    """Search the uncompressed bytes of every object, skipping image and font programs."""
    pieces = _QDF_OBJECT.split(data)
    chunks = [pieces[0], *pieces[3::3]]
    for chunk in chunks:
        head, marker, _body = chunk.partition(b"\nstream\n")
        if marker and _BINARY_STREAM.search(head):
            chunk = head
        text = chunk.decode("latin-1")
        for needle in search(text, needles):
            result.hits.append(CheckHit(source, needle.person_id))
    result.tools.append(source)


def _check_objects(path: Path, needles: list[Needle], result: CheckResult) -> None:
    """Search every string, name, key and decoded stream of every object."""
    with pikepdf.open(path) as pdf:
        for obj in [pdf.trailer, *pdf.objects]:
            for text, single in _object_texts(obj):
                for needle in search(text, needles, single_words=single):
                    result.hits.append(CheckHit("pdf_objects", needle.person_id))
    result.tools.append("pdf_objects")


def _object_texts(obj: pikepdf.Object, depth: int = 0) -> Iterable[tuple[str, bool]]:
    """Yield (text, whether single-word names count) for an object and its direct parts."""
    if depth > 64:
        return
    if isinstance(obj, pikepdf.String):
        yield _string_text(obj), True
    elif isinstance(obj, pikepdf.Name):
        yield _camel(str(obj)[1:]), False
    elif isinstance(obj, pikepdf.Array):
        for item in obj:
            if not _indirect(item):
                yield from _object_texts(item, depth + 1)
    elif isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
        for key, value in obj.items():
            yield _camel(key[1:]), False
            if not _indirect(value):
                yield from _object_texts(value, depth + 1)
        if isinstance(obj, pikepdf.Stream) and not _binary(obj):
            try:
                data = obj.read_bytes()
            except pikepdf.PdfError:
                return
            yield data.decode("utf-8", errors="replace"), True
            yield data.decode("latin-1"), True


def _indirect(value: object) -> bool:
    return isinstance(value, pikepdf.Object) and value.is_indirect


def _string_text(value: pikepdf.String) -> str:
    try:
        return str(value)
    except UnicodeDecodeError:
        return bytes(value).decode("latin-1")


def _binary(stream: pikepdf.Stream) -> bool:
    if stream.get("/Subtype") in (pikepdf.Name.Image, pikepdf.Name.Type1C):
        return True
    return any(k in stream for k in ("/Length1", "/Length2", "/Length3", "/FunctionType"))


def _camel(name: str) -> str:
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name)
