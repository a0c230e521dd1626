"""Fuzz the PDF redactor with mutated PDFs seeded from the redaction test corpus.

The property: an ExchangeError and no output, or an output that passes `qpdf --check`; never
another exception, a hang (a time limit per example) or a temporary file left behind.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from fuzz_kit import KnownCrash, bounded, clean, corpus_files, mutate, mutations
from hypothesis import given
from hypothesis import strategies as st

from exchange.errors import ExchangeError
from exchange.redaction.pipeline import process_pdf
from tests.redaction import corpus

QPDF = shutil.which("qpdf")
# Known and reported: a source whose content stream qpdf cannot decode is redacted and
# published still failing `qpdf --check` (tests/fuzz/test_regressions.py). Set to False
# with the fix, so any such output fails the fuzz run again.
KNOWN_DAMAGE_PASSES_THROUGH = False
pytestmark = [
    pytest.mark.skipif(QPDF is None, reason="qpdf is not installed"),
    # pikepdf warns about damaged streams it reads past; damage is what we feed it.
    pytest.mark.filterwarnings("ignore::UserWarning:pikepdf"),
]


def _seeds() -> list[bytes]:
    folder = Path(tempfile.mkdtemp(prefix="sgx-fuzz-pdf-"))
    makers = [
        corpus.plain_pdf,
        corpus.reportlab_pdf,
        corpus.form_xobject_pdf,
        corpus.kerned_pdf,
        corpus.differences_pdf,
        corpus.hiding_places_pdf,
    ]
    seeds = []
    for index, make in enumerate(makers):
        path = folder / f"{index}.pdf"
        make(path)
        seeds.append(path.read_bytes())
    shutil.rmtree(folder)
    return seeds + corpus_files("pdf") + corpus_files("pdf-redactor")


SEEDS = _seeds()


def _qpdf_check(path: Path) -> subprocess.CompletedProcess[bytes]:
    assert QPDF is not None
    return subprocess.run(
        [QPDF, "--check", str(path)], capture_output=True, timeout=60, check=False
    )


def _redact(data: bytes, folder: Path) -> Any:
    folder.mkdir()
    source = folder / "in.pdf"
    source.write_bytes(data)
    output = folder / "out" / "redacted.pdf"
    output.parent.mkdir()
    result = clean(
        lambda: process_pdf(source, output, corpus.PEOPLE, subject_id=corpus.SUBJECT.person_id),
        seconds=60,
    )
    left = sorted(p.name for p in output.parent.iterdir())
    if isinstance(result, ExchangeError | KnownCrash):
        assert left == [], "a refused PDF leaves nothing in the output folder"
    else:
        assert left == ["redacted.pdf"]
        checked = _qpdf_check(output)
        if checked.returncode not in (0, 3):
            source_checked = _qpdf_check(source)
            assert KNOWN_DAMAGE_PASSES_THROUGH, checked.stdout[-500:]
            assert source_checked.returncode not in (0, 3), checked.stdout[-500:]
    return result


def test_every_seed_redacts(tmp_path: Path) -> None:
    for index, seed in enumerate(SEEDS[:6]):
        assert not isinstance(_redact(seed, tmp_path / str(index)), ExchangeError)


@bounded(40)
@given(seed=st.sampled_from(SEEDS), ops=mutations(max_ops=4))
def test_mutated_pdf(
    tmp_path_factory: pytest.TempPathFactory, seed: bytes, ops: list[tuple[int, int, int, int]]
) -> None:
    _redact(mutate(seed, ops), tmp_path_factory.mktemp("pdf") / "r")


@bounded(10)
@given(data=st.binary(max_size=2048))
def test_random_bytes(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    _redact(b"%PDF-1.7\n" + data, tmp_path_factory.mktemp("pdf") / "r")
