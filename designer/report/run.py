"""What a report reads from a run folder: its designs (one, or one per fold), exports and verify results."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import fabrication as fab

from .. import jsonio
from ..config import Config
from ..design import Design, load_design
from ..errors import DesignerError
from ..export import config_of, fab_layout

__all__ = ["Fold", "find_run", "fold_folders", "load_fold", "read_json", "EXPORT_SUFFIXES"]

EXPORT_SUFFIXES = (".gds", ".stl")


@dataclass(frozen=True)
class Fold:
    """One trained design with everything the figures need.

    name: "" for a single run, else the fold folder's name. classes: class
    names in probe order. exports: GDS/STL files in the folder. verify:
    (file name, result dict) of each ``verify-*.json`` beside the design.
    """

    name: str
    design: Design
    cfg: Config
    layout: fab.Layout
    classes: tuple[str, ...]
    exports: tuple[Path, ...]
    verify: tuple[tuple[str, dict], ...]

    @property
    def history(self) -> list[dict]:
        """Per-epoch records that were evaluated (have test metrics)."""
        return [r for r in self.design.meta["metrics"]["history"] if "test_accuracy" in r and not r.get("selected")]

    @property
    def selected(self) -> dict | None:
        """The shipped design's record when it was selected among the last epochs, else None."""
        return next((r for r in self.design.meta["metrics"]["history"] if r.get("selected")), None)

    @property
    def final(self) -> dict:
        return self.design.meta["metrics"]["final"]


def _has_design(folder: Path) -> bool:
    return (folder / "design.json").exists() or any(folder.glob("fold-*/design.json"))


def _newest_design_time(run: Path) -> float:
    return max(p.stat().st_mtime for p in [*run.glob("design.json"), *run.glob("fold-*/design.json")])


def find_run(path: str | Path | None, runs: Path = Path("runs")) -> Path:
    """The run folder for ``path`` (a run, a fold or a design file), or the newest run under ``runs``."""
    if path is None:
        candidates = [p for p in runs.iterdir() if p.is_dir() and _has_design(p)] if runs.is_dir() else []
        if not candidates:
            raise DesignerError(f"{runs}: no run with a design.json found; pass a run folder")
        return max(candidates, key=_newest_design_time)
    path = Path(path)
    if not path.exists():
        raise DesignerError(f"{path}: not found")
    folder = path if path.is_dir() else path.parent
    if not _has_design(folder):
        raise DesignerError(f"{folder}: no design.json here (expected a run folder from `designer optimize`)")
    return folder


def fold_folders(run: Path) -> list[Path]:
    """[run] for a single design, else its fold-k folders in fold order."""
    if (run / "design.json").exists():
        return [run]
    return sorted((p.parent for p in run.glob("fold-*/design.json")), key=lambda p: _fold_number(p.name))


def _fold_number(name: str) -> int:
    try:
        return int(name.split("-", 1)[1])
    except (IndexError, ValueError):
        return 1 << 30


def read_json(path: Path) -> dict:
    """A JSON object from ``path`` (strictly read, see :mod:`designer.jsonio`)."""
    data = jsonio.read_json(path, "JSON result file")
    if not isinstance(data, dict):
        raise DesignerError(f"{path}: holds a {type(data).__name__}; expected a JSON object")
    return data


def load_fold(folder: Path, name: str = "") -> Fold:
    design = load_design(folder)
    cfg = config_of(design)
    classes = tuple(design.meta.get("split", {}).get("classes") or cfg.data.vowels)
    exports = tuple(sorted(p for p in folder.iterdir() if p.suffix.lower() in EXPORT_SUFFIXES and p.is_file()))
    verify = tuple((p.name, read_json(p)) for p in sorted(folder.glob("verify-*.json")))
    for file_name, result in verify:
        if "accuracy" not in result:
            raise DesignerError(f"{folder / file_name}: not a `designer verify` result (no accuracy)")
    return Fold(name, design, cfg, fab_layout(cfg), classes, exports, verify)
