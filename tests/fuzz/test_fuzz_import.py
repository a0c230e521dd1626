"""Fuzz the records import: mutated records.json structure and values, and hostile zips.

The property: a correct import or ImportRejected (an ExchangeError) that leaves every table's row
count and the blob folder as they were, and writes nothing beside the export.
"""

from __future__ import annotations

import copy
import json
import stat
import warnings
import zipfile
from pathlib import Path
from typing import Any

import pytest
from fuzz_kit import KnownCrash, bounded, clean, corpus_files, mutate, mutations
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, inspect, select, table

from exchange.db import transaction
from exchange.errors import ExchangeError
from exchange.instance import Instance
from exchange.records.import_example import ExportBuilder, add_example_school, example_export
from exchange.records.importer import import_records

BASE = example_export()
NOW = __import__("datetime").datetime(2025, 7, 1, 12, 0, tzinfo=__import__("datetime").UTC)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(
        [
            "",
            "p-1",
            "s-1",
            "i-1",
            "d-1",
            "files/d-1.txt",
            "../x",
            "/etc/passwd",
            "2025-13-45",
            "2024-11-04T10:20:00",
            "2015-03-02",
            "Child Protection",
            "\u0000",
            "9" * 400,
        ]
    ),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, inner in value.items():
            found.extend(_paths(inner, (*prefix, key)))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found.extend(_paths(inner, (*prefix, index)))
    return found


PATHS = _paths(BASE.records)[1:]


def _edit(records: dict[str, Any], path: tuple[Any, ...], how: int, value: Any) -> None:
    parent: Any = records
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1]
    if how == 0:
        parent[key] = value
    elif how == 1:
        del parent[key]
    elif how == 2 and isinstance(parent, list):
        parent.insert(key, copy.deepcopy(parent[key]))
    elif how == 3 and isinstance(parent, dict):
        parent[f"{key}_extra"] = value
    else:
        parent[key] = value


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
def school_id(instance: Instance, tmp_path: Path) -> int:
    """Return the example school with the example imported once."""
    with transaction(instance.sessions) as session:
        school = add_example_school(session).id
    import_records(instance, school, BASE.write_folder(tmp_path / "first"), now=NOW)
    return school


def _import(instance: Instance, school: int, path: Path) -> None:
    around = sorted(p.name for p in path.parent.iterdir())
    before = snapshot(instance)
    result = clean(lambda: import_records(instance, school, path, now=NOW), seconds=30)
    if isinstance(result, ExchangeError | KnownCrash):
        assert snapshot(instance) == before, "a refused import must change nothing"
    assert sorted(p.name for p in path.parent.iterdir()) == around


def _builder(records: dict[str, Any]) -> ExportBuilder:
    builder = example_export()
    builder.records = records
    return builder


@bounded(120)
@given(
    edits=st.lists(
        st.tuples(st.sampled_from(PATHS), st.integers(0, 4), json_values), min_size=1, max_size=3
    ),
    as_zip=st.booleans(),
)
def test_mutated_records(
    instance: Instance,
    school_id: int,
    tmp_path_factory: pytest.TempPathFactory,
    edits: list[tuple[tuple[Any, ...], int, Any]],
    as_zip: bool,
) -> None:
    records = copy.deepcopy(BASE.records)
    for path, how, value in edits:
        try:
            _edit(records, path, how, value)
        except (KeyError, IndexError, TypeError):
            continue  # An earlier edit removed or replaced the path.
    try:
        json.dumps(records, allow_nan=True)
    except ValueError:
        return
    builder = _builder(records)
    folder = tmp_path_factory.mktemp("imp")
    path = builder.write_zip(folder / "e.zip") if as_zip else builder.write_folder(folder / "e")
    _import(instance, school_id, path)


@bounded(80)
@given(ops=mutations())
def test_mutated_records_bytes(
    instance: Instance, school_id: int, tmp_path_factory: pytest.TempPathFactory, ops: Any
) -> None:
    folder = BASE.write_folder(tmp_path_factory.mktemp("imp") / "e")
    records = folder / "records.json"
    records.write_bytes(mutate(records.read_bytes(), ops))
    _import(instance, school_id, folder)


ZIP_SEEDS = [BASE.write_zip(Path(__import__("tempfile").mkdtemp()) / "e.zip").read_bytes()]
ZIP_SEEDS += corpus_files("import-zip")


@bounded(80)
@given(seed=st.sampled_from(ZIP_SEEDS), ops=mutations())
def test_mutated_zip_bytes(
    instance: Instance,
    school_id: int,
    tmp_path_factory: pytest.TempPathFactory,
    seed: bytes,
    ops: Any,
) -> None:
    path = tmp_path_factory.mktemp("imp") / "e.zip"
    path.write_bytes(mutate(seed, ops))
    _import(instance, school_id, path)


zip_names = st.sampled_from(
    [
        "records.json",
        "files/d-1.txt",
        "../records.json",
        "/abs/files/x.txt",
        "files/../../x.txt",
        "files\\\\x.txt",
        "C:/x.txt",
        "files/",
        "files//x.txt",
        "./records.json",
        "files/\u202ex.txt",
        "files/x.txt\u0000.pdf",
    ]
) | st.text(min_size=1, max_size=30)


@st.composite
def zip_entries(draw: st.DrawFn) -> list[tuple[zipfile.ZipInfo, bytes]]:
    entries = []
    for _ in range(draw(st.integers(1, 4))):
        info = zipfile.ZipInfo(draw(zip_names))
        mode = draw(st.sampled_from([0, stat.S_IFLNK | 0o777, stat.S_IFREG | 0o644, stat.S_IFDIR]))
        info.external_attr = mode << 16
        info.flag_bits |= draw(st.sampled_from([0, 0, 0x1]))
        info.compress_type = draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
        entries.append((info, draw(st.binary(max_size=64))))
    return entries


@bounded(100)
@given(extra=zip_entries())
def test_hostile_zip_entries(
    instance: Instance,
    school_id: int,
    tmp_path_factory: pytest.TempPathFactory,
    extra: list[tuple[zipfile.ZipInfo, bytes]],
) -> None:
    path = BASE.write_zip(tmp_path_factory.mktemp("imp") / "e.zip")
    with zipfile.ZipFile(path, "a") as archive:
        for info, data in extra:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # "Duplicate name" is what we want here.
                    archive.writestr(info, data)
            except (ValueError, UnicodeEncodeError):
                continue
    _import(instance, school_id, path)
