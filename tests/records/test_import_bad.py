"""Bad exports: each gets a clear error naming the record and field, and changes nothing."""

from __future__ import annotations

import json
import os
import stat
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, inspect, select, table

from exchange.db import transaction
from exchange.instance import Instance
from exchange.records.import_errors import ImportRejected
from exchange.records.import_example import ExportBuilder, add_example_school, example_export
from exchange.records.importer import import_records

NOW = datetime(2025, 7, 1, 12, 0, tzinfo=UTC)
Case = Callable[[ExportBuilder, Path], Path]


def snapshot(instance: Instance) -> tuple[dict[str, int], list[str]]:
    """Return the row count of every table and the files in the blob folder."""
    names = inspect(instance.engine).get_table_names()
    with instance.engine.connect() as connection:
        counts = {
            name: connection.scalar(select(func.count()).select_from(table(name))) for name in names
        }
    root = instance.blobs.root
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    return counts, files


@pytest.fixture
def school_id(instance: Instance) -> int:
    """Return the id of the example school, with its category tree."""
    with transaction(instance.sessions) as session:
        return add_example_school(session).id


@pytest.fixture
def imported(instance: Instance, school_id: int, tmp_path: Path) -> ExportBuilder:
    """Import the example once, so a bad import must also leave existing rows and blobs alone."""
    builder = example_export()
    import_records(instance, school_id, builder.write_folder(tmp_path / "first"), now=NOW)
    return builder


def refused(instance: Instance, school_id: int, path: Path, **kwargs: Any) -> list[str]:
    """Import, expect a refusal that changed nothing, and return the problem lines."""
    before = snapshot(instance)
    with pytest.raises(ImportRejected) as caught:
        import_records(instance, school_id, path, now=NOW, **kwargs)
    assert snapshot(instance) == before
    return caught.value.lines()


def assert_no_personal_data(lines: list[str], builder: ExportBuilder) -> None:
    """Check that no name or narrative of the export is quoted in the messages."""
    text = "\n".join(lines)
    records = builder.records
    for person in records["staff"] + records["pupils"]:
        for key in ("name", "forename", "surname"):
            if person.get(key):
                assert person[key] not in text
    for incident in records["incidents"]:
        assert incident["narrative"][:20] not in text
    for document in records["documents"]:
        assert document["filename"] not in text


def _write(builder: ExportBuilder, tmp_path: Path) -> Path:
    return builder.write_folder(tmp_path / "bad")


def _records(folder: Path) -> Path:
    return folder / "records.json"


def malformed_json(builder: ExportBuilder, tmp_path: Path) -> Path:
    folder = _write(builder, tmp_path)
    _records(folder).write_text('{"format": "safeguarding-exchange.records", "version": 1,')
    return folder


def duplicate_json_key(builder: ExportBuilder, tmp_path: Path) -> Path:
    folder = _write(builder, tmp_path)
    text = _records(folder).read_text()
    _records(folder).write_text(text.replace('"version": 1,', '"version": 1, "version": 1,', 1))
    return folder


def wrong_version(builder: ExportBuilder, tmp_path: Path) -> Path:
    builder.records["version"] = 2
    return _write(builder, tmp_path)


def wrong_format(builder: ExportBuilder, tmp_path: Path) -> Path:
    builder.records["format"] = "something-else"
    return _write(builder, tmp_path)


def missing_file(builder: ExportBuilder, tmp_path: Path) -> Path:
    folder = _write(builder, tmp_path)
    (folder / "files" / "d-1.txt").unlink()
    return folder


def extra_file(builder: ExportBuilder, tmp_path: Path) -> Path:
    folder = _write(builder, tmp_path)
    (folder / "files" / "stray.pdf").write_bytes(b"%PDF-1.7 not listed")
    return folder


def sha_mismatch(builder: ExportBuilder, tmp_path: Path) -> Path:
    folder = _write(builder, tmp_path)
    path = folder / "files" / "d-2.txt"
    content = bytearray(path.read_bytes())
    content[0] ^= 1  # Same size, different bytes.
    path.write_bytes(bytes(content))
    return folder


def size_mismatch(builder: ExportBuilder, tmp_path: Path) -> Path:
    builder.records["documents"][1]["size"] += 1
    return _write(builder, tmp_path)


def invalid_upn(builder: ExportBuilder, tmp_path: Path) -> Path:
    upn = builder.records["pupils"][0]["upn"]
    builder.records["pupils"][0]["upn"] = ("A" if upn[0] != "A" else "B") + upn[1:]
    return _write(builder, tmp_path)


def future_birth(builder: ExportBuilder, tmp_path: Path) -> Path:
    builder.records["pupils"][1]["date_of_birth"] = "2031-01-01"
    return _write(builder, tmp_path)


