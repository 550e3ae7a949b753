"""A structural pass over a GDSII stream before gdstk reads it.

gdstk trusts the stream: a cell that references itself (directly or through
others) recurses until the process dies with SIGSEGV, a record shorter than
its own header is read with a negative length, and an array reference of
32767 x 32767 copies is flattened into memory. This pass walks the records
(2-byte length, record type, data type; Calma GDSII Stream Format 6.0) and
refuses, in one line, any record shorter than 4 bytes, odd-sized or running
past the end of the file; an unknown record type, or one with the wrong data
type or a payload of partial values; a stream that breaks the grammar
(HEADER ... ENDLIB, cells, elements with the records each needs: a TEXT
without its STRING crashes gdstk too); a unit record that is not two positive
numbers; a reference cycle; a reference chain deeper than ``gds_depth``; and a
flattened polygon count over ``gds_polygons`` (:mod:`fabrication.limits`).
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

RECORD_NAMES = {
    0x00: "HEADER", 0x01: "BGNLIB", 0x02: "LIBNAME", 0x03: "UNITS", 0x04: "ENDLIB", 0x05: "BGNSTR",
    0x06: "STRNAME", 0x07: "ENDSTR", 0x08: "BOUNDARY", 0x09: "PATH", 0x0A: "SREF", 0x0B: "AREF", 0x0C: "TEXT",
    0x0D: "LAYER", 0x0E: "DATATYPE", 0x0F: "WIDTH", 0x10: "XY", 0x11: "ENDEL", 0x12: "SNAME", 0x13: "COLROW",
    0x15: "NODE", 0x16: "TEXTTYPE", 0x17: "PRESENTATION", 0x19: "STRING", 0x1A: "STRANS", 0x1B: "MAG",
    0x1C: "ANGLE", 0x1F: "REFLIBS", 0x20: "FONTS", 0x21: "PATHTYPE", 0x22: "GENERATIONS", 0x23: "ATTRTABLE",
    0x26: "ELFLAGS", 0x2A: "NODETYPE", 0x2B: "PROPATTR", 0x2C: "PROPVALUE", 0x2D: "BOX", 0x2E: "BOXTYPE",
    0x2F: "PLEX", 0x30: "BGNEXTN", 0x31: "ENDEXTN", 0x36: "FORMAT", 0x37: "MASK", 0x38: "ENDMASKS",
    0x39: "LIBDIRSIZE", 0x3A: "SRFNAME", 0x3B: "LIBSECUR", 0x32: "TAPENUM", 0x33: "TAPECODE", 0x34: "STRCLASS",
}
_R = {v: k for k, v in RECORD_NAMES.items()}
HEADER, BGNLIB, UNITS, ENDLIB, BGNSTR, STRNAME, ENDSTR = (_R[n] for n in (
    "HEADER", "BGNLIB", "UNITS", "ENDLIB", "BGNSTR", "STRNAME", "ENDSTR"))
BOUNDARY, PATH, SREF, AREF, TEXT, NODE, BOX = (_R[n] for n in ("BOUNDARY", "PATH", "SREF", "AREF", "TEXT", "NODE", "BOX"))
SNAME, COLROW, ENDEL, XY = _R["SNAME"], _R["COLROW"], _R["ENDEL"], _R["XY"]
SHAPES = (BOUNDARY, PATH, BOX)
ELEMENTS = (BOUNDARY, PATH, SREF, AREF, TEXT, NODE, BOX)
REQUIRED = {
    BOUNDARY: {_R["LAYER"], _R["DATATYPE"], XY}, PATH: {_R["LAYER"], _R["DATATYPE"], XY},
    SREF: {SNAME, XY}, AREF: {SNAME, COLROW, XY}, TEXT: {_R["LAYER"], _R["TEXTTYPE"], XY, _R["STRING"]},
    NODE: {_R["LAYER"], _R["NODETYPE"], XY}, BOX: {_R["LAYER"], _R["BOXTYPE"], XY},
}
"""Records an element must carry (GDSII Stream Format 6.0); gdstk crashes on a TEXT without STRING."""
ELEMENT_ONLY = {_R[n] for n in ("LAYER", "DATATYPE", "WIDTH", "XY", "SNAME", "COLROW", "TEXTTYPE", "PRESENTATION",
                                "STRING", "STRANS", "MAG", "ANGLE", "PATHTYPE", "ELFLAGS", "NODETYPE", "PROPATTR",
                                "PROPVALUE", "BOXTYPE", "PLEX", "BGNEXTN", "ENDEXTN", "ENDEL")}
DATA_TYPES = {r: 0 for r in (ENDLIB, ENDSTR, BOUNDARY, PATH, SREF, AREF, TEXT, ENDEL, NODE, BOX, _R["ENDMASKS"])}
DATA_TYPES.update({r: 2 for r in (HEADER, BGNLIB, BGNSTR, _R["LAYER"], _R["DATATYPE"], COLROW, _R["TEXTTYPE"],
                                  _R["PATHTYPE"], _R["GENERATIONS"], _R["NODETYPE"], _R["PROPATTR"], _R["BOXTYPE"],
                                  _R["FORMAT"], _R["LIBDIRSIZE"], _R["LIBSECUR"], _R["TAPENUM"], _R["TAPECODE"])})
DATA_TYPES.update({r: 3 for r in (_R["WIDTH"], XY, _R["PLEX"], _R["BGNEXTN"], _R["ENDEXTN"])})
DATA_TYPES.update({r: 5 for r in (UNITS, _R["MAG"], _R["ANGLE"])})
DATA_TYPES.update({r: 6 for r in (_R["LIBNAME"], STRNAME, SNAME, _R["STRING"], _R["REFLIBS"], _R["FONTS"],
                                  _R["ATTRTABLE"], _R["PROPVALUE"], _R["MASK"], _R["SRFNAME"])})
DATA_TYPES.update({r: 1 for r in (_R["PRESENTATION"], _R["STRANS"], _R["ELFLAGS"], _R["STRCLASS"])})
VALUE_BYTES = {0: 0, 1: 2, 2: 2, 3: 4, 5: 8, 6: 1}
"""Bytes per value of each data type: none, bit array, int16, int32, real8, ASCII."""


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


def _check_record(name: str, pos: int, rtype: int, dtype: int, payload: bytes) -> None:
    """Known record type, the data type the format fixes for it, a payload of whole values."""
    if rtype not in DATA_TYPES:
        raise FabricationReadError(f"{name}: not a readable GDSII file (unknown record type {rtype:#04x} "
                                   f"at byte {pos}).")
    want = DATA_TYPES[rtype]
    if dtype != want:
        raise FabricationReadError(f"{name}: not a readable GDSII file (record {rtype:#04x} at byte {pos} has "
                                   f"data type {dtype}, expected {want}).")
    size = VALUE_BYTES[want]
    if (size == 0 and payload) or (size and (not payload or len(payload) % size)):
        raise FabricationReadError(f"{name}: not a readable GDSII file (record {rtype:#04x} at byte {pos} "
                                   f"holds {len(payload)} bytes, not whole values of {size}).")
    if want == 6 and not payload.rstrip(b"\0").isascii():
        raise FabricationReadError(f"{name}: not a readable GDSII file ({RECORD_NAMES[rtype]} at byte {pos} "
                                   f"is not ASCII text).")
    if rtype == XY and len(payload) < 8:
        raise FabricationReadError(f"{name}: not a readable GDSII file (XY record at byte {pos} has no point).")


def _structure(data: bytes, name: str):
    """Per cell: own shape count and references [(child, copies)]; refuses what breaks the grammar.

    Library: HEADER BGNLIB LIBNAME ... UNITS {BGNSTR STRNAME element* ENDSTR}* ENDLIB;
    element: an element record, its properties (with every record REQUIRED lists), ENDEL.
    """
    cells: dict[str, tuple[int, list]] = {}
    units = None
    current, shapes, refs = None, 0, []
    element, seen, ref, named = None, set(), None, False
    for index, (pos, rtype, payload) in enumerate(_records(data, name)):
        dtype = data[pos + 3]
        if index == 0 and rtype != HEADER:
            raise FabricationReadError(f"{name}: not a readable GDSII file (starts with record type "
                                       f"{rtype:#04x}, not HEADER).")
        _check_record(name, pos, rtype, dtype, payload)
        if element is not None:
            if rtype in ELEMENTS or rtype in (BGNSTR, ENDSTR, ENDLIB):
                raise FabricationReadError(f"{name}: element at byte {element[1]} has no ENDEL.")
            if rtype != ENDEL:
                seen.add(rtype)
                if rtype == SNAME:
                    ref[0] = payload.rstrip(b"\0").decode("ascii")
                elif rtype == COLROW:
                    cols, rows = struct.unpack_from(">hh", payload)
                    ref[1] = max(cols, 0) * max(rows, 0)
                continue
            missing = REQUIRED[element[0]] - seen
            if missing:
                names = ", ".join(RECORD_NAMES[r] for r in sorted(missing))
                raise FabricationReadError(f"{name}: element at byte {element[1]} lacks {names}.")
            if element[0] in SHAPES:
                shapes += 1
            elif element[0] in (SREF, AREF):
                refs.append(tuple(ref))
            element = None
        elif rtype in ELEMENTS:
            if current is None:
                raise FabricationReadError(f"{name}: element at byte {pos} outside any cell.")
            element, seen, ref = (rtype, pos), set(), [None, 1]
        elif rtype == UNITS:
            units = (_real8(payload[:8]), _real8(payload[8:]))
        elif rtype == BGNSTR:
            if current is not None or named:
                raise FabricationReadError(f"{name}: cell at byte {pos} begins inside another.")
            named = True
        elif rtype == STRNAME:
            if not named:
                raise FabricationReadError(f"{name}: STRNAME at byte {pos} outside BGNSTR.")
            current, shapes, refs, named = payload.rstrip(b"\0").decode("ascii"), 0, [], False
            if current in cells:
                raise FabricationReadError(f"{name}: cell {current!r} is defined twice.")
        elif rtype == ENDSTR:
            if current is None:
                raise FabricationReadError(f"{name}: ENDSTR at byte {pos} outside a cell.")
            cells[current] = (shapes, refs)
            current = None
        elif rtype in ELEMENT_ONLY:
            raise FabricationReadError(f"{name}: record {RECORD_NAMES[rtype]} at byte {pos} outside an element.")
    if current is not None or named:
        raise FabricationReadError(f"{name}: the last cell has no ENDSTR.")
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
