"""The Design file: the one hand-off between optimize, export, verify and report.

``design.npz`` holds arrays only (never unpickled; sizes, dtypes, shapes and
values checked by :mod:`designer.npzio`), and ``design.json`` holds the
resolved config, template, units, versions, placement and metrics in strict
JSON (non-finite numbers as null; :mod:`designer.design_check` checks its
structure). Both are written atomically (temporary file, then rename).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fabrication.atomic import write_bytes
from fabrication.errors import FabricationExportError

from . import jsonio
from .config import parse_config
from .design_check import design_arrays, read_meta
from .errors import DesignerError
from .npzio import check_arrays, npz_bytes, read_npz

__all__ = ["Design", "save_design", "load_design", "atomic_write_bytes", "atomic_write_text", "find_design",
           "run_designs", "npz_bytes", "read_npz"]


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename.

    Only a regular file is replaced (see :mod:`fabrication.atomic`); the file
    gets 0666 minus the umask; any OSError (a full disk, a read-only folder)
    is one DesignerError line and leaves neither a partial file nor a
    temporary one.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DesignerError(f"{path}: cannot create its folder ({exc.strerror})") from None
    try:
        write_bytes(path, data)
    except FabricationExportError as exc:
        raise DesignerError(str(exc).rstrip(".")) from None


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


@dataclass(frozen=True)
class Design:
    """A design's arrays (each (nx, ny) unless noted) and its metadata."""

    arrays: dict[str, np.ndarray]
    meta: dict
    folder: Path

    @property
    def binary(self) -> np.ndarray:
        return self.arrays["binary"]

    @property
    def config_data(self) -> dict:
        return self.meta["config"]


def save_design(folder: Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Write ``design.npz`` and ``design.json`` into ``folder`` atomically."""
    folder = Path(folder)
    atomic_write_bytes(folder / "design.npz", npz_bytes(arrays))
    atomic_write_text(folder / "design.json", jsonio.dumps(meta, indent=2))


def load_design(path: str | Path) -> Design:
    """Load a design from its folder, its ``design.npz`` or its ``design.json``."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    npz, meta_path = folder / "design.npz", folder / "design.json"
    if not npz.exists():
        raise DesignerError(f"{folder}: no design.npz here (expected a run folder or a design.npz)")
    if not meta_path.exists():
        raise DesignerError(f"{meta_path}: missing; a design needs design.npz and design.json side by side")
    meta = read_meta(meta_path)
    cfg = parse_config(meta["config"], str(meta_path), stored=True)
    arrays = read_npz(npz, "design file")
    check_arrays(arrays, design_arrays(cfg), npz)
    return Design(arrays=arrays, meta=meta, folder=folder)


def run_designs(out: str | Path) -> list[Path]:
    """The design folders a run ships: ``out`` itself, or its ``fold-K`` folders in fold order.

    Not a recursive search: a fold's ``restarts/seed-S`` candidates are not shipped designs.
    """
    out = Path(out)
    if (out / "design.json").exists():
        return [out]
    folds = [p.parent for p in out.glob("fold-*/design.json")]
    return sorted(folds, key=lambda p: (int(p.name[5:]) if p.name[5:].isdigit() else 1 << 62, p.name))


def find_design(path: str | Path | None, runs: Path = Path("runs")) -> Path:
    """The design folder for ``path``: a run or fold folder, a design file, or the newest run under ``runs``."""
    if path is None:
        candidates = sorted(runs.glob("*/design.json"), key=lambda p: p.stat().st_mtime) if runs.is_dir() else []
        candidates += sorted(runs.glob("*/fold-*/design.json"), key=lambda p: p.stat().st_mtime) if runs.is_dir() else []
        if not candidates:
            raise DesignerError(f"{runs}: no run with a design.json found; pass a run folder or design.npz")
        return max(candidates, key=lambda p: p.stat().st_mtime).parent
    path = Path(path)
    if not path.exists():
        raise DesignerError(f"{path}: not found")
    folder = path if path.is_dir() else path.parent
    if (folder / "design.json").exists():
        return folder
    folds = sorted(folder.glob("fold-*/design.json"))
    if folds:
        raise DesignerError(f"{folder}: a cross-validated run; pass one fold folder, e.g. {folds[0].parent}")
    raise DesignerError(f"{folder}: no design.json here (expected a run folder or design.npz)")