def incident_before_birth(builder: ExportBuilder, tmp_path: Path) -> Path:
    builder.records["incidents"][1]["occurred_at"] = "2015-03-01T23:00:00+00:00"
    return _write(builder, tmp_path)


def naive_time(builder: ExportBuilder, tmp_path: Path) -> Path:
    builder.records["incidents"][1]["occurred_at"] = "2025-02-10T08:45:00"
    return _write(builder, tmp_path)


def unknown_category(builder: ExportBuilder, tmp_path: Path) -> Path:
    builder.records["incidents"][1]["categories"].append("Child Protection/Made up")
    return _write(builder, tmp_path)


def duplicate_id(builder: ExportBuilder, tmp_path: Path) -> Path:
    builder.records["incidents"][1]["id"] = builder.records["incidents"][0]["id"]
    return _write(builder, tmp_path)


def unknown_reference(builder: ExportBuilder, tmp_path: Path) -> Path:
    builder.records["incidents"][1]["linked_pupils"] = ["p-99"]
    return _write(builder, tmp_path)


def unknown_field(builder: ExportBuilder, tmp_path: Path) -> Path:
    builder.records["documents"][0]["comment"] = "not in the format"
    return _write(builder, tmp_path)


def dotdot_path(builder: ExportBuilder, tmp_path: Path) -> Path:
    builder.records["documents"][0]["file"] = "files/../../secret.txt"
    return _write(builder, tmp_path)


def absolute_path(builder: ExportBuilder, tmp_path: Path) -> Path:
    builder.records["documents"][0]["file"] = "/etc/passwd"
    return _write(builder, tmp_path)


def symlinked_file(builder: ExportBuilder, tmp_path: Path) -> Path:
    folder = _write(builder, tmp_path)
    outside = tmp_path / "outside.txt"
    target = folder / "files" / "d-1.txt"
    outside.write_bytes(target.read_bytes())
    target.unlink()
    target.symlink_to(outside)
    return folder


def symlinked_folder(builder: ExportBuilder, tmp_path: Path) -> Path:
    folder = _write(builder, tmp_path)
    (folder / "more").symlink_to(tmp_path / "first" / "files")
    return folder


def other_school(builder: ExportBuilder, tmp_path: Path) -> Path:
    builder.records["school"] |= {"urn": "100009", "laestab": "8019009"}
    return _write(builder, tmp_path)


def changed_document(builder: ExportBuilder, tmp_path: Path) -> Path:
    content = b"A different version of the minutes."
    builder.files["files/d-1.txt"] = content
    document = builder.records["documents"][0]
    document["size"] = len(content)
    document["sha256"] = __import__("hashlib").sha256(content).hexdigest()
    return _write(builder, tmp_path)


def rewritten_action(builder: ExportBuilder, tmp_path: Path) -> Path:
    builder.records["incidents"][0]["actions"][0]["text"] = "Something else entirely."
    return _write(builder, tmp_path)


