"""Safeguarding exchange: move a child's child-protection file between schools safely."""

__version__ = "0.1.0"
