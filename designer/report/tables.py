"""The report's tables: design-rule check, the run's files with their checksums, verify results."""
from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import numpy as np

from .. import relief
from ..config import Config
from ..export import fab_layout, fab_process
from . import curves
from .html import Table
from .plotting import unit_label

__all__ = ["sha256", "files_table", "drc_table", "verify_table", "RUN_FILES"]

RUN_FILES = ("design.npz", "design.json", "history.csv", "summary.json", "corpus.npz")
"""Files of a run folder listed beside its exports and verify results (checkpoints are internal)."""
SHOWN_VIOLATIONS = 10


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def files_table(folder: Path, exports: tuple[Path, ...], caption: str) -> Table:
    """Name, size and SHA-256 of the design files, the exported parts and the verify results in ``folder``."""
    paths = [folder / n for n in RUN_FILES if (folder / n).is_file()]
    paths += list(exports) + sorted(folder.glob("verify-*.json"))
    rows = tuple((p.name, f"{p.stat().st_size:,} bytes", sha256(p)) for p in paths)
    return Table(caption, rows, ("file", "size", "SHA-256"))


def drc_table(binary: np.ndarray, cfg: Config, caption: str) -> Table:
    """Polygon DRC of the binary design as exported: the rules, the count per kind and the first violations.

    ``binary``: the design map (a relief's heights / N: every layer is checked).
    """
    layout, process = fab_layout(cfg), fab_process(cfg)
    u = unit_label(layout.unit)
    violations = relief.relief_drc(relief.layer_polygons(np.asarray(binary, float), cfg), cfg)
    rows = [("rules", f"min width {process.min_solid:g} {u}, min space {process.min_void:g} {u}, "
                      f"grid {process.grid:g} {u}"),
            ("result", "PASS: no violations" if not violations else f"FAIL: {len(violations)} violations")]
    for kind, count in sorted(Counter(v.kind for v in violations).items()):
        smallest = min(v.size for v in violations if v.kind == kind)
        rows.append((kind, f"{count} (smallest {smallest:.4g} {u})"))
    rows += [(f"violation {i + 1}", f"{v.kind} at ({v.x:.4g}, {v.y:.4g}) {u}, size {v.size:.4g} {u}")
             for i, v in enumerate(violations[:SHOWN_VIOLATIONS])]
    return Table(caption, tuple(rows))


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * float(x):.1f}%"


def verify_table(verify: tuple[tuple[str, dict], ...], unit: str) -> Table:
    """One row per `designer verify` result: accuracy, its interval, chance and p, drop and verdict."""
    rows = []
    for name, r in verify:
        variations = ", ".join(f"{label} {100 * v['accuracy']:.1f}%" for label, v in
                               zip(curves.verify_labels(r, unit)[1:], r.get("variations", [])))
        drop = r.get("drop_points")
        ci = r.get("accuracy_ci")
        chance = r.get("chance_accuracy")
        p = r.get("p_value_above_chance")
        rows.append((Path(r.get("file", name)).name, str(r.get("fmt", "")), _pct(r["accuracy"]),
                     "n/a" if ci is None else f"{100 * ci[0]:.1f}-{100 * ci[1]:.1f}%",
                     _pct(chance), "n/a" if p is None else f"{p:.2g}", _pct(r.get("reference_accuracy")),
                     "n/a" if drop is None else f"{drop:+.1f}",
                     "PASS" if r.get("passed") else "FAIL: " + "; ".join(r.get("failures", [])),
                     variations or "none"))
    return Table("designer verify results", tuple(rows),
                 ("part", "format", "accuracy", "95% interval", "chance", "p (above chance)", "as trained",
                  "drop (points)", "result", "variations"))
