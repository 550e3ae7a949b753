"""A structural pass over a GDSII stream before gdstk reads it.

gdstk trusts the stream: a cell that references itself (directly or through
others) recurses until the process dies with SIGSEGV, a record shorter than
its own header is read with a negative length, and an array reference of
32767 x 32767 copies is flattened into memory. This pass walks the records
(2-byte length, record type, data type; Calma GDSII Stream Format 6.0) and
refuses, in one line, any record shorter than 4 bytes, odd-sized or running
past the end of the file, a stream without HEADER ... ENDLIB, a unit record
that is not two positive numbers, a reference cycle, a reference chain deeper
than ``gds_depth`` and a flattened polygon count over ``gds_polygons``
(:mod:`fabrication.limits`).
"""

from __future__ import annotations

import math
import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path

from fabrication.errors import FabricationReadError
from fabrication.limits import cap

__all__ = ["GdsSummary", "scan_gds"]

HEADER, BGNLIB, UNITS, ENDLIB, BGNSTR, STRNAME, ENDSTR = 0x00, 0x01, 0x03, 0x04, 0x05, 0x06, 0x07
BOUNDARY, PATH, SREF, AREF, BOX = 0x08, 0x09, 0x0A, 0x0B, 0x2D
SNAME, COLROW, ENDEL = 0x12, 0x13, 0x11
SHAPES = (BOUNDARY, PATH, BOX)


@dataclass(frozen=True)
class GdsSummary:
    """What the scan found: cell names, the deepest reference chain, the flattened polygon count."""

    cells: tuple[str, ...]
    depth: int
    polygons: int


def _real8(b: bytes) -> float:
    """GDSII 8-byte real: sign, excess-64 base-16 exponent, 56-bit mantissa."""
    exponent = (b[0] & 0x7F) - 64
    mantissa = int.from_bytes(b[1:8], "big") / 2.0**56
    return (-1 if b[0] & 0x80 else 1) * mantissa * 16.0**exponent


def _read(path: Path, name: str) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as err:
        raise FabricationReadError(f"{name}: cannot read ({err.strerror}).") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise FabricationReadError(f"{name}: not a regular file; expected a GDSII file.")
        limit = cap("gds_bytes")
        if st.st_size > limit:
            raise FabricationReadError(f"{name}: {st.st_size} bytes, over the {limit}-byte limit "
                                       f"(DESIGNER_MAX_GDS_BYTES).")
        with os.fdopen(os.dup(fd), "rb") as f:
            return f.read(limit + 1)
    finally:
        os.close(fd)


def _records(data: bytes, name: str):
    """Yield (offset, record type, payload) up to and including ENDLIB."""
    pos, size = 0, len(data)
    while pos < size:
        if size - pos < 4:
            raise FabricationReadError(f"{name}: not a readable GDSII file (truncated record header at byte {pos}).")
        length, rtype = struct.unpack_from(">HB", data, pos)
        if length < 4 or length % 2:
            raise FabricationReadError(f"{name}: not a readable GDSII file (record at byte {pos} declares "
                                       f"length {length}; expected an even length of at least 4).")
        if pos + length > size:
            raise FabricationReadError(f"{name}: not a readable GDSII file (record at byte {pos} declares "
                                       f"{length} bytes, past the end of the file at {size}).")
        yield pos, rtype, data[pos + 4:pos + length]
        pos += length
        if rtype == ENDLIB:
            return
    raise FabricationReadError(f"{name}: not a readable GDSII file (no ENDLIB record: truncated).")


def _structure(data: bytes, name: str):
    """Per cell: own shape count and references [(child, copies)]; and the two unit values."""
    cells: dict[str, tuple[int, list]] = {}
    units = None
    current, shapes, refs, ref = None, 0, [], None
    first = True
    for pos, rtype, payload in _records(data, name):
        if first and rtype != HEADER:
            raise FabricationReadError(f"{name}: not a readable GDSII file (starts with record type "
                                       f"{rtype:#04x}, not HEADER).")
        first = False
        if rtype == UNITS:
            if len(payload) != 16:
                raise FabricationReadError(f"{name}: UNITS record of {len(payload)} bytes; expected 16.")
            units = (_real8(payload[:8]), _real8(payload[8:]))
        elif rtype == STRNAME:
            current, shapes, refs = payload.rstrip(b"\0").decode("ascii", "replace"), 0, []
            if current in cells:
                raise FabricationReadError(f"{name}: cell {current!r} is defined twice.")
        elif rtype == ENDSTR and current is not None:
            cells[current] = (shapes, refs)
            current = None
        elif rtype in SHAPES:
            shapes += 1
        elif rtype in (SREF, AREF):
            ref = [None, 1]
        elif rtype == SNAME and ref is not None:
            ref[0] = payload.rstrip(b"\0").decode("ascii", "replace")
        elif rtype == COLROW and ref is not None and len(payload) >= 4:
            cols, rows = struct.unpack_from(">hh", payload)
            ref[1] = max(cols, 0) * max(rows, 0)
        elif rtype == ENDEL and ref is not None:
            refs.append(tuple(ref))
            ref = None
    if units is None or not all(math.isfinite(u) and u > 0 for u in units):
        raise FabricationReadError(f"{name}: UNITS {units!r} are not two positive numbers.")
    return cells


def _walk(cells: dict, name: str) -> tuple[int, int]:
    """(deepest chain, flattened polygon count) over every cell, refusing cycles; iterative DFS."""
    depth_cap, polygon_cap = cap("gds_depth"), cap("gds_polygons")
    depth: dict[str, int] = {}
    count: dict[str, int] = {}
    for root in cells:
        if root in depth:
            continue
        stack, on_path = [(root, iter(cells[root][1]))], {root}
        while stack:
            cell, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                on_path.discard(cell)
                own, refs = cells[cell]
                known = [(c, n) for c, n in refs if c in cells]
                depth[cell] = 1 + max((depth[c] for c, _ in known), default=0)
                count[cell] = own + sum(count[c] * n for c, n in known)
                if depth[cell] > depth_cap:
                    raise FabricationReadError(f"{name}: cell {cell!r} nests references {depth[cell]} deep, "
                                               f"over the limit of {depth_cap} (DESIGNER_MAX_GDS_DEPTH).")
                if count[cell] > polygon_cap:
                    raise FabricationReadError(f"{name}: cell {cell!r} flattens to {count[cell]} polygons, over "
                                               f"the limit of {polygon_cap} (DESIGNER_MAX_GDS_POLYGONS).")
                continue
            target = child[0]
            if target in on_path:
                raise FabricationReadError(f"{name}: cell {cell!r} references {target!r}, which contains it: "
                                           f"a reference cycle.")
            if target in cells and target not in depth:
                on_path.add(target)
                stack.append((target, iter(cells[target][1])))
    return max(depth.values(), default=0), max(count.values(), default=0)


def scan_gds(path: str | os.PathLike) -> GdsSummary:
    """Check the stream at `path` as the module docstring says; raise FabricationReadError otherwise."""
    path = Path(path)
    data = _read(path, path.name)
    cells = _structure(data, path.name)
    deepest, polygons = _walk(cells, path.name)
    return GdsSummary(tuple(cells), deepest, polygons)
