"""Checks of the paths a command is given, cheap enough to run before any heavy import.

Each returns the path when it is what the command needs, or raises a one-line
:class:`DesignerError` naming it and what was expected, so a mistyped name
fails at once (the CLI calls these before torch, numba or scikit-image load).
"""
from __future__ import annotations

from pathlib import Path

from .errors import DesignerError

__all__ = ["READ_FORMATS", "existing", "existing_file", "part_file", "design_folder", "run_folder"]

READ_FORMATS = {".gds": "gds", ".gdsii": "gds", ".stl": "stl"}
"""Exported parts that `designer verify` and `designer show` read, by suffix."""


def existing(path: Path, what: str = "file") -> Path:
    """``path`` exists (a file or a folder)."""
    path = Path(path)
    if not path.exists():
        raise DesignerError(f"{path}: {what} not found")
    return path


def existing_file(path: Path, what: str = "file") -> Path:
    """``path`` exists and is not a folder."""
    path = existing(path, what)
    if path.is_dir():
        raise DesignerError(f"{path}: is a folder; expected a {what}")
    return path


def part_file(path: Path) -> Path:
    """An exported part or a design file: an existing .gds, .gdsii, .stl or .npz."""
    path = existing_file(path, "file")
    suffix = path.suffix.lower()
    if suffix != ".npz" and suffix not in READ_FORMATS:
        raise DesignerError(f"{path}: unknown file type {suffix!r}; expected .gds, .stl or .npz")
    return path


def design_folder(part: Path, run: Path | None) -> Path:
    """The folder whose design.json describes ``part``: ``run``, else the part's own folder."""
    folder = Path(run) if run is not None else Path(part).parent
    if run is not None:
        existing(folder, "run folder")
    if not (folder / "design.json").exists():
        where = f"{folder}: no design.json here" if run is not None else f"{part}: no design.json beside it"
        raise DesignerError(f"{where}; pass --run RUN_DIR or --config CONFIG.toml")
    return folder


def run_folder(path: Path | None) -> Path | None:
    """A run folder, a fold folder or a design file that exists (None: the newest run, found later)."""
    if path is None:
        return None
    path = existing(path, "run folder or design file")
    folder = path if path.is_dir() else path.parent
    if not (folder / "design.json").exists() and not any(folder.glob("fold-*/design.json")):
        raise DesignerError(f"{folder}: no design.json here (expected a run folder from `designer optimize`)")
    return path
