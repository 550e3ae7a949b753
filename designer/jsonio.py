"""Strict JSON in and out: what any standard parser (JavaScript's ``JSON.parse``) accepts.

Writing: a non-finite number (NaN, +-inf: an unresolvable length scale, a
loss that was never computed) is written as ``null``; NumPy scalars and arrays
become numbers and lists, paths strings; ``allow_nan=False`` guarantees no
``NaN`` or ``Infinity`` token is ever written.

Reading: the file must be a regular file of at most ``Limits.json_bytes``,
UTF-8 (no other encoding is guessed), valid JSON and nested less deeply
than Python's recursion limit; anything else is one :class:`DesignerError` line naming
the file.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from .errors import DesignerError
from .limits import read_regular_file

__all__ = ["dumps", "finite_or_none", "read_json"]


def finite_or_none(obj):
    """``obj`` with every non-finite float replaced by None, NumPy types made plain."""
    if isinstance(obj, dict):
        return {str(k): finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_or_none(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return finite_or_none(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def dumps(obj, indent: int | None = None) -> str:
    """Strict JSON text of ``obj`` (non-finite numbers as null)."""
    return json.dumps(finite_or_none(obj), indent=indent, allow_nan=False)


def read_json(path: Path, what: str = "JSON file"):
    """The parsed JSON document at ``path``, or one DesignerError line naming the file."""
    data = read_regular_file(path, "json_bytes", what)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DesignerError(f"{path}: not UTF-8 text (byte {exc.start}); expected a {what}") from None
    if text.startswith("\ufeff"):
        raise DesignerError(f"{path}: starts with a byte-order mark; expected a {what} in plain UTF-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DesignerError(f"{path}: not valid JSON ({exc}); expected a {what}") from None
    except RecursionError:
        raise DesignerError(f"{path}: nested too deeply; expected a {what}") from None