CASES: dict[str, tuple[Case, str]] = {
    "malformed json": (malformed_json, "records.json: is not valid JSON"),
    "duplicate json key": (duplicate_json_key, 'records.json: an object has the key "version"'),
    "wrong version": (wrong_version, "version: this service reads version 1; the file says 2"),
    "wrong format": (wrong_format, "format: must be"),
    "missing file": (missing_file, 'documents[0] (id "d-1").file: "files/d-1.txt" is not in'),
    "extra file": (extra_file, 'export file "files/stray.pdf": is not the file of any document'),
    "sha256 mismatch": (sha_mismatch, 'documents[1] (id "d-2").sha256: does not match'),
    "size mismatch": (size_mismatch, 'documents[1] (id "d-2").size: says'),
    "invalid upn": (invalid_upn, 'pupils[0] (id "p-1").upn: UPN check letter is'),
    "future birth": (future_birth, 'pupils[1] (id "p-2").date_of_birth: is in the future'),
    "before birth": (
        incident_before_birth,
        'incidents[1] (id "i-2").occurred_at: is before the date of birth of pupil "p-1"',
    ),
    "naive time": (naive_time, 'incidents[1] (id "i-2").occurred_at: must give its UTC offset'),
    "unknown category": (
        unknown_category,
        'incidents[1] (id "i-2").categories[1]: "Child Protection/Made up" is not a category',
    ),
    "duplicate id": (duplicate_id, 'incidents[1] (id "i-1").id: is also the id of incidents[0]'),
    "unknown reference": (
        unknown_reference,
        'incidents[1] (id "i-2").linked_pupils[0]: no pupil has the id "p-99"',
    ),
    "unknown field": (unknown_field, 'documents[0] (id "d-1").comment: Unknown field.'),
    "dotdot path": (dotdot_path, "documents[0] (id \"d-1\").file: path contains '..'"),
    "absolute path": (absolute_path, 'documents[0] (id "d-1").file: path is an absolute path'),
    "symlinked file": (symlinked_file, 'export file "files/d-1.txt": is a symbolic link'),
    "symlinked folder": (symlinked_folder, 'export file "more": is a symbolic link'),
    "other school": (other_school, "school.urn: is not the URN of the school"),
    "changed document": (
        changed_document,
        'documents[0] (id "d-1").sha256: differs from the document imported before',
    ),
    "rewritten action": (
        rewritten_action,
        'incidents[0] (id "i-1").actions[0] (id "a-1-1").text: differs from the action',
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_export_is_refused_and_changes_nothing(
    instance: Instance, school_id: int, imported: ExportBuilder, tmp_path: Path, case: str
):
    make, expected = CASES[case]
    builder = example_export()
    lines = refused(instance, school_id, make(builder, tmp_path))
    assert any(expected in line for line in lines), lines
    assert_no_personal_data(lines, builder)


def test_errors_are_collected_not_stopped_at_the_first(
    instance: Instance, school_id: int, tmp_path: Path
):
    builder = example_export()
    invalid_upn(builder, tmp_path)
    incident_before_birth(builder, tmp_path)
    unknown_category(builder, tmp_path)
    size_mismatch(builder, tmp_path)
    lines = refused(instance, school_id, _write(builder, tmp_path))
    assert len(lines) >= 3, lines
    joined = "\n".join(lines)
    assert "pupils[0]" in joined
    assert "categories[1]" in joined
    assert 'documents[1] (id "d-2").size' in joined


def test_error_list_is_capped(instance: Instance, school_id: int, tmp_path: Path):
    builder = ExportBuilder()
    for _ in range(150):
        builder.add_pupil(born=datetime(2031, 1, 1).date())
    lines = refused(instance, school_id, _write(builder, tmp_path))
    assert len(lines) == 101
    assert lines[-1].startswith("... and 50 more")


def test_sparse_2gb_file_fails_from_stat_without_reading(
    instance: Instance, school_id: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    builder = example_export()
    folder = _write(builder, tmp_path)
    huge = folder / "files" / "d-1.txt"
    with huge.open("r+b") as handle:
        os.truncate(handle.fileno(), 2 * 1024**3)
    builder.records["documents"][0]["size"] = 2 * 1024**3
    _records(folder).write_text(json.dumps(builder.records))
    opened: list[str] = []
    real_open = os.open
    monkeypatch.setattr(
        os, "open", lambda path, *a, **k: opened.append(str(path)) or real_open(path, *a, **k)
    )
    lines = refused(instance, school_id, folder)
    assert not any(name.endswith("d-1.txt") for name in opened)
    assert any('documents[0] (id "d-1").file: is larger than the limit' in x for x in lines)
    assert any('documents[0] (id "d-1").size: is larger than the limit' in x for x in lines)


def test_too_many_files(instance: Instance, school_id: int, tmp_path: Path):
    instance.config["MAX_IMPORT_FILES"] = 1
    lines = refused(instance, school_id, _write(example_export(), tmp_path))
    assert "export: holds more than 1 files" in lines


def test_too_many_bytes(instance: Instance, school_id: int, tmp_path: Path):
    builder = example_export()
    instance.config["MAX_IMPORT_TOTAL_BYTES"] = len(builder.files["files/d-1.txt"]) + 1
    lines = refused(instance, school_id, _write(builder, tmp_path))
    assert any(line.startswith("export: holds more than") for line in lines)


def test_records_json_over_its_cap(instance: Instance, school_id: int, tmp_path: Path):
    instance.config["MAX_RECORDS_JSON_BYTES"] = 200
    lines = refused(instance, school_id, _write(example_export(), tmp_path))
    assert lines == ["records.json: is larger than the limit of 200 bytes"]


def test_records_json_over_its_cap_in_a_zip(instance: Instance, school_id: int, tmp_path: Path):
    instance.config["MAX_RECORDS_JSON_BYTES"] = 200
    archive = example_export().write_zip(tmp_path / "e.zip")
    assert refused(instance, school_id, archive) == [
        "records.json: is larger than the limit of 200 bytes"
    ]


def test_file_changed_after_the_check_leaves_no_blob(
    instance: Instance, school_id: int, tmp_path: Path
):
    builder = example_export()
    folder = _write(builder, tmp_path)

    @contextmanager
    def tamper(label: str, _total: int, _unit: str) -> Iterator[Callable[[int], None]]:
        if label == "importing":
            path = folder / "files" / "d-2.txt"
            content = bytearray(path.read_bytes())
            content[-2] ^= 1
            path.write_bytes(bytes(content))
        yield lambda _amount: None

    lines = refused(instance, school_id, folder, progress=tamper)
    assert lines == ['documents[1] (id "d-2").file: changed while it was being imported']


# Zip exports: names, links, bombs and lies in the headers.


def _zip(
    tmp_path: Path, builder: ExportBuilder, extra: list[tuple[zipfile.ZipInfo, bytes]]
) -> Path:
    path = builder.write_zip(tmp_path / "bad.zip")
    with zipfile.ZipFile(path, "a") as archive:
        for info, content in extra:
            archive.writestr(info, content)
    return path


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../evil.txt", "contains '..'"),
        ("/etc/evil.txt", "is an absolute path"),
        ("files\\evil.txt", "contains a backslash"),
        ("C:/evil.txt", "is an absolute path"),
    ],
)
def test_zip_entry_with_unsafe_name(
    instance: Instance, school_id: int, tmp_path: Path, name: str, expected: str
):
    info = zipfile.ZipInfo(name)
    lines = refused(instance, school_id, _zip(tmp_path, example_export(), [(info, b"x")]))
    assert f"zip entry {json.dumps(name)}: {expected}" in "\n".join(lines)


def test_zip_entry_that_is_a_symlink(instance: Instance, school_id: int, tmp_path: Path):
    info = zipfile.ZipInfo("files/link.txt")
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    lines = refused(instance, school_id, _zip(tmp_path, example_export(), [(info, b"/etc/passwd")]))
    assert 'zip entry "files/link.txt": is a symbolic link; links are refused' in lines


def test_zip_with_duplicate_entry(instance: Instance, school_id: int, tmp_path: Path):
    info = zipfile.ZipInfo("files/d-1.txt")
    with pytest.warns(UserWarning, match="Duplicate name"):
        path = _zip(tmp_path, example_export(), [(info, b"other")])
    lines = refused(instance, school_id, path)
    assert 'zip entry "files/d-1.txt": appears twice in the zip' in lines


def test_zip_bomb_refused_from_declared_size(
    instance: Instance, school_id: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    instance.config["MAX_VAULT_FILE_BYTES"] = 1024 * 1024
    builder = example_export()
    bomb = b"\0" * (8 * 1024 * 1024)
    builder.add_document(builder.records["pupils"][0], content=bomb)
    path = builder.write_zip(tmp_path / "bomb.zip")
    opened: list[str] = []
    real_open = zipfile.ZipFile.open
    monkeypatch.setattr(
        zipfile.ZipFile,
        "open",
        lambda self, name, *a, **k: (
            opened.append(getattr(name, "filename", name)) or real_open(self, name, *a, **k)
        ),
    )
    lines = refused(instance, school_id, path)
    assert "records.json" in opened
    assert "files/d-3.txt" not in opened
    assert 'documents[2] (id "d-3").file: is larger than the limit of 1048576 bytes' in lines


def _patch_declared_size(path: Path, name: str, size: int) -> None:
    """Rewrite an entry's uncompressed size in both zip headers, as a lying zip would."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(name)
    local = info.header_offset
    data[local + 22 : local + 26] = size.to_bytes(4, "little")
    central = data.find(b"PK\x01\x02")
    while central != -1:
        name_length = int.from_bytes(data[central + 28 : central + 30], "little")
        if data[central + 46 : central + 46 + name_length] == name.encode():
            data[central + 24 : central + 28] = size.to_bytes(4, "little")
            break
        central = data.find(b"PK\x01\x02", central + 4)
    path.write_bytes(bytes(data))


def test_zip_entry_larger_than_declared(instance: Instance, school_id: int, tmp_path: Path):
    builder = example_export()
    bomb = b"\0" * (4 * 1024 * 1024)
    document = builder.add_document(builder.records["pupils"][0], content=bomb)
    document["size"] = 1000  # The records agree with the lie in the zip headers.
    path = builder.write_zip(tmp_path / "liar.zip")
    _patch_declared_size(path, "files/d-3.txt", 1000)
    lines = refused(instance, school_id, path)
    expected = "cannot be read: the entry is damaged or its declared size is false"
    assert f'documents[2] (id "d-3").file: {expected}' in lines


def test_not_a_zip(instance: Instance, school_id: int, tmp_path: Path):
    path = tmp_path / "export.zip"
    path.write_bytes(b"this is not a zip")
    assert refused(instance, school_id, path) == ["export: is not a readable zip file"]


def test_records_json_missing(instance: Instance, school_id: int, tmp_path: Path):
    folder = _write(example_export(), tmp_path)
    _records(folder).unlink()
    lines = refused(instance, school_id, folder)
    assert "records.json: is missing from the export" in lines
