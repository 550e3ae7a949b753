"""The Design file: the one hand-off between optimize, export, verify and report.

``design.npz`` holds arrays only (read with ``allow_pickle=False``), and
``design.json`` holds the resolved config, template, units, versions, placement
and metrics. Both are written atomically (temporary file, then rename).
"""
from __future__ import annotations

import io
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DesignerError

__all__ = ["Design", "save_design", "load_design", "atomic_write_bytes", "atomic_write_text", "find_design"]


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Arrays of an npz file, never unpickling; errors name the file."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise DesignerError(f"{path}: file not found") from None
    except (ValueError, OSError, EOFError) as exc:
        raise DesignerError(f"{path}: not a readable npz design file ({exc})") from None


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
    atomic_write_text(folder / "design.json", json.dumps(meta, indent=2, sort_keys=False, default=_json_default))


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def load_design(path: str | Path) -> Design:
    """Load a design from its folder, its ``design.npz`` or its ``design.json``."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    npz, meta_path = folder / "design.npz", folder / "design.json"
    if not npz.exists():
        raise DesignerError(f"{folder}: no design.npz here (expected a run folder or a design.npz)")
    arrays = read_npz(npz)
    try:
        meta = json.loads(meta_path.read_text())
    except FileNotFoundError:
        raise DesignerError(f"{meta_path}: missing; a design needs design.npz and design.json side by side") from None
    except json.JSONDecodeError as exc:
        raise DesignerError(f"{meta_path}: not valid JSON ({exc})") from None
    return Design(arrays=arrays, meta=meta, folder=folder)


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
