"""Multiply PDF matrices and decide how two pieces of shown text join."""

from __future__ import annotations

import math

Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)

# Fractions of the font size: a gap wider than JOIN is a word space; a shift across the
# baseline wider than NEW_LINE starts a new line.
JOIN = 0.15
NEW_LINE = 0.5
# What a gap on one line that is no space glyph reads as: a thin space, so the matcher can
# tell the regular gaps of letter spacing from a real space glyph.
GAP = "\u2009"


def multiply(m: Matrix, n: Matrix) -> Matrix:
    """Return m x n in PDF (row-vector) order."""
    a, b, c, d, e, f = m
    p, q, r, s, t, u = n
    return (a * p + b * r, a * q + b * s, c * p + d * r, c * q + d * s, e * p + f * r + t,
            e * q + f * s + u)  # fmt: skip


def to_matrix(values: list[object]) -> Matrix:
    """Return six operands as a matrix (identity when they are not six numbers)."""
    try:
        a, b, c, d, e, f = (float(v) for v in values)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return IDENTITY
    return (a, b, c, d, e, f)


def separator(
    previous_end: tuple[float, float] | None, start: tuple[float, float], trm: Matrix, size: float
) -> str:
    """Return "", a gap, " " or a new line for text starting at start after previous_end."""
    if previous_end is None:
        return "\n"
    ux, uy = trm[0], trm[1]
    length = math.hypot(ux, uy) or 1.0
    ux, uy = ux / length, uy / length
    scale = abs(size) * (math.hypot(trm[2], trm[3]) or 1.0)
    dx, dy = start[0] - previous_end[0], start[1] - previous_end[1]
    along = dx * ux + dy * uy
    across = -dx * uy + dy * ux
    if abs(across) > NEW_LINE * scale:
        return "\n"
    if along > JOIN * scale:
        return GAP
    if along < -NEW_LINE * scale:
        return " "
    return ""
