"""Reading an STL as a boundary: the bytes are checked before trimesh parses them.

Used by :func:`fabrication.stl.read_stl`.
"""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import numpy as np
import trimesh

from fabrication.errors import FabricationReadError
from fabrication.limits import cap

__all__ = ["load_mesh"]

MAX_COORDINATE = 1e9
"""Largest |coordinate| read (1000 km in mm): beyond it trimesh's vertex merging overflows."""
_BINARY_FACET = np.dtype([("normal", "<f4", 3), ("vertices", "<f4", (3, 3)), ("attribute", "<u2")])


def load_mesh(path: str | os.PathLike) -> trimesh.Trimesh:
    """The STL at `path` as a checked trimesh; one FabricationReadError line otherwise.

    Refused before trimesh parses: a non-regular file, one over the
    `stl_bytes` cap (fabrication.limits), a binary STL whose triangle count
    disagrees with its size, non-finite coordinates. Refused after: no
    triangles, or a mesh that is not watertight (a section of an open surface
    is not the part's footprint).
    """
    name = Path(path).name
    data = _read_regular(path, name)
    binary = len(data) >= 84 and 84 + 50 * int.from_bytes(data[80:84], "little") == len(data)
    if binary:
        facets = np.frombuffer(data, dtype=_BINARY_FACET, offset=84)
        if not np.isfinite(facets["vertices"]).all():
            raise FabricationReadError(f"{name}: STL has non-finite (NaN or infinite) coordinates.")
        if len(facets) and np.abs(facets["vertices"]).max() > MAX_COORDINATE:
            raise FabricationReadError(f"{name}: STL has coordinates beyond {MAX_COORDINATE:g}; not a part in mm.")
    elif not data.lstrip()[:5].lower() == b"solid":
        declared = int.from_bytes(data[80:84], "little") if len(data) >= 84 else 0
        raise FabricationReadError(
            f"{name}: not an STL file: not ASCII, and a binary header declaring {declared} triangles needs "
            f"{84 + 50 * declared} bytes, not {len(data)}."
        )
    try:
        mesh = trimesh.load(io.BytesIO(data), file_type="stl", force="mesh")
    except Exception as err:  # trimesh raises many types on foreign bytes
        raise FabricationReadError(f"{name}: not a readable STL file ({type(err).__name__}: {err}).") from None
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
        raise FabricationReadError(f"{name}: STL file has no triangles; expected a printable part.")
    if not np.isfinite(mesh.vertices).all():
        raise FabricationReadError(f"{name}: STL has non-finite (NaN or infinite) coordinates.")
    if not mesh.is_watertight:
        raise FabricationReadError(f"{name}: the mesh is not watertight (open or non-manifold edges); "
                                   f"expected a closed part as `designer export --format stl` writes.")
    return mesh


def _read_regular(path, name: str) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as err:
        raise FabricationReadError(f"{name}: cannot read ({err.strerror}).") from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise FabricationReadError(f"{name}: not a regular file; expected an STL file.")
        limit = cap("stl_bytes")
        if st.st_size > limit:
            raise FabricationReadError(f"{name}: {st.st_size} bytes, over the {limit}-byte limit "
                                       f"(DESIGNER_MAX_STL_BYTES).")
        return f.read(limit + 1)
