"""Check the relative paths an export uses for its files: no escapes, no surprises."""

from __future__ import annotations

import re

RECORDS_FILE = "records.json"
MAX_PATH_LENGTH = 1000
_DRIVE = re.compile(r"^[A-Za-z]:")


def path_problem(path: str) -> str | None:
    """Return why a path inside an export is unsafe, or None if it is a plain relative path."""
    if not path:
        return "is empty"
    if len(path) > MAX_PATH_LENGTH:
        return f"is longer than {MAX_PATH_LENGTH} characters"
    if any(ord(char) < 32 or ord(char) == 127 for char in path):
        return "contains control characters"
    if "\\" in path:
        return "contains a backslash; use / between folders"
    if path.startswith("/") or _DRIVE.match(path):
        return "is an absolute path; paths are relative to the export"
    parts = path.split("/")
    if ".." in parts:
        return "contains '..'; paths may not leave the export"
    if any(part in ("", ".") for part in parts):
        return "has an empty or '.' folder name"
    return None
