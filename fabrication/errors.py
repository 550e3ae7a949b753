"""Exceptions raised by fabrication."""

from __future__ import annotations


class FabricationReadError(Exception):
    """A file could not be read back as a design: corrupt, empty, wrong layer
    or wrong units. The message is one line naming the file and what was
    expected."""


class FabricationExportError(ValueError):
    """A design cannot be written as asked (e.g. a single body was required
    but the part falls apart)."""
